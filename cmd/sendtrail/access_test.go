package main

import (
	"bytes"
	"context"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
	"github.com/sendtrail/sendtrail/gen/sendtrail/v1/sendtrailv1connect"
)

// Access over real HTTP: each test runs the real server and uses tokens
// issued through the TokenService.

func TestViewerCannotChangeARag(t *testing.T) {
	s := startServer(t, t.TempDir(), true)
	viewer := s.issue(ownPlan, "viewer", "Board member", "")
	before := s.lastSequence()

	// With curl, over the Connect protocol with JSON.
	st, m := curl(t, s, viewer, "ChangeRag", `{"plan":"bcp-2023-26","ref":"3.4","rag":"R","commentary":"I would like it red"}`)
	if st != http.StatusForbidden || m["code"] != "permission_denied" {
		t.Fatalf("viewer ChangeRag: %d %v, want 403 permission_denied", st, m)
	}
	if msg, _ := m["message"].(string); !strings.Contains(msg, "missing permission plan.edit") {
		t.Errorf("the refusal %q does not name the missing permission", msg)
	}
	// With the generated client.
	_, err := s.client(viewer).ChangeRag(context.Background(), connect.NewRequest(&pb.ChangeRagRequest{Plan: ownPlan, Ref: "3.4", Rag: "R"}))
	wantCode(t, err, connect.CodePermissionDenied, "plan.edit")
	if after := s.lastSequence(); after != before {
		t.Fatalf("refused changes wrote %d events", after-before)
	}
	// What a viewer may do, it can.
	a, err := s.client(viewer).GetAction(context.Background(), connect.NewRequest(&pb.GetActionRequest{Plan: ownPlan, Ref: "3.4"}))
	if err != nil {
		t.Fatal(err)
	}
	if a.Msg.GetAction().GetRag() == "R" {
		t.Fatal("the viewer changed the RAG")
	}
}

func TestLeadChangesOnlyTheActionsTheyLead(t *testing.T) {
	s := startServer(t, t.TempDir(), true)
	ctx := context.Background()
	lead := s.client(s.issue(ownPlan, "lead", "Jeanette Yorke", leadName))

	// 3.4 is led by Julia Coleman and Jeanette Yorke: RAG, progress and impact.
	r, err := lead.ChangeRag(ctx, connect.NewRequest(&pb.ChangeRagRequest{Plan: ownPlan, Ref: "3.4", Rag: "A", Commentary: "Packs delayed"}))
	if err != nil {
		t.Fatalf("lead rating their own action: %v", err)
	}
	if _, err := lead.RecordProgress(ctx, connect.NewRequest(&pb.RecordProgressRequest{Plan: ownPlan, Ref: "3.4", Text: "Packs ordered"})); err != nil {
		t.Fatalf("lead recording progress: %v", err)
	}
	last, err := lead.RecordImpact(ctx, connect.NewRequest(&pb.RecordImpactRequest{Plan: ownPlan, Ref: "3.4", Text: "Ten settings using the packs"}))
	if err != nil {
		t.Fatalf("lead recording impact: %v", err)
	}

	before := s.lastSequence()
	// 3.5 is Amanda Gridley's.
	_, err = lead.ChangeRag(ctx, connect.NewRequest(&pb.ChangeRagRequest{Plan: ownPlan, Ref: "3.5", Rag: "R"}))
	wantCode(t, err, connect.CodePermissionDenied, "Amanda Gridley")
	_, err = lead.RecordProgress(ctx, connect.NewRequest(&pb.RecordProgressRequest{Plan: ownPlan, Ref: "3.5", Text: "x"}))
	wantCode(t, err, connect.CodePermissionDenied, "missing permission plan.edit")
	// And nothing else, even on their own action.
	_, err = lead.MoveDeadline(ctx, connect.NewRequest(&pb.MoveDeadlineRequest{Plan: ownPlan, Ref: "3.4", Deadline: "2025-06-30", ReasonCategory: "capacity", Reason: "x"}))
	wantCode(t, err, connect.CodePermissionDenied, "missing permission plan.edit")
	_, err = lead.ReassignLeads(ctx, connect.NewRequest(&pb.ReassignLeadsRequest{Plan: ownPlan, Ref: "3.4", Leads: []*pb.Lead{{Name: "Someone"}}, Reason: "x"}))
	wantCode(t, err, connect.CodePermissionDenied, "missing permission plan.edit")
	_, err = lead.WithdrawAction(ctx, connect.NewRequest(&pb.WithdrawActionRequest{Plan: ownPlan, Ref: "3.4", Reason: "x"}))
	wantCode(t, err, connect.CodePermissionDenied, "missing permission plan.edit")
	if after := s.lastSequence(); after != before {
		t.Fatalf("refused changes wrote %d events", after-before)
	}

	// Every change names the lead, as their token says, never a typed name.
	h, err := lead.GetActionHistory(ctx, connect.NewRequest(&pb.GetActionHistoryRequest{Plan: ownPlan, Ref: "3.4", MinSequence: last.Msg.GetResult().GetSequence()}))
	if err != nil {
		t.Fatal(err)
	}
	byLead := 0
	for _, e := range h.Msg.GetEntries() {
		if a := e.GetActor(); a.GetId() == "jeanette-yorke" && a.GetRole() == "lead" && a.GetDisplayName() == "Jeanette Yorke" {
			byLead++
		}
	}
	if byLead != 3 {
		t.Errorf("%d of 3 changes name the lead as the actor: %v", byLead, h.Msg.GetEntries())
	}

	// Once the action is reassigned away from them, it is no longer theirs.
	if _, err := s.admin().ReassignLeads(ctx, connect.NewRequest(&pb.ReassignLeadsRequest{Plan: ownPlan, Ref: "3.4",
		Leads: []*pb.Lead{{Name: "Sam Best"}}, Reason: "Moved to commissioning"})); err != nil {
		t.Fatal(err)
	}
	_, err = lead.ChangeRag(ctx, connect.NewRequest(&pb.ChangeRagRequest{Plan: ownPlan, Ref: "3.4", Rag: "R"}))
	wantCode(t, err, connect.CodePermissionDenied, "led by Sam Best, not Jeanette Yorke")
	if r.Msg.GetResult().GetAppended() != 1 {
		t.Errorf("the lead's RAG change appended %d events", r.Msg.GetResult().GetAppended())
	}
}

