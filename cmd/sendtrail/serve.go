package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/sendtrail/sendtrail/api"
	"github.com/sendtrail/sendtrail/commands"
	"github.com/sendtrail/sendtrail/demo"
	"github.com/sendtrail/sendtrail/domain"
	"github.com/sendtrail/sendtrail/eventstore"
	"github.com/sendtrail/sendtrail/importer"
	"github.com/sendtrail/sendtrail/projections"
	"github.com/sendtrail/sendtrail/projector"
)

func init() {
	register("serve", "run the server (embedded NATS JetStream and SQLite by default)", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		return runServer(ctx, args, false, stdout, stderr)
	})
	register("demo", "run the server with the BCP SEND Improvement Plan 2023/26 loaded", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		return runServer(ctx, args, true, stdout, stderr)
	})
}

func runServer(ctx context.Context, args []string, withDemo bool, stdout, stderr io.Writer) error {
	m := NewMain(stdout, stderr)
	m.Demo = withDemo
	if err := m.ParseFlags(args); err != nil {
		return err
	}
	if err := m.Run(ctx); err != nil {
		m.Close()
		return err
	}
	<-ctx.Done()
	fmt.Fprintln(stdout, "sendtrail: shutting down")
	return m.Close()
}

// systemActor is the actor of what the server does by itself: the first
// admin token, the demo import.
var systemActor = domain.Actor{ID: "system", DisplayName: "sendtrail", Role: domain.RoleAdmin}

// Main is the server: ParseFlags, Run (returns once serving), Close. Tests
// run it on port 0 exactly as the binary does.
type Main struct {
	DataDir  string
	Listen   string
	NatsURL  string
	Replicas int
	Demo     bool

	subscriptions // NATS for services, webhooks, Watch streams (subscriptions.go)
	signing       // the evidence signing key (key.go)

	Stdout, Stderr io.Writer
	Log            *slog.Logger

	embedded *eventstore.Embedded
	nc       *nats.Conn
	Store    *eventstore.Store
	DB       *projections.DB
	Commands *commands.Handler
	http     *http.Server
	ln       net.Listener

	cancel   context.CancelFunc
	wg       sync.WaitGroup
	projErr  chan error
	closeErr error
	closed   sync.Once
}

// NewMain returns a Main with the defaults.
func NewMain(stdout, stderr io.Writer) *Main {
	return &Main{
		DataDir: "./sendtrail-data", Listen: "127.0.0.1:8080", Replicas: 1,
		Stdout: stdout, Stderr: stderr,
		Log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
}

// ParseFlags reads the serve flags.
func (m *Main) ParseFlags(args []string) error {
	name := "serve"
	if m.Demo {
		name = "demo"
	}
	fs := newFlagSet(name, name+" [--data DIR] [--listen ADDR] [--nats-url URL]",
		"sendtrail "+name+" --data ./sendtrail-data --listen 127.0.0.1:8080", m.Stderr)
	fs.StringVar(&m.DataDir, "data", m.DataDir, "data directory: the embedded JetStream store, the SQLite read model, admin.token")
	fs.StringVar(&m.Listen, "listen", m.Listen, "address to serve the API on")
	fs.StringVar(&m.NatsURL, "nats-url", envOr("SENDTRAIL_NATS_URL", ""), "an existing NATS JetStream server or cluster (default: run one embedded)")
	fs.IntVar(&m.Replicas, "replicas", m.Replicas, "stream replicas when creating the stream (3 on a cluster)")
	m.subscriptionFlags(fs)
	m.signingFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("%s takes no arguments, got %q", name, pos)
	}
	return m.checkSubscriptionFlags()
}

// Addr is the address the API listens on, once Run has returned.
func (m *Main) Addr() string { return m.ln.Addr().String() }

// URL is the API's base URL.
func (m *Main) URL() string { return "http://" + m.Addr() }

// AdminTokenPath is where the first admin token is written.
func (m *Main) AdminTokenPath() string { return filepath.Join(m.DataDir, "admin.token") }

