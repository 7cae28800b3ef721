package api

import (
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// BodyReadTimeout bounds how long reading a unary request's body may take
// (32 MiB in two minutes is 280 kB/s), so that a client trickling a body
// cannot hold a handler forever. Streams are exempt: a stream's body is
// open as long as the stream.
var BodyReadTimeout = 2 * time.Minute

// boundBodyRead sets a read deadline for r's body unless r is a streaming
// call, and lifts it once the body has been read to its end. A body not
// read to its end keeps the deadline, which then bounds what the server
// discards of it after the handler.
func boundBodyRead(w http.ResponseWriter, r *http.Request) {
	if r.Body == nil || r.Body == http.NoBody || isStreaming(r.URL.Path) {
		return
	}
	rc := http.NewResponseController(w)
	if err := rc.SetReadDeadline(time.Now().Add(BodyReadTimeout)); err != nil {
		return
	}
	var once sync.Once
	r.Body = &liftAtEOF{ReadCloser: r.Body, lift: func() { once.Do(func() { _ = rc.SetReadDeadline(time.Time{}) }) }}
}

type liftAtEOF struct {
	io.ReadCloser
	lift func()
}

func (b *liftAtEOF) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.lift()
	} else if errors.Is(err, os.ErrDeadlineExceeded) {
		err = errBodyTimeout
	}
	return n, err
}

var errBodyTimeout = errors.New("the request body was not received within the time allowed")

var streamingCache sync.Map // a method's path → whether it streams

// isStreaming reports whether path ("/pkg.Service/Method") names a
// client-, server- or bidirectional-streaming method of a registered
// service.
func isStreaming(path string) bool {
	if v, ok := streamingCache.Load(path); ok {
		return v.(bool)
	}
	svc, method, ok := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if !ok {
		return false
	}
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(svc))
	if err != nil {
		return false
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		return false
	}
	md := sd.Methods().ByName(protoreflect.Name(method))
	if md == nil {
		return false
	}
	// Only methods are cached, so the cache is as small as the API.
	streaming := md.IsStreamingClient() || md.IsStreamingServer()
	streamingCache.Store(path, streaming)
	return streaming
}
