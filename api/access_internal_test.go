package api

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/sendtrail/sendtrail/domain"
	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
	"github.com/sendtrail/sendtrail/gen/sendtrail/v1/sendtrailv1connect"
)

// memTokens is a TokenLookup over a map, for the tests of authentication
// itself; the server's is the read model, tested over HTTP in cmd/sendtrail.
type memTokens map[string]StoredToken

func (m memTokens) Token(_ context.Context, id string) (StoredToken, error) {
	t, ok := m[id]
	if !ok {
		return StoredToken{}, &domain.Error{Code: domain.ENOTFOUND, Message: "no such token"}
	}
	return t, nil
}

func newToken(t *testing.T, tokens memTokens, st StoredToken) string {
	t.Helper()
	tok, id, hash, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	st.ID, st.Hash = id, hash
	tokens[id] = st
	return tok
}

func TestAuthenticate(t *testing.T) {
	now := time.Date(2024, 3, 14, 10, 0, 0, 0, time.UTC)
	tokens := memTokens{}
	good := newToken(t, tokens, StoredToken{Principal: "p", Name: "P", Role: domain.RoleViewer, Plan: "bcp-2023-26"})
	revoked := newToken(t, tokens, StoredToken{Principal: "r", Name: "R", Role: domain.RoleViewer, Plan: "bcp-2023-26", Revoked: true})
	expired := newToken(t, tokens, StoredToken{Principal: "e", Name: "E", Role: domain.RoleViewer, Plan: "bcp-2023-26", ExpiresAt: now})
	later := newToken(t, tokens, StoredToken{Principal: "l", Name: "L", Role: domain.RoleLead, Plan: "bcp-2023-26", LeadName: "Jude Nash", ExpiresAt: now.Add(time.Second)})

	p, err := authenticate(context.Background(), tokens, "Bearer "+good, now)
	if err != nil || p.ID != "p" || p.Role != domain.RoleViewer || p.Plan != "bcp-2023-26" {
		t.Fatalf("good token: %+v %v", p, err)
	}
	if p, err := authenticate(context.Background(), tokens, "Bearer "+later, now); err != nil || p.LeadName != "Jude Nash" {
		t.Fatalf("a token before its expiry: %+v %v", p, err)
	}
	wrongSecret := good[:20] + strings.Repeat("A", len(good)-20)
	unknownID := "st_00000000000000ff" + good[19:]
	var generic string
	for _, c := range []struct {
		name, header, says string
	}{
		{"no header", "", ""},
		{"not bearer", "Basic abc", ""},
		{"not a token", "Bearer hello", ""},
		{"wrong secret", "Bearer " + wrongSecret, ""},
		{"unknown id", "Bearer " + unknownID, ""},
		{"id not hex", "Bearer st_zzzzzzzzzzzzzzzz" + good[19:], ""},
		{"revoked", "Bearer " + revoked, "revoked"},
		{"expired at the instant", "Bearer " + expired, "expired"},
	} {
		_, err := authenticate(context.Background(), tokens, c.header, now)
		if domain.ErrorCode(err) != domain.EUNAUTHENTICATED {
			t.Errorf("%s: %v, want unauthenticated", c.name, err)
			continue
		}
		msg := domain.ErrorMessage(err)
		if c.says != "" {
			if !strings.Contains(msg, c.says) {
				t.Errorf("%s: %q does not say %q", c.name, msg, c.says)
			}
			continue
		}
		// Whatever is wrong, the answer is the same: nothing tells a
		// guesser that an id exists.
		if generic == "" {
			generic = msg
		} else if msg != generic {
			t.Errorf("%s: %q, want the same answer as every other failure, %q", c.name, msg, generic)
		}
	}
}