func TestATokenForOnePlanCannotReachAnother(t *testing.T) {
	s := startServer(t, t.TempDir(), true)
	ctx := context.Background()
	const other = "dorset-2024"
	s.importDemoAs(other)
	// An admin of the other plan: everything there, nothing here.
	otherAdmin := s.issue(other, "admin", "Dorset PPMO", "")
	if _, err := s.client(otherAdmin).GetPlan(ctx, connect.NewRequest(&pb.GetPlanRequest{Plan: other})); err != nil {
		t.Fatalf("reading its own plan: %v", err)
	}
	before := s.lastSequence()
	_, err := s.client(otherAdmin).GetPlan(ctx, connect.NewRequest(&pb.GetPlanRequest{Plan: ownPlan}))
	wantCode(t, err, connect.CodePermissionDenied, "your token is for plan dorset-2024, not bcp-2023-26")
	_, err = s.client(otherAdmin).GetAction(ctx, connect.NewRequest(&pb.GetActionRequest{Plan: ownPlan, Ref: "3.4"}))
	wantCode(t, err, connect.CodePermissionDenied, "missing permission plan.read on bcp-2023-26")
	_, err = s.client(otherAdmin).ChangeRag(ctx, connect.NewRequest(&pb.ChangeRagRequest{Plan: ownPlan, Ref: "3.4", Rag: "R"}))
	wantCode(t, err, connect.CodePermissionDenied, "missing permission plan.edit")
	st, m := curl(t, s, otherAdmin, "ListActions", `{"plan":"bcp-2023-26"}`)
	if st != http.StatusForbidden || m["code"] != "permission_denied" {
		t.Errorf("curl ListActions on another plan: %d %v", st, m)
	}
	// Nor can it give itself a way in: no tokens for another plan or for
	// every plan, and no listing or revoking theirs.
	tc := s.tokens(otherAdmin)
	_, err = tc.IssueToken(ctx, connect.NewRequest(&pb.IssueTokenRequest{Plan: ownPlan, Role: "admin", Name: "Me"}))
	wantCode(t, err, connect.CodePermissionDenied, "missing permission tokens.manage on bcp-2023-26")
	_, err = tc.IssueToken(ctx, connect.NewRequest(&pb.IssueTokenRequest{Plan: "*", Role: "admin", Name: "Me"}))
	wantCode(t, err, connect.CodePermissionDenied, "missing permission tokens.manage")
	_, err = tc.ListTokens(ctx, connect.NewRequest(&pb.ListTokensRequest{Plan: ownPlan}))
	wantCode(t, err, connect.CodePermissionDenied, "")
	_, err = tc.ListTokens(ctx, connect.NewRequest(&pb.ListTokensRequest{Plan: "*"}))
	wantCode(t, err, connect.CodePermissionDenied, "")
	adminID := strings.Split(s.token, "_")[1]
	_, err = tc.RevokeToken(ctx, connect.NewRequest(&pb.RevokeTokenRequest{Plan: "*", TokenId: adminID}))
	wantCode(t, err, connect.CodePermissionDenied, "")
	// Naming its own plan does not reach a token of another.
	_, err = tc.RevokeToken(ctx, connect.NewRequest(&pb.RevokeTokenRequest{Plan: other, TokenId: adminID}))
	wantCode(t, err, connect.CodeNotFound, "")
	if after := s.lastSequence(); after != before {
		t.Fatalf("refused requests wrote %d events", after-before)
	}
	// Its own plan's tokens it manages, and sees only those.
	if _, err := tc.IssueToken(ctx, connect.NewRequest(&pb.IssueTokenRequest{Plan: other, Role: "viewer", Name: "Dorset board"})); err != nil {
		t.Fatal(err)
	}
	l, err := tc.ListTokens(ctx, connect.NewRequest(&pb.ListTokensRequest{Plan: other}))
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Msg.GetTokens()) != 2 {
		t.Fatalf("the plan admin sees %d tokens, want its own and the board's: %v", len(l.Msg.GetTokens()), l.Msg.GetTokens())
	}
	for _, tok := range l.Msg.GetTokens() {
		if tok.GetPlan() != other {
			t.Errorf("listed a token for %s", tok.GetPlan())
		}
	}
	// An admin of every plan sees every plan's tokens.
	all, err := s.tokens(s.token).ListTokens(ctx, connect.NewRequest(&pb.ListTokensRequest{Plan: "*"}))
	if err != nil {
		t.Fatal(err)
	}
	plans := map[string]int{}
	for _, tok := range all.Msg.GetTokens() {
		plans[tok.GetPlan()]++
	}
	if plans["*"] != 1 || plans[other] != 2 || len(plans) != 2 {
		t.Errorf("tokens of every plan, by plan: %v", plans)
	}
}

