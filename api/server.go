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
	"github.com/sendtrail/sendtrail/gen/sendtrail/v1/sendtrailv1connect"
	"github.com/sendtrail/sendtrail/projections"
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
	Tokens   TokenLookup
	// Ready reports whether the event store is reachable and the read model
	// caught up; /readyz and the gRPC health service use it.
	Ready func(ctx context.Context) error
	Log   *slog.Logger
	Now   func() time.Time
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
	mux.Handle(sendtrailv1connect.NewPlanServiceHandler(&PlanServer{cmds: cfg.Commands, db: cfg.DB, log: cfg.Log}, opts...))

	services := []string{sendtrailv1connect.PlanServiceName}
	mux.Handle(grpcreflect.NewHandlerV1(grpcreflect.NewStaticReflector(services...)))
	mux.Handle(grpcreflect.NewHandlerV1Alpha(grpcreflect.NewStaticReflector(services...)))
	mux.Handle(grpchealth.NewHandler(&healthChecker{ready: cfg.Ready}))

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
// and caps what is read of one without.
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
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type healthChecker struct{ ready func(context.Context) error }

func (h *healthChecker) Check(ctx context.Context, req *grpchealth.CheckRequest) (*grpchealth.CheckResponse, error) {
	if req.Service != "" && req.Service != sendtrailv1connect.PlanServiceName {
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("unknown service %s", req.Service))
	}
	if err := h.ready(ctx); err != nil {
		return &grpchealth.CheckResponse{Status: grpchealth.StatusNotServing}, nil
	}
	return &grpchealth.CheckResponse{Status: grpchealth.StatusServing}, nil
}
