package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/google/go-cmp/cmp"

	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
)

// curl posts body to a PlanService procedure over the Connect protocol with
// plain JSON, exactly as the README shows, and returns the HTTP status and
// the decoded JSON answer.
func curl(t *testing.T, s *testServer, token, procedure, body string) (int, map[string]any) {
	t.Helper()
	path, err := exec.LookPath("curl")
	if err != nil {
		t.Fatalf("curl is needed for this test (apt-get install curl): %v", err)
	}
	args := []string{"-sS", "-o", "-", "-w", "\n%{http_code}", "-X", "POST",
		"-H", "Content-Type: application/json", "--data", body,
		s.URL() + "/sendtrail.v1.PlanService/" + procedure}
	if token != "" {
		args = append(args, "-H", "Authorization: Bearer "+token)
	}
	out, err := exec.Command(path, args...).Output()
	if err != nil {
		t.Fatalf("curl %s: %v", procedure, err)
	}
	text := strings.TrimSpace(string(out))
	i := strings.LastIndexByte(text, '\n')
	var status int
	fmt.Sscanf(text[i+1:], "%d", &status)
	var m map[string]any
	if err := json.Unmarshal([]byte(text[:i]), &m); err != nil {
		t.Fatalf("curl %s: answer is not JSON: %q", procedure, text)
	}
	return status, m
}

func seqOf(t *testing.T, m map[string]any) uint64 {
	t.Helper()
	r, _ := m["result"].(map[string]any)
	var n uint64
	fmt.Sscanf(fmt.Sprint(r["sequence"]), "%d", &n)
	if n == 0 {
		t.Fatalf("no sequence in %v", m)
	}
	return n
}

func TestCurlChangesShowInHistoryWithActorTimesAndReason(t *testing.T) {
	s := startServer(t, t.TempDir(), true)
	const plan = `"plan":"bcp-2023-26","ref":"3.4"`

	st, m := curl(t, s, s.token, "ChangeRag", `{`+plan+`,"rag":"A","commentary":"Recruitment delayed"}`)
	if st != 200 {
		t.Fatalf("ChangeRag: %d %v", st, m)
	}
	st, m = curl(t, s, s.token, "MoveDeadline", `{`+plan+`,"deadline":"2024-12-31","reasonCategory":"capacity",
		"reason":"Restructure delayed","options":{"occurredAt":"2024-03-14T10:00:00Z"}}`)
	if st != 200 {
		t.Fatalf("MoveDeadline: %d %v", st, m)
	}
	st, m = curl(t, s, s.token, "ReassignLeads", `{`+plan+`,"leads":[{"name":"Sam Best","role":"Principal Lead","organisation":"NHS Dorset"}],
		"reason":"Commissioning moved to the ICB"}`)
	if st != 200 {
		t.Fatalf("ReassignLeads: %d %v", st, m)
	}
	last := seqOf(t, m)

	st, m = curl(t, s, s.token, "GetActionHistory", fmt.Sprintf(`{%s,"minSequence":"%d"}`, plan, last))
	if st != 200 {
		t.Fatalf("GetActionHistory: %d %v", st, m)
	}
	entries, _ := m["entries"].([]any)
	byType := map[string]map[string]any{}
	for _, e := range entries {
		e := e.(map[string]any)
		byType[e["type"].(string)] = e
	}
	for _, c := range []struct {
		typ, before, after, reason, category string
	}{
		{"rag_changed", "", "A", "", ""},
		{"deadline_moved", "", "2024-12-31", "Restructure delayed", "capacity"},
		{"leads_reassigned", "", "Sam Best – Principal Lead – NHS Dorset", "Commissioning moved to the ICB", ""},
	} {
		e, ok := byType[c.typ]
		if !ok {
			t.Errorf("history has no %s: %v", c.typ, entries)
			continue
		}
		actor, _ := e["actor"].(map[string]any)
		if actor["displayName"] != "Administrator" || actor["role"] != "admin" || actor["id"] != "admin" {
			t.Errorf("%s: actor %v, want the authenticated admin", c.typ, actor)
		}
		if e["occurredAt"] == nil || e["recordedAt"] == nil {
			t.Errorf("%s: want both times, got occurredAt %v recordedAt %v", c.typ, e["occurredAt"], e["recordedAt"])
		}
		if c.after != "" && e["after"] != c.after {
			t.Errorf("%s: after %v, want %q", c.typ, e["after"], c.after)
		}
		if c.reason != "" && e["reason"] != c.reason {
			t.Errorf("%s: reason %v, want %q", c.typ, e["reason"], c.reason)
		}
		if c.category != "" && e["reasonCategory"] != c.category {
			t.Errorf("%s: category %v, want %q", c.typ, e["reasonCategory"], c.category)
		}
	}
	if e := byType["rag_changed"]; e != nil && e["commentary"] != "Recruitment delayed" {
		t.Errorf("rag_changed commentary %v", e["commentary"])
	}
	if e := byType["deadline_moved"]; e != nil {
		if e["occurredAt"] != "2024-03-14T10:00:00Z" {
			t.Errorf("deadline_moved occurredAt %v, want the business time given", e["occurredAt"])
		}
		if e["recordedAt"] == e["occurredAt"] {
			t.Errorf("deadline_moved recordedAt should be the time of recording, got %v", e["recordedAt"])
		}
	}
}