func TestRevokedAndExpiredTokensAreRefusedAndTheHistoryIsOnTheStream(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir, true)
	ctx := context.Background()
	tc := s.tokens(s.token)

	issued, err := tc.IssueToken(ctx, connect.NewRequest(&pb.IssueTokenRequest{Plan: ownPlan, Role: "editor", Name: "Mary Diffey",
		Principal: "mary.diffey@example.gov.uk"}))
	if err != nil {
		t.Fatal(err)
	}
	editor := issued.Msg.GetBearerToken()
	id := issued.Msg.GetToken().GetId()
	if !strings.HasPrefix(editor, "st_"+id+"_") {
		t.Fatalf("token %q does not carry its id %s", editor, id)
	}
	if _, err := s.client(editor).GetPlan(ctx, connect.NewRequest(&pb.GetPlanRequest{Plan: ownPlan})); err != nil {
		t.Fatalf("a new token is refused: %v", err)
	}
	if _, err := tc.RevokeToken(ctx, connect.NewRequest(&pb.RevokeTokenRequest{Plan: ownPlan, TokenId: id, Reason: "Left the service"})); err != nil {
		t.Fatal(err)
	}
	// Refused from the moment the revocation returns.
	_, err = s.client(editor).GetPlan(ctx, connect.NewRequest(&pb.GetPlanRequest{Plan: ownPlan}))
	wantCode(t, err, connect.CodeUnauthenticated, "revoked")
	st, m := curl(t, s, editor, "GetPlan", `{"plan":"bcp-2023-26"}`)
	if st != http.StatusUnauthorized || m["code"] != "unauthenticated" {
		t.Errorf("curl with a revoked token: %d %v", st, m)
	}

	// A token that expires works until then, and not after.
	exp := time.Now().Add(1500 * time.Millisecond)
	short, err := tc.IssueToken(ctx, connect.NewRequest(&pb.IssueTokenRequest{Plan: ownPlan, Role: "viewer", Name: "Visitor", ExpiresAt: timestamppb.New(exp)}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.client(short.Msg.GetBearerToken()).GetPlan(ctx, connect.NewRequest(&pb.GetPlanRequest{Plan: ownPlan})); err != nil {
		t.Fatalf("an unexpired token is refused: %v", err)
	}
	_, err = tc.IssueToken(ctx, connect.NewRequest(&pb.IssueTokenRequest{Plan: ownPlan, Role: "viewer", Name: "Visitor",
		ExpiresAt: timestamppb.New(time.Now().Add(-time.Minute))}))
	wantCode(t, err, connect.CodeInvalidArgument, "expiresAt")
	time.Sleep(time.Until(exp) + 50*time.Millisecond)
	_, err = s.client(short.Msg.GetBearerToken()).GetPlan(ctx, connect.NewRequest(&pb.GetPlanRequest{Plan: ownPlan}))
	wantCode(t, err, connect.CodeUnauthenticated, "expired")

	// The access history is part of the plan's trail: who issued and
	// revoked what, with role, plan and expiry, and never the token.
	evs, err := s.admin().ListEvents(ctx, connect.NewRequest(&pb.ListEventsRequest{Plan: ownPlan, AggregateType: "token", Types: []string{"token_issued", "token_revoked"}}))
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range evs.Msg.GetEvents() {
		kinds = append(kinds, e.GetType())
		if e.GetActor().GetId() != "admin" || e.GetActor().GetRole() != "admin" {
			t.Errorf("%s names actor %v, want the admin who did it", e.GetType(), e.GetActor())
		}
	}
	if strings.Join(kinds, ",") != "token_issued,token_revoked,token_issued" {
		t.Errorf("token events %v", kinds)
	}
	secret := editor[20:]
	if len(secret) < 40 {
		t.Fatalf("secret %q", secret)
	}
	s.Close()
	// The secret is nowhere on disk: not in the stream's files nor in the
	// read model. (Its hash is, which shows the scan reads them.)
	hash := hashHex(secret)
	foundHash := false
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s holds a token's secret", p)
		}
		foundHash = foundHash || bytes.Contains(b, []byte(hash))
		return nil
	})
	if !foundHash {
		t.Errorf("no file holds the token's hash: the scan read nothing")
	}

	// Rebuilt from the stream alone, the read model knows the same: the
	// revoked token stays refused, the admin's still works.
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(filepath.Join(dir, "sendtrail.db") + suffix)
	}
	s2 := startServer(t, dir, false)
	_, err = s2.client(editor).GetPlan(ctx, connect.NewRequest(&pb.GetPlanRequest{Plan: ownPlan}))
	wantCode(t, err, connect.CodeUnauthenticated, "revoked")
	l, err := s2.tokens(s2.token).ListTokens(ctx, connect.NewRequest(&pb.ListTokensRequest{Plan: ownPlan, IncludeInactive: true}))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, tok := range l.Msg.GetTokens() {
		if tok.GetId() == id {
			found = true
			if !tok.GetRevoked() || tok.GetRevokedAt() == nil || tok.GetPrincipal() != "mary.diffey@example.gov.uk" || tok.GetRole() != "editor" {
				t.Errorf("after a rebuild the token is %v", tok)
			}
		}
	}
	if !found {
		t.Errorf("after a rebuild ListTokens has no token %s: %v", id, l.Msg.GetTokens())
	}
	active, err := s2.tokens(s2.token).ListTokens(ctx, connect.NewRequest(&pb.ListTokensRequest{Plan: ownPlan}))
	if err != nil {
		t.Fatal(err)
	}
	if len(active.Msg.GetTokens()) != 0 {
		t.Errorf("active tokens of %s: %v, want none (one revoked, one expired)", ownPlan, active.Msg.GetTokens())
	}
}

