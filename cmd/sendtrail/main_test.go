package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
	"github.com/sendtrail/sendtrail/gen/sendtrail/v1/sendtrailv1connect"
)

// testServer runs the real server setup (Main) on port 0 with its data in a
// temporary directory.
type testServer struct {
	*Main
	t     *testing.T
	token string
	out   *bytes.Buffer
}

func startServer(t *testing.T, dir string, withDemo bool) *testServer {
	t.Helper()
	out := &bytes.Buffer{}
	m := NewMain(out, io.Discard)
	m.Demo = withDemo
	if err := m.ParseFlags([]string{"--data", dir, "--listen", "127.0.0.1:0"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := m.Run(ctx); err != nil {
		m.Close()
		t.Fatalf("Run: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	tok, err := os.ReadFile(m.AdminTokenPath())
	if err != nil {
		t.Fatal(err)
	}
	return &testServer{Main: m, t: t, token: strings.TrimSpace(string(tok)), out: out}
}

func (s *testServer) client(token string) sendtrailv1connect.PlanServiceClient {
	return sendtrailv1connect.NewPlanServiceClient(http.DefaultClient, s.URL(), connect.WithInterceptors(bearer(token)))
}

func (s *testServer) admin() sendtrailv1connect.PlanServiceClient { return s.client(s.token) }

func (s *testServer) lastSequence() uint64 {
	s.t.Helper()
	n, err := s.Store.LastSequence(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	return n
}

func wantCode(t *testing.T, err error, code connect.Code, contains string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s error, got success", code)
	}
	if got := connect.CodeOf(err); got != code {
		t.Fatalf("want code %s, got %s (%v)", code, got, err)
	}
	if contains != "" && !strings.Contains(err.Error(), contains) {
		t.Fatalf("error %q does not mention %q", err, contains)
	}
}

func TestDemoServesTheBCPPlan(t *testing.T) {
	s := startServer(t, t.TempDir(), true)
	ctx := context.Background()
	res, err := s.admin().GetPlan(ctx, connect.NewRequest(&pb.GetPlanRequest{Plan: "bcp-2023-26"}))
	if err != nil {
		t.Fatal(err)
	}
	p := res.Msg.GetPlan()
	if len(p.GetPriorities()) != 8 || p.GetActions() != 138 {
		t.Fatalf("plan has %d priorities and %d actions, want 8 and 138", len(p.GetPriorities()), p.GetActions())
	}
	if p.GetKpis() != 50 {
		t.Errorf("plan has %d indicators, want 50", p.GetKpis())
	}
	if p.GetFlagged() == 0 {
		t.Errorf("no action is flagged, but the plan has impossible dates")
	}
	a, err := s.admin().GetAction(ctx, connect.NewRequest(&pb.GetActionRequest{Plan: "bcp-2023-26", Ref: "1.7"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Msg.GetAction(); got.GetDeadline() != "" || got.GetDeadlineRaw() != "31/04/24" || len(got.GetFlags()) == 0 {
		t.Errorf("1.7: deadline %q raw %q flags %v; want unset, 31/04/24 kept, flagged", got.GetDeadline(), got.GetDeadlineRaw(), got.GetFlags())
	}
	if !strings.Contains(s.out.String(), "imported the demo plan") {
		t.Errorf("demo did not say it imported the plan: %q", s.out.String())
	}

	// A second start on the same data imports nothing again.
	seq := s.lastSequence()
	s.Close()
	s2 := startServer(t, s.DataDir, true)
	if got := s2.lastSequence(); got != seq {
		t.Fatalf("restarting demo appended %d events", got-seq)
	}
}