func TestCommandErrors(t *testing.T) {
	s := startServer(t, t.TempDir(), true)
	const plan = `"plan":"bcp-2023-26","ref":"3.4"`
	for _, c := range []struct {
		name, token, procedure, body string
		status                       int
		code, mentions               string
	}{
		{"missing reason", s.token, "MoveDeadline", `{` + plan + `,"deadline":"2025-01-31","reasonCategory":"capacity"}`, 400, "invalid_argument", "reason"},
		{"missing category", s.token, "MoveDeadline", `{` + plan + `,"deadline":"2025-01-31","reason":"x"}`, 400, "invalid_argument", "reasonCategory"},
		{"unknown category", s.token, "MoveDeadline", `{` + plan + `,"deadline":"2025-01-31","reasonCategory":"weather","reason":"x"}`, 400, "invalid_argument", "reasonCategory"},
		{"impossible date", s.token, "MoveDeadline", `{` + plan + `,"deadline":"2024-04-31","reasonCategory":"capacity","reason":"x"}`, 400, "invalid_argument", "deadline"},
		{"unknown rag code", s.token, "ChangeRag", `{` + plan + `,"rag":"Amber"}`, 400, "invalid_argument", "rag"},
		{"lead change without reason", s.token, "ReassignLeads", `{` + plan + `,"leads":[{"name":"A"}]}`, 400, "invalid_argument", "reason"},
		{"withdrawal without reason", s.token, "WithdrawAction", `{` + plan + `}`, 400, "invalid_argument", "reason"},
		{"correction without reason", s.token, "CorrectKpiValue", `{"plan":"bcp-2023-26","indicator":"No. of complaints","period":"Jan-24","value":"6"}`, 400, "invalid_argument", "reason"},
		{"unknown ref", s.token, "ChangeRag", `{"plan":"bcp-2023-26","ref":"9.99","rag":"A"}`, 404, "not_found", "9.99"},
		{"unknown plan", s.token, "ChangeRag", `{"plan":"nowhere","ref":"3.4","rag":"A"}`, 404, "not_found", "nowhere"},
		{"unknown plan query", s.token, "GetAction", `{"plan":"nowhere","ref":"3.4"}`, 404, "not_found", ""},
		{"unknown indicator", s.token, "RecordKpiValue", `{"plan":"bcp-2023-26","indicator":"Nope","period":"Apr-24","value":"1"}`, 404, "not_found", "Nope"},
		{"no token", "", "GetPlan", `{"plan":"bcp-2023-26"}`, 401, "unauthenticated", ""},
		{"bad token", "st_0000000000000000_notarealsecretnotarealsecret", "GetPlan", `{"plan":"bcp-2023-26"}`, 401, "unauthenticated", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := s.lastSequence()
			st, m := curl(t, s, c.token, c.procedure, c.body)
			if st != c.status || m["code"] != c.code {
				t.Fatalf("got %d %v, want %d %s", st, m, c.status, c.code)
			}
			if msg, _ := m["message"].(string); !strings.Contains(msg, c.mentions) {
				t.Errorf("message %q does not name %q", msg, c.mentions)
			}
			if after := s.lastSequence(); after != before {
				t.Errorf("a refused command wrote %d events", after-before)
			}
		})
	}
}

func TestStaleExpectedVersionIsRefusedAndWritesNothing(t *testing.T) {
	s := startServer(t, t.TempDir(), true)
	ctx := context.Background()
	c := s.admin()
	got, err := c.GetAction(ctx, connect.NewRequest(&pb.GetActionRequest{Plan: "bcp-2023-26", Ref: "2.1"}))
	if err != nil {
		t.Fatal(err)
	}
	read := got.Msg.GetAction().GetVersion()
	// Someone else changes the action after we read it.
	r1, err := c.ChangeRag(ctx, connect.NewRequest(&pb.ChangeRagRequest{Plan: "bcp-2023-26", Ref: "2.1", Rag: "P",
		Options: &pb.CommandOptions{ExpectedVersion: &read}}))
	if err != nil {
		t.Fatal(err)
	}
	before := s.lastSequence()
	_, err = c.ChangeRag(ctx, connect.NewRequest(&pb.ChangeRagRequest{Plan: "bcp-2023-26", Ref: "2.1", Rag: "R",
		Options: &pb.CommandOptions{ExpectedVersion: &read}}))
	wantCode(t, err, connect.CodeAborted, "changed since you read it")
	var ce *connect.Error
	if ok := asConnect(err, &ce); ok && ce.Meta().Get("Sendtrail-Current-Version") != fmt.Sprint(r1.Msg.GetResult().GetVersion()) {
		t.Errorf("conflict carries version %q, want %d", ce.Meta().Get("Sendtrail-Current-Version"), r1.Msg.GetResult().GetVersion())
	}
	if after := s.lastSequence(); after != before {
		t.Fatalf("a stale write appended %d events", after-before)
	}
	now, err := c.GetAction(ctx, connect.NewRequest(&pb.GetActionRequest{Plan: "bcp-2023-26", Ref: "2.1", MinSequence: r1.Msg.GetResult().GetSequence()}))
	if err != nil {
		t.Fatal(err)
	}
	if now.Msg.GetAction().GetRag() != "P" || now.Msg.GetAction().GetVersion() != r1.Msg.GetResult().GetVersion() {
		t.Errorf("action after refused write: rag %s version %d", now.Msg.GetAction().GetRag(), now.Msg.GetAction().GetVersion())
	}
}