// Run opens the event store and read model, catches the read model up,
// writes the first admin token if there is none, imports the demo plan if
// asked, and starts serving. It returns once the server is ready.
func (m *Main) Run(ctx context.Context) error {
	if err := os.MkdirAll(m.DataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if err := m.openStore(ctx); err != nil {
		return err
	}
	if err := m.loadSigningKey(); err != nil {
		return err
	}
	db, err := projections.Open(filepath.Join(m.DataDir, "sendtrail.db"), m.readModelOptions()...)
	if err != nil {
		return fmt.Errorf("read model: %w", err)
	}
	m.DB = db
	m.Commands = commands.New(m.Store, time.Now, m.Log).WithHistory(m.DB)
	if err := m.openSubscriptions(ctx); err != nil {
		return err
	}

	// Catch up before serving, then follow the stream.
	if _, err := projector.CatchUp(ctx, m.Store, m.DB); err != nil {
		return fmt.Errorf("read model catch-up: %w", err)
	}
	bg, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.projErr = make(chan error, 1)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		for {
			err := projector.Run(bg, m.Store, m.DB)
			if bg.Err() != nil {
				return
			}
			m.Log.Error("projector stopped; restarting in 1s", "err", err)
			select {
			case <-bg.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}()
	m.runWebhooks(bg)

	if err := m.ensureAdminToken(ctx); err != nil {
		return err
	}
	if m.Demo {
		if err := m.importDemo(ctx); err != nil {
			return err
		}
	}

	ln, err := net.Listen("tcp", m.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	m.ln = ln
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true) // gRPC without TLS on a trusted network; put TLS in front otherwise
	m.http = &http.Server{
		Handler: api.NewHandler(api.Config{
			Commands: m.Commands, DB: m.DB, Store: m.Store, DataDir: m.DataDir, Tokens: tokenLookup{m.DB}, Ready: m.ready, Log: m.Log,
			Webhooks: m.Webhooks, Streams: m.streams, SigningKey: m.SigningKey,
		}),
		Protocols:         &protocols,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	m.http.RegisterOnShutdown(m.stopStreams)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		if err := m.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Log.Error("http server", "err", err)
		}
	}()
	fmt.Fprintf(m.Stdout, "sendtrail: serving on %s (data in %s)\n", m.URL(), m.DataDir)
	return nil
}

func (m *Main) openStore(ctx context.Context) error {
	var err error
	if m.NatsURL == "" {
		var auth []nats.Option
		auth, err = m.startEmbedded()
		if err != nil {
			return fmt.Errorf("embedded NATS: %w", err)
		}
		m.nc, err = m.embedded.Connect(append(auth, nats.Name("sendtrail"))...)
	} else {
		m.nc, err = nats.Connect(m.NatsURL, nats.Name("sendtrail"), nats.MaxReconnects(-1))
	}
	if err != nil {
		return fmt.Errorf("connect to NATS: %w", err)
	}
	m.Store, err = eventstore.Open(ctx, m.nc, eventstore.Config{Replicas: m.Replicas})
	if err != nil {
		return fmt.Errorf("event store: %w", err)
	}
	return nil
}

// ready: the event store answers and the read model has applied all of it.
func (m *Main) ready(ctx context.Context) error {
	if err := m.Store.Ping(ctx); err != nil {
		return fmt.Errorf("event store unreachable")
	}
	last, err := m.Store.LastSequence(ctx)
	if err != nil {
		return fmt.Errorf("event store unreachable")
	}
	cp, err := m.DB.Checkpoint(ctx)
	if err != nil {
		return fmt.Errorf("read model unreadable")
	}
	if cp < last {
		return fmt.Errorf("read model at sequence %d of %d", cp, last)
	}
	return nil
}

// ensureAdminToken issues the first admin token and writes it to
// DATA/admin.token (0600), unless that file exists.
func (m *Main) ensureAdminToken(ctx context.Context) error {
	path := m.AdminTokenPath()
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	tok, id, hash, err := api.NewSecret()
	if err != nil {
		return err
	}
	res, err := m.Commands.Execute(ctx, commands.TokenTarget("*", id), domain.IssueToken{
		TokenID: id, Principal: "admin", Name: "Administrator", Role: string(domain.RoleAdmin), Plan: "*", Hash: hash,
	}, commands.Meta{Actor: systemActor})
	if err != nil {
		return fmt.Errorf("first admin token: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(tok+"\n"), 0o600); err != nil {
		return fmt.Errorf("write admin token: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write admin token: %w", err)
	}
	if err := m.waitFor(ctx, res.Sequence); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "sendtrail: wrote an admin token to %s (keep it secret: it can do everything)\n", path)
	return nil
}

func (m *Main) waitFor(ctx context.Context, seq uint64) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return m.DB.WaitFor(ctx, seq)
}

// importDemo imports the embedded BCP plan unless it is there already.
func (m *Main) importDemo(ctx context.Context) error {
	files, err := demo.Files()
	if err != nil {
		return err
	}
	opts := importer.Options{Slug: demo.Slug, Title: demo.Title, AcceptFlagged: true}
	plan, err := importer.ReadFiles(files, opts)
	if err != nil {
		return err
	}
	if err := plan.Err(opts); err != nil {
		return fmt.Errorf("demo plan: %w", err)
	}
	// The plan's business time is its publication: version 1.2, printed
	// 12 April 2024. So "as of" questions about 2024 have an answer.
	res, err := m.Commands.Import(ctx, plan, commands.Meta{Actor: systemActor, OccurredAt: demo.Published})
	if err != nil {
		return fmt.Errorf("demo plan: %w", err)
	}
	if err := m.waitFor(ctx, res.Sequence); err != nil {
		return err
	}
	if res.Appended > 0 {
		fmt.Fprintf(m.Stdout, "sendtrail: imported the demo plan %s: %d priority areas, %d actions (%d with flagged values), %d indicators (%d events)\n",
			demo.Slug, len(plan.Priorities), len(plan.Actions), countFlagged(plan), len(plan.Kpis), res.Appended)
	}
	return nil
}

func countFlagged(p *importer.Plan) int {
	n := 0
	for _, a := range p.Actions {
		if len(a.Flags) > 0 {
			n++
		}
	}
	return n
}

// Close stops serving (draining requests for up to 10 s), stops the
// projector, closes the read model and stops the embedded server.
func (m *Main) Close() error {
	m.closed.Do(func() {
		var errs []error
		if m.http != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			errs = append(errs, m.http.Shutdown(ctx))
			cancel()
		}
		if m.cancel != nil {
			m.cancel()
		}
		m.wg.Wait()
		if m.DB != nil {
			errs = append(errs, m.DB.Close())
		}
		if m.nc != nil {
			_ = m.nc.Drain()
		}
		if m.embedded != nil {
			m.embedded.Shutdown()
		}
		m.closeErr = errors.Join(errs...)
	})
	return m.closeErr
}

// tokenLookup adapts the read model to api.TokenLookup.
type tokenLookup struct{ db *projections.DB }

func (t tokenLookup) Token(ctx context.Context, id string) (api.StoredToken, error) {
	tok, err := t.db.TokenByID(ctx, id)
	if err != nil {
		return api.StoredToken{}, err
	}
	return api.StoredToken{ID: tok.ID, Principal: tok.Principal, Name: tok.Name, Role: tok.Role, Plan: tok.Plan,
		LeadName: tok.LeadName, Hash: tok.Hash, ExpiresAt: tok.ExpiresAt, Revoked: tok.Revoked}, nil
}
