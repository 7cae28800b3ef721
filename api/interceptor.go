package api

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"connectrpc.com/connect"
)

// planScoped is every request message: each names its plan.
type planScoped interface{ GetPlan() string }

type accessKey struct{}

// interceptor authenticates, authorizes, bounds time and maps errors. It is
// the only place errors are turned into transport codes.
type interceptor struct {
	tokens   TokenLookup
	now      func() time.Time
	log      *slog.Logger
	timeout  time.Duration
	failures *failureLimiter
}

func (i *interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		procedure := req.Spec().Procedure
		ctx, cancel := context.WithTimeout(ctx, i.timeout)
		defer cancel()
		ctx, err := i.admit(ctx, procedure, req.Peer().Addr, req.Header(), req.Any())
		if err != nil {
			return nil, toConnect(ctx, i.log, procedure, err)
		}
		res, err := next(ctx, req)
		if err != nil {
			return nil, toConnect(ctx, i.log, procedure, err)
		}
		return res, nil
	}
}

func (i *interceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (i *interceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		procedure := conn.Spec().Procedure
		// Streams authenticate here; the handler authorizes once it has
		// read the request (it names the plan).
		p, err := i.authenticate(ctx, conn.Peer().Addr, conn.RequestHeader())
		if err != nil {
			return toConnect(ctx, i.log, procedure, err)
		}
		return toConnect(ctx, i.log, procedure, next(withPrincipal(ctx, p), conn))
	}
}

func (i *interceptor) authenticate(ctx context.Context, peer string, h http.Header) (Principal, error) {
	host := peerHost(peer)
	if err := i.failures.wait(ctx, host); err != nil {
		return Principal{}, err
	}
	p, err := authenticate(ctx, i.tokens, h.Get("Authorization"), i.now())
	if err != nil {
		if errors.Is(err, errUnauthenticated) || isUnauthenticated(err) {
			i.failures.fail(host)
		}
		return Principal{}, err
	}
	i.failures.succeed(host)
	return p, nil
}

func (i *interceptor) admit(ctx context.Context, procedure, peer string, h http.Header, msg any) (context.Context, error) {
	p, err := i.authenticate(ctx, peer, h)
	if err != nil {
		return ctx, err
	}
	plan := ""
	if ps, ok := msg.(planScoped); ok {
		plan = ps.GetPlan()
	}
	a, err := authorize(p, procedure, plan)
	if err != nil {
		return ctx, err
	}
	ctx = withPrincipal(ctx, p)
	return context.WithValue(ctx, accessKey{}, a), nil
}

// authorizeStream is what a streaming handler calls once it has read the
// request that names the plan: it authorizes the caller the stream
// interceptor authenticated, exactly as the unary interceptor does before a
// unary handler runs, and returns the context to go on with.
func authorizeStream(ctx context.Context, procedure, plan string) (context.Context, error) {
	p, ok := PrincipalFrom(ctx)
	if !ok {
		return ctx, errUnauthenticated
	}
	a, err := authorize(p, procedure, plan)
	if err != nil {
		return ctx, err
	}
	return context.WithValue(ctx, accessKey{}, a), nil
}

func accessFrom(ctx context.Context) access {
	a, _ := ctx.Value(accessKey{}).(access)
	return a
}

func peerHost(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// failureLimiter slows down repeated authentication failures from one
// address: after 5 failures each further attempt waits, doubling from
// 250 ms to 8 s, until a success or 15 minutes without failures.
type failureLimiter struct {
	mu   sync.Mutex
	seen map[string]*failures
}

type failures struct {
	n    int
	last time.Time
}

func newFailureLimiter() *failureLimiter { return &failureLimiter{seen: map[string]*failures{}} }

func (l *failureLimiter) delay(host string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.seen[host]
	if !ok {
		return 0
	}
	if time.Since(f.last) > 15*time.Minute {
		delete(l.seen, host)
		return 0
	}
	if f.n < 5 {
		return 0
	}
	d := 250 * time.Millisecond << min(f.n-5, 5)
	return d
}

func (l *failureLimiter) wait(ctx context.Context, host string) error {
	d := l.delay(host)
	if d == 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *failureLimiter) fail(host string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.seen) > 100000 {
		clear(l.seen)
	}
	f, ok := l.seen[host]
	if !ok {
		f = &failures{}
		l.seen[host] = f
	}
	f.n++
	f.last = time.Now()
}

func (l *failureLimiter) succeed(host string) {
	l.mu.Lock()
	delete(l.seen, host)
	l.mu.Unlock()
}