func TestAuthorize(t *testing.T) {
	plan, other := "bcp-2023-26", "dorset-2024"
	procs := map[string]string{
		"read":  sendtrailv1connect.PlanServiceGetActionProcedure,
		"rag":   sendtrailv1connect.PlanServiceChangeRagProcedure,
		"move":  sendtrailv1connect.PlanServiceMoveDeadlineProcedure,
		"issue": sendtrailv1connect.TokenServiceIssueTokenProcedure,
	}
	for _, c := range []struct {
		role      domain.Role
		tokenPlan string
		proc      string
		plan      string
		want      string // "ok", "own" or the refusal's words
	}{
		{domain.RoleViewer, plan, "read", plan, "ok"},
		{domain.RoleViewer, plan, "rag", plan, "missing permission plan.edit: the viewer role"},
		{domain.RoleViewer, plan, "read", other, "your token is for plan bcp-2023-26, not dorset-2024 (missing permission plan.read on dorset-2024)"},
		{domain.RoleLead, plan, "rag", plan, "own"},
		{domain.RoleLead, plan, "move", plan, "missing permission plan.edit: the lead role"},
		{domain.RoleLead, plan, "rag", other, "not dorset-2024"},
		{domain.RoleEditor, plan, "rag", plan, "ok"},
		{domain.RoleEditor, plan, "issue", plan, "missing permission tokens.manage"},
		{domain.RoleAdmin, plan, "issue", plan, "ok"},
		{domain.RoleAdmin, plan, "issue", "*", "your token is for plan bcp-2023-26, not *"},
		{domain.RoleAdmin, "*", "issue", "*", "ok"},
		{domain.RoleAdmin, "*", "move", other, "ok"},
		{domain.RoleInspector, plan, "rag", plan, "missing permission plan.edit"},
		{domain.RoleService, plan, "read", plan, "ok"},
	} {
		name := fmt.Sprintf("%s of %s: %s on %s", c.role, c.tokenPlan, c.proc, c.plan)
		a, err := authorize(Principal{ID: "x", Role: c.role, Plan: c.tokenPlan}, procs[c.proc], c.plan)
		switch c.want {
		case "ok", "own":
			if err != nil || a.ownOnly != (c.want == "own") {
				t.Errorf("%s: %+v %v, want %s", name, a, err, c.want)
			}
		default:
			if domain.ErrorCode(err) != domain.EFORBIDDEN || !strings.Contains(domain.ErrorMessage(err), c.want) {
				t.Errorf("%s: %v, want permission_denied saying %q", name, err, c.want)
			}
		}
	}
	if _, err := authorize(Principal{Role: domain.RoleAdmin, Plan: "*"}, "/sendtrail.v1.NoService/Nothing", plan); domain.ErrorCode(err) != domain.EFORBIDDEN {
		t.Errorf("a procedure without a rule: %v, want refused even for an admin", err)
	}

	// Streams authorize in their handler, with the principal the stream
	// interceptor put in the context.
	if _, err := authorizeStream(context.Background(), procs["read"], plan); domain.ErrorCode(err) != domain.EUNAUTHENTICATED {
		t.Errorf("a stream without a principal: %v", err)
	}
	ctx := withPrincipal(context.Background(), Principal{Role: domain.RoleLead, Plan: plan, LeadName: "Jude Nash"})
	if ctx2, err := authorizeStream(ctx, procs["rag"], plan); err != nil || !accessFrom(ctx2).ownOnly {
		t.Errorf("a lead's stream: %v, own only %v", err, accessFrom(ctx2).ownOnly)
	}
	if _, err := authorizeStream(ctx, procs["read"], other); domain.ErrorCode(err) != domain.EFORBIDDEN {
		t.Errorf("a stream for another plan: %v", err)
	}
}

func TestPrincipalFromName(t *testing.T) {
	for name, want := range map[string]string{
		"Jeanette Yorke":          "jeanette-yorke",
		"  Sam   Best  ":          "sam-best",
		"O'Neil-Smith, J.":        "o-neil-smith-j",
		"SEND Improvement Board":  "send-improvement-board",
		"Zoë Ørsted":              "zo-rsted",
		"界":                       "",
		strings.Repeat("ab ", 80): strings.Repeat("ab-", 34)[:100],
	} {
		got := PrincipalFromName(name)
		if got != want {
			t.Errorf("PrincipalFromName(%q) = %q, want %q", name, got, want)
		}
		if got != "" && !principalRE.MatchString(got) {
			t.Errorf("PrincipalFromName(%q) = %q is not a valid principal", name, got)
		}
	}
}

func TestFailureLimiterDoublesAndForgetsOnSuccess(t *testing.T) {
	l := newFailureLimiter()
	for i := 0; i < 5; i++ {
		if d := l.delay("10.0.0.1"); d != 0 {
			t.Fatalf("after %d failures: delay %s", i, d)
		}
		l.fail("10.0.0.1")
	}
	want := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second}
	for i, w := range want {
		if d := l.delay("10.0.0.1"); d != w {
			t.Errorf("after %d failures: delay %s, want %s", 5+i, d, w)
		}
		l.fail("10.0.0.1")
	}
	if d := l.delay("10.0.0.2"); d != 0 {
		t.Errorf("another address is delayed %s", d)
	}
	l.succeed("10.0.0.1")
	if d := l.delay("10.0.0.1"); d != 0 {
		t.Errorf("after a success: delay %s", d)
	}
	// Waiting gives up with the request.
	for i := 0; i < 12; i++ {
		l.fail("10.0.0.3")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := l.wait(ctx, "10.0.0.3"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("wait: %v", err)
	}
}

