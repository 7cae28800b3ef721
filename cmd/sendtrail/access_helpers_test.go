package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"

	"connectrpc.com/connect"

	"github.com/sendtrail/sendtrail/demo"
	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
	"github.com/sendtrail/sendtrail/gen/sendtrail/v1/sendtrailv1connect"
)

// The demo plan, and the lead of several of its actions (3.2, 3.3, 3.4 and
// 3.8, among others) but not of 3.5 (Amanda Gridley).
const (
	ownPlan  = demo.Slug
	leadName = "Jeanette Yorke"
)

func (s *testServer) tokens(token string) sendtrailv1connect.TokenServiceClient {
	return sendtrailv1connect.NewTokenServiceClient(http.DefaultClient, s.URL(), connect.WithInterceptors(bearer(token)))
}

// issue issues a token with the server's admin token (every plan) through
// the TokenService and returns it.
func (s *testServer) issue(plan, role, name, lead string) string {
	s.t.Helper()
	res, err := s.tokens(s.token).IssueToken(context.Background(), connect.NewRequest(&pb.IssueTokenRequest{
		Plan: plan, Role: role, Name: name, LeadName: lead,
	}))
	if err != nil {
		s.t.Fatalf("issue %s token for %s: %v", role, plan, err)
	}
	return res.Msg.GetBearerToken()
}

// importDemoAs imports the demo plan's files again as another plan.
func (s *testServer) importDemoAs(slug string) uint64 {
	s.t.Helper()
	files, err := demo.Files()
	if err != nil {
		s.t.Fatal(err)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	req := &pb.ImportPlanRequest{Plan: slug, Title: "Another area's plan", AcceptFlagged: true}
	for _, n := range names {
		req.Files = append(req.Files, &pb.ImportFile{Name: n, Content: files[n]})
	}
	res, err := s.admin().ImportPlan(context.Background(), connect.NewRequest(req))
	if err != nil {
		s.t.Fatalf("import %s: %v", slug, err)
	}
	return res.Msg.GetSequence()
}

func mustCode(t *testing.T, err error, code connect.Code) {
	t.Helper()
	if connect.CodeOf(err) != code || err == nil {
		t.Fatalf("want %s, got %v", code, err)
	}
}

func hashHex(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// curlTokens posts body to a TokenService procedure with curl over the
// Connect protocol (JSON), as the README shows.
func curlTokens(t *testing.T, s *testServer, token, procedure, body string) (int, map[string]any) {
	t.Helper()
	path, err := exec.LookPath("curl")
	if err != nil {
		t.Fatalf("curl is needed for this test (apt-get install curl): %v", err)
	}
	out, err := exec.Command(path, "-sS", "-o", "-", "-w", "\n%{http_code}", "-X", "POST",
		"-H", "Content-Type: application/json", "-H", "Authorization: Bearer "+token, "--data", body,
		s.URL()+"/sendtrail.v1.TokenService/"+procedure).Output()
	if err != nil {
		t.Fatalf("curl %s: %v", procedure, err)
	}
	text := strings.TrimSpace(string(out))
	i := strings.LastIndexByte(text, '\n')
	status, _ := strconv.Atoi(text[i+1:])
	var m map[string]any
	if err := json.Unmarshal([]byte(text[:i]), &m); err != nil {
		t.Fatalf("curl %s: answer is not JSON: %q", procedure, text)
	}
	return status, m
}
