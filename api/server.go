package api

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"

	"github.com/sendtrail/sendtrail/commands"
	"github.com/sendtrail/sendtrail/eventstore"
	"github.com/sendtrail/sendtrail/evidence"
	"github.com/sendtrail/sendtrail/projections"
	"github.com/sendtrail/sendtrail/webhooks"
)

// Limits.
const (
	// MaxBody bounds a request body: a 10 MB plan import fits, anything
	// over 32 MiB is refused before it is read.
	MaxBody = 32 << 20
	// HandlerTimeout bounds every unary handler.
	HandlerTimeout = 60 * time.Second
)

// Config is what the API needs.
type Config struct {
	Commands *commands.Handler
	DB       *projections.DB
	Store    *eventstore.Store // the stream, for services that follow it
	DataDir  string
	Tokens   TokenLookup
	// Ready reports whether the event store is reachable and the read model
	// caught up; /readyz and the gRPC health service use it.
	Ready func(ctx context.Context) error
	Log   *slog.Logger
	Now   func() time.Time
	// Webhooks registers webhooks and delivers to them (WebhookService);
	// nil: WebhookService answers unavailable.
	Webhooks *webhooks.Service
	// Streams ends every streaming call (Watch) when it is done, so that a
	// shutdown need not wait for subscribers; nil: streams end with their
	// clients only.
	Streams context.Context
	// SigningKey signs evidence bundles and checkpoints (AuditService);
	// nil: AuditService answers unavailable.
	SigningKey *evidence.Key
}

// NewHandler returns the HTTP handler serving every service, /healthz and
// /readyz.
func NewHandler(cfg Config) http.Handler {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	icpt := &interceptor{tokens: cfg.Tokens, now: cfg.Now, log: cfg.Log, timeout: HandlerTimeout, failures: newFailureLimiter()}
	opts := []connect.HandlerOption{
		connect.WithInterceptors(icpt),
		connect.WithReadMaxBytes(MaxBody),
	}
	mux := http.NewServeMux()
	var names []string
	for _, s := range services {
		path, h := s.mount(cfg, opts)
		mux.Handle(path, h)
		names = append(names, s.name)
	}
	mux.Handle(grpcreflect.NewHandlerV1(grpcreflect.NewStaticReflector(names...)))
	mux.Handle(grpcreflect.NewHandlerV1Alpha(grpcreflect.NewStaticReflector(names...)))
	mux.Handle(grpchealth.NewHandler(&healthChecker{ready: cfg.Ready, names: names}))

	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "alive"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := cfg.Ready(ctx); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	return limitBody(mux)
}

// limitBody refuses a body over MaxBody early, from its Content-Length,
// caps what is read of one without, and bounds the time a unary call's
// body may take to arrive (BodyReadTimeout).
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBody {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{
				"code":    "resource_exhausted",
				"message": fmt.Sprintf("request body of %d bytes is over the limit of %d bytes (32 MiB)", r.ContentLength, MaxBody),
			})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
		boundBodyRead(w, r)
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// service is one Connect service the API serves. Each service registers
// itself from its own file with registerService, with its access rules.
type service struct {
	name  string // fully qualified, for reflection and health
	mount func(cfg Config, opts []connect.HandlerOption) (string, http.Handler)
}

var services []service

// registerService adds a service and the access rules of its procedures.
func registerService(name string, r map[string]rule, mount func(Config, []connect.HandlerOption) (string, http.Handler)) {
	services = append(services, service{name: name, mount: mount})
	for proc, ru := range r {
		if _, dup := rules[proc]; dup {
			panic("api: two rules for " + proc)
		}
		rules[proc] = ru
	}
}

type healthChecker struct {
	ready func(context.Context) error
	names []string
}

func (h *healthChecker) Check(ctx context.Context, req *grpchealth.CheckRequest) (*grpchealth.CheckResponse, error) {
	known := req.Service == ""
	for _, n := range h.names {
		known = known || n == req.Service
	}
	if !known {
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("unknown service %s", req.Service))
	}
	if err := h.ready(ctx); err != nil {
		return &grpchealth.CheckResponse{Status: grpchealth.StatusNotServing}, nil
	}
	return &grpchealth.CheckResponse{Status: grpchealth.StatusServing}, nil
}