// TestUnaryHandlersTimeOut: the interceptor bounds every unary handler.
func TestUnaryHandlersTimeOut(t *testing.T) {
	tokens := memTokens{}
	tok := newToken(t, tokens, StoredToken{Principal: "p", Name: "P", Role: domain.RoleViewer, Plan: "bcp-2023-26"})
	icpt := &interceptor{tokens: tokens, now: time.Now, log: slog.New(slog.NewTextHandler(io.Discard, nil)), timeout: 100 * time.Millisecond, failures: newFailureLimiter()}
	mux := http.NewServeMux()
	mux.Handle(sendtrailv1connect.PlanServiceGetPlanProcedure, connect.NewUnaryHandler(sendtrailv1connect.PlanServiceGetPlanProcedure,
		func(ctx context.Context, _ *connect.Request[pb.GetPlanRequest]) (*connect.Response[pb.GetPlanResponse], error) {
			<-ctx.Done() // a handler stuck on something slow
			return nil, ctx.Err()
		}, connect.WithInterceptors(icpt)))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := connect.NewClient[pb.GetPlanRequest, pb.GetPlanResponse](srv.Client(), srv.URL+sendtrailv1connect.PlanServiceGetPlanProcedure)
	req := connect.NewRequest(&pb.GetPlanRequest{Plan: "bcp-2023-26"})
	req.Header().Set("Authorization", "Bearer "+tok)
	start := time.Now()
	_, err := c.CallUnary(context.Background(), req)
	if connect.CodeOf(err) != connect.CodeDeadlineExceeded {
		t.Fatalf("a stuck handler: %v, want deadline_exceeded", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("a stuck handler answered after %s", el)
	}
}

// TestSlowBodiesAreCutOff: a client that sends the headers and then
// trickles (or never sends) the body does not hold a unary handler.
func TestSlowBodiesAreCutOff(t *testing.T) {
	old := BodyReadTimeout
	BodyReadTimeout = 300 * time.Millisecond
	defer func() { BodyReadTimeout = old }()
	got := make(chan error, 4)
	srv := httptest.NewServer(limitBody(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		got <- err
		if err != nil {
			http.Error(w, err.Error(), http.StatusRequestTimeout)
		}
	})))
	defer srv.Close()

	send := func(path string) net.Conn {
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"plan\":", path)
		return conn
	}
	conn := send(sendtrailv1connect.PlanServiceGetPlanProcedure)
	defer conn.Close()
	select {
	case err := <-got:
		if !errors.Is(err, errBodyTimeout) {
			t.Errorf("reading a stalled body: %v, want the body timeout", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a stalled body held the handler for 5s")
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || res.StatusCode != http.StatusRequestTimeout {
		t.Errorf("answer to a stalled body: %v %v", res, err)
	}

	// A stream's body is open as long as the stream: no deadline.
	var streaming string
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		for i := 0; i < fd.Services().Len() && streaming == ""; i++ {
			sd := fd.Services().Get(i)
			for j := 0; j < sd.Methods().Len(); j++ {
				if md := sd.Methods().Get(j); md.IsStreamingServer() || md.IsStreamingClient() {
					streaming = "/" + string(sd.FullName()) + "/" + string(md.Name())
					break
				}
			}
		}
		return streaming == ""
	})
	if streaming == "" {
		t.Log("no streaming RPC is registered; the exemption is not exercised")
		return
	}
	if isStreaming(sendtrailv1connect.PlanServiceGetPlanProcedure) || !isStreaming(streaming) {
		t.Fatalf("isStreaming: GetPlan %v, %s %v", isStreaming(sendtrailv1connect.PlanServiceGetPlanProcedure), streaming, isStreaming(streaming))
	}
	sconn := send(streaming)
	defer sconn.Close()
	select {
	case err := <-got:
		t.Errorf("a stream's body was cut off: %v", err)
	case <-time.After(3 * BodyReadTimeout):
	}
}
