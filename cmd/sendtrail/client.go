package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"connectrpc.com/connect"

	"github.com/sendtrail/sendtrail/gen/sendtrail/v1/sendtrailv1connect"
)

// clientFlags are the flags every client subcommand shares.
type clientFlags struct {
	server    string
	tokenFile string
	json      bool
	timeout   time.Duration
}

func (c *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.server, "server", envOr("SENDTRAIL_SERVER", "http://127.0.0.1:8080"), "server URL (env SENDTRAIL_SERVER)")
	fs.StringVar(&c.tokenFile, "token-file", "", "file holding a bearer token (default: env SENDTRAIL_TOKEN, else ./sendtrail-data/admin.token)")
	fs.BoolVar(&c.json, "json", false, "print JSON for scripts instead of a table")
	fs.DurationVar(&c.timeout, "timeout", 2*time.Minute, "give up after this long")
}

// token finds the bearer token: --token-file, SENDTRAIL_TOKEN, or the
// default data directory's admin.token.
func (c *clientFlags) token() (string, error) {
	if c.tokenFile != "" {
		b, err := os.ReadFile(c.tokenFile)
		if err != nil {
			return "", usagef("--token-file: %v", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	if t := os.Getenv("SENDTRAIL_TOKEN"); t != "" {
		return strings.TrimSpace(t), nil
	}
	b, err := os.ReadFile("sendtrail-data/admin.token")
	if errors.Is(err, os.ErrNotExist) {
		return "", usagef("no token: pass --token-file FILE or set SENDTRAIL_TOKEN")
	}
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

type bearer string

func (b bearer) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		req.Header().Set("Authorization", "Bearer "+string(b))
		return next(ctx, req)
	}
}

func (b bearer) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		conn.RequestHeader().Set("Authorization", "Bearer "+string(b))
		return conn
	}
}

func (b bearer) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

func (c *clientFlags) options() ([]connect.ClientOption, error) {
	tok, err := c.token()
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(c.server, "http://") && !strings.HasPrefix(c.server, "https://") {
		return nil, usagef("--server %q: want an http:// or https:// URL", c.server)
	}
	return []connect.ClientOption{connect.WithInterceptors(bearer(tok)), connect.WithSendMaxBytes(32 << 20)}, nil
}

func (c *clientFlags) planClient() (sendtrailv1connect.PlanServiceClient, error) {
	opts, err := c.options()
	if err != nil {
		return nil, err
	}
	return sendtrailv1connect.NewPlanServiceClient(&http.Client{Timeout: c.timeout}, strings.TrimRight(c.server, "/"), opts...), nil
}

// describeConnErr makes a refused connection readable.
func describeConnErr(server string, err error) error {
	var ce *connect.Error
	if errors.As(err, &ce) && ce.Code() == connect.CodeUnavailable {
		return connect.NewError(connect.CodeUnavailable, fmt.Errorf("cannot reach %s: is sendtrail serve running? (%s)", server, ce.Message()))
	}
	return err
}