func TestRepeatedFailuresFromOneAddressAreSlowedDown(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs the 127/8 loopback addresses of Linux")
	}
	s := startServer(t, t.TempDir(), true)
	from := func(ip net.IP) sendtrailv1connect.PlanServiceClient {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}}
		hc := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
		return sendtrailv1connect.NewPlanServiceClient(hc, s.URL(), connect.WithInterceptors(bearer("st_0123456789abcdef_guessedguessedguessedguessed")))
	}
	attacker, bystander := from(net.IPv4(127, 3, 0, 1)), from(net.IPv4(127, 3, 0, 2))
	get := func(c sendtrailv1connect.PlanServiceClient) time.Duration {
		start := time.Now()
		_, err := c.GetPlan(context.Background(), connect.NewRequest(&pb.GetPlanRequest{Plan: ownPlan}))
		mustCode(t, err, connect.CodeUnauthenticated)
		return time.Since(start)
	}
	for i := 0; i < 5; i++ {
		if d := get(attacker); d > 200*time.Millisecond {
			t.Fatalf("failure %d took %s: the first five are not slowed", i+1, d)
		}
	}
	if d := get(attacker); d < 250*time.Millisecond {
		t.Errorf("the sixth failure in a row took %s, want at least 250ms", d)
	}
	if d := get(attacker); d < 500*time.Millisecond {
		t.Errorf("the seventh failure in a row took %s, want at least 500ms", d)
	}
	if d := get(bystander); d > 200*time.Millisecond {
		t.Errorf("another address was slowed down too: %s", d)
	}
}