func TestRetriedCommandAppendsOnce(t *testing.T) {
	s := startServer(t, t.TempDir(), true)
	ctx := context.Background()
	c := s.admin()
	got, err := c.GetAction(ctx, connect.NewRequest(&pb.GetActionRequest{Plan: "bcp-2023-26", Ref: "4.1"}))
	if err != nil {
		t.Fatal(err)
	}
	v := got.Msg.GetAction().GetVersion()
	req := &pb.MoveDeadlineRequest{Plan: "bcp-2023-26", Ref: "4.1", Deadline: "2024-11-30", ReasonCategory: "other", Reason: "31/11/24 is not a date; the board meant the end of November",
		Options: &pb.CommandOptions{CommandId: "cmd-4.1-fix", ExpectedVersion: &v}}
	first, err := c.MoveDeadline(ctx, connect.NewRequest(req))
	if err != nil {
		t.Fatal(err)
	}
	before := s.lastSequence()
	for i := 0; i < 3; i++ {
		again, err := c.MoveDeadline(ctx, connect.NewRequest(req))
		if err != nil {
			t.Fatalf("retry %d: %v", i, err)
		}
		if diff := cmp.Diff(first.Msg.GetResult().GetSequence(), again.Msg.GetResult().GetSequence()); diff != "" {
			t.Errorf("retry answered another sequence: %s", diff)
		}
	}
	if after := s.lastSequence(); after != before {
		t.Fatalf("retries appended %d events", after-before)
	}
}

func TestQueriesReadTheirOwnWrites(t *testing.T) {
	s := startServer(t, t.TempDir(), true)
	ctx := context.Background()
	c := s.admin()
	for i := 0; i < 20; i++ {
		text := fmt.Sprintf("Progress note %d", i)
		r, err := c.RecordProgress(ctx, connect.NewRequest(&pb.RecordProgressRequest{Plan: "bcp-2023-26", Ref: "1.1", Text: text}))
		if err != nil {
			t.Fatal(err)
		}
		a, err := c.GetAction(ctx, connect.NewRequest(&pb.GetActionRequest{Plan: "bcp-2023-26", Ref: "1.1", MinSequence: r.Msg.GetResult().GetSequence()}))
		if err != nil {
			t.Fatal(err)
		}
		if a.Msg.GetAction().GetProgress() != text {
			t.Fatalf("read %q after writing %q at sequence %d", a.Msg.GetAction().GetProgress(), text, r.Msg.GetResult().GetSequence())
		}
	}
	// Without min_sequence a client of this instance still reads its own
	// writes: queries wait for the last sequence the instance wrote.
	for i := 0; i < 20; i++ {
		text := fmt.Sprintf("Unsequenced note %d", i)
		if _, err := c.RecordProgress(ctx, connect.NewRequest(&pb.RecordProgressRequest{Plan: "bcp-2023-26", Ref: "1.2", Text: text})); err != nil {
			t.Fatal(err)
		}
		h, err := c.GetActionHistory(ctx, connect.NewRequest(&pb.GetActionHistoryRequest{Plan: "bcp-2023-26", Ref: "1.2"}))
		if err != nil {
			t.Fatal(err)
		}
		if es := h.Msg.GetEntries(); es[len(es)-1].GetAfter() != text {
			t.Fatalf("history ends %q after writing %q", es[len(es)-1].GetAfter(), text)
		}
		a, err := c.GetAction(ctx, connect.NewRequest(&pb.GetActionRequest{Plan: "bcp-2023-26", Ref: "1.2"}))
		if err != nil {
			t.Fatal(err)
		}
		if a.Msg.GetAction().GetProgress() != text {
			t.Fatalf("GetAction reads %q after writing %q", a.Msg.GetAction().GetProgress(), text)
		}
	}
	// A sequence the stream has not reached times out, bounded.
	start := time.Now()
	_, err := c.GetPlan(ctx, connect.NewRequest(&pb.GetPlanRequest{Plan: "bcp-2023-26", MinSequence: 1 << 40}))
	wantCode(t, err, connect.CodeDeadlineExceeded, "")
	if el := time.Since(start); el > 30*time.Second {
		t.Errorf("waited %s", el)
	}
}

var _ = protocmp.Transform

func asConnect(err error, target **connect.Error) bool {
	ce, ok := err.(*connect.Error)
	if ok {
		*target = ce
	}
	return ok
}
