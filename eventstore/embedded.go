package eventstore

import (
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// EmbeddedConfig configures an in-process nats-server.
type EmbeddedConfig struct {
	Dir        string        // JetStream storage directory (e.g. <data>/nats); required
	ListenHost string        // "": no network listener, in-process connections only
	Port       int           // with ListenHost: client port, 0 picks a free one
	Logger     server.Logger // nil: the server logs nothing
}

// Embedded is an in-process nats-server with JetStream enabled.
type Embedded struct {
	server *server.Server
	listen bool
}

// StartEmbedded starts a nats-server with JetStream storing in cfg.Dir and
// waits until it accepts connections. Every publish ack means the message
// is fsynced (SyncAlways). The server installs no signal handlers.
// Errors: ErrInvalid without cfg.Dir; otherwise the server's start error.
func StartEmbedded(cfg EmbeddedConfig) (*Embedded, error) {
	return startEmbedded(cfg, nil)
}

// startEmbedded lets benchmarks adjust the server options (e.g. SyncAlways).
func startEmbedded(cfg EmbeddedConfig, tweak func(*server.Options)) (*Embedded, error) {
	if cfg.Dir == "" {
		return nil, fmt.Errorf("%w: embedded server needs a storage directory", ErrInvalid)
	}
	opts := &server.Options{
		ServerName:             "sendtrail",
		JetStream:              true,
		StoreDir:               cfg.Dir,
		SyncAlways:             true,
		NoSigs:                 true,
		NoLog:                  cfg.Logger == nil,
		DisableJetStreamBanner: true,
		DontListen:             cfg.ListenHost == "",
		Host:                   cfg.ListenHost,
		Port:                   cfg.Port,
	}
	if opts.DontListen {
		opts.Port = 0
	} else if opts.Port == 0 {
		opts.Port = server.RANDOM_PORT
	}
	if tweak != nil {
		tweak(opts)
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("eventstore: embedded server: %w", err)
	}
	if cfg.Logger != nil {
		s.SetLoggerV2(cfg.Logger, false, false, false)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		s.WaitForShutdown()
		return nil, errors.New("eventstore: embedded server not ready after 10s")
	}
	// A JetStream start failure (e.g. an unwritable Dir) is only logged by
	// the server, which then runs without JetStream.
	if !s.JetStreamEnabled() {
		s.Shutdown()
		s.WaitForShutdown()
		return nil, fmt.Errorf("eventstore: embedded server: JetStream did not start in %s", cfg.Dir)
	}
	return &Embedded{server: s, listen: !opts.DontListen}, nil
}

// Connect opens an in-process client connection to the server.
func (e *Embedded) Connect(opts ...nats.Option) (*nats.Conn, error) {
	nc, err := nats.Connect("", append([]nats.Option{nats.InProcessServer(e.server)}, opts...)...)
	if err != nil {
		return nil, wrap("connect", err)
	}
	return nc, nil
}

// ClientURL returns the URL other processes connect to, or "" when the
// server has no network listener.
func (e *Embedded) ClientURL() string {
	if !e.listen {
		return ""
	}
	return e.server.ClientURL()
}

// Shutdown stops the server and waits until it has stopped (JetStream state
// flushed to disk).
func (e *Embedded) Shutdown() {
	e.server.Shutdown()
	e.server.WaitForShutdown()
}