func TestIssuingATokenOverCurl(t *testing.T) {
	s := startServer(t, t.TempDir(), true)
	st, m := curlTokens(t, s, s.token, "IssueToken", `{"plan":"bcp-2023-26","role":"lead","name":"Jude Nash","leadName":"Jude Nash","expiresAt":"2099-01-01T00:00:00Z"}`)
	if st != http.StatusOK {
		t.Fatalf("IssueToken: %d %v", st, m)
	}
	tok, _ := m["token"].(map[string]any)
	if bt, _ := m["bearerToken"].(string); !strings.HasPrefix(bt, "st_") || tok["principal"] != "jude-nash" || tok["role"] != "lead" ||
		tok["leadName"] != "Jude Nash" || tok["expiresAt"] != "2099-01-01T00:00:00Z" {
		t.Errorf("IssueToken answered %v", m)
	}
	if _, hashed := tok["hash"]; hashed {
		t.Errorf("IssueToken shows a hash: %v", tok)
	}
	before := s.lastSequence()
	for _, c := range []struct{ body, field string }{
		{`{"plan":"bcp-2023-26","role":"lead","name":"Jude Nash"}`, "leadName"},
		{`{"plan":"bcp-2023-26","role":"viewer","name":"Board","leadName":"Jude Nash"}`, "leadName"},
		{`{"plan":"bcp-2023-26","role":"owner","name":"Me"}`, "role"},
		{`{"plan":"bcp-2023-26","role":"viewer"}`, "name"},
		{`{"plan":"system","role":"admin","name":"Me"}`, "plan"},
		{`{"plan":"Not A Slug","role":"admin","name":"Me"}`, "plan"},
		{`{"plan":"bcp-2023-26","role":"viewer","name":"Board","principal":"has spaces"}`, "principal"},
		{`{"plan":"bcp-2023-26","role":"viewer","name":"界"}`, "principal"},
		{`{"plan":"bcp-2023-26","role":"viewer","name":"Board","expiresAt":"2001-01-01T00:00:00Z"}`, "expiresAt"},
	} {
		st, m := curlTokens(t, s, s.token, "IssueToken", c.body)
		if msg, _ := m["message"].(string); st != http.StatusBadRequest || m["code"] != "invalid_argument" || !strings.HasPrefix(msg, c.field+":") {
			t.Errorf("IssueToken %s: %d %v, want invalid_argument naming %s", c.body, st, m, c.field)
		}
	}
	st, m = curlTokens(t, s, s.token, "RevokeToken", `{"plan":"bcp-2023-26","tokenId":"nope"}`)
	if st != http.StatusBadRequest || m["code"] != "invalid_argument" {
		t.Errorf("RevokeToken of a malformed id: %d %v", st, m)
	}
	if after := s.lastSequence(); after != before {
		t.Errorf("refused token requests wrote %d events", after-before)
	}
}
