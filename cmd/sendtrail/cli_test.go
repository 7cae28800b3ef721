package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/sendtrail/sendtrail/gen/sendtrail/v1/sendtrailv1connect"
)

// runCLI runs sendtrail in-process, as the binary would, and returns its
// exit code and output.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func writeToken(t *testing.T, tok string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(p, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAPlanOfficerDoesEveryTaskWithTheCLI walks through a plan officer's
// work with nothing but sendtrail subcommands, and checks that together
// they call every RPC of PlanService and TokenService.
func TestAPlanOfficerDoesEveryTaskWithTheCLI(t *testing.T) {
	s := startServer(t, t.TempDir(), true)
	t.Setenv("SENDTRAIL_SERVER", s.URL())
	t.Setenv("SENDTRAIL_TOKEN", "")
	admin := writeToken(t, s.token)
	officerFile := filepath.Join(t.TempDir(), "mary.token")
	progressFile := filepath.Join(t.TempDir(), "impact.txt")
	os.WriteFile(progressFile, []byte("Waiting times down from 14 to 11 weeks\n"), 0o600)

	// The admin issues the officer a token, printed once, into a file.
	code, out, errOut := runCLI(t, "token", "issue", "--plan", ownPlan, "--role", "editor", "--name", "Mary Diffey",
		"--principal", "mary.diffey@bcpcouncil.gov.uk", "--expires", "90d", "--out", officerFile, "--token-file", admin)
	if code != exitOK || !strings.Contains(out, "issued token") || !strings.Contains(out, "editor on bcp-2023-26") {
		t.Fatalf("token issue: %d\n%s%s", code, out, errOut)
	}
	officer := readFile(t, officerFile)
	if !strings.HasPrefix(officer, "st_") || strings.Contains(out, officer) {
		t.Fatalf("token issue --out: the file holds %q; the output shows the token: %v", officer, strings.Contains(out, officer))
	}

	var version string
	steps := []struct {
		procedure string
		token     string
		args      []string
		code      int
		want      []string // in stdout (or stderr when refused)
	}{
		{sendtrailv1connect.PlanServiceImportPlanProcedure, admin, []string{"import", "--plan", "poole-2024", "--title", "Poole pilot", "--accept-flagged", "../../demo/bcp-2023-26"}, exitOK,
			[]string{"poole-2024: imported: 8 priority areas, 138 actions"}},
		{sendtrailv1connect.PlanServiceGetPlanProcedure, officerFile, []string{"plan", "show", ownPlan}, exitOK,
			[]string{"BCP SEND Improvement Plan 2023/26", "138 actions", "PRIORITY  ACTIONS  TITLE", "Early Identification and Intervention"}},
		{sendtrailv1connect.PlanServiceListActionsProcedure, officerFile, []string{"actions", "list", ownPlan, "--priority", "3"}, exitOK,
			[]string{"REF", "3.4 ", "Julia Coleman; Jeanette Yorke", "19 actions"}},
		{sendtrailv1connect.PlanServiceGetActionProcedure, officerFile, []string{"action", "show", ownPlan, "3.4"}, exitOK,
			[]string{"Leads", "Julia Coleman – Head of School Improvement", "Deadline", "2024-09-01", "Version"}},
		{sendtrailv1connect.PlanServiceChangeRagProcedure, officerFile, []string{"rag", "set", ownPlan, "3.4", "A", "--commentary", "Recruitment delayed", "--expected-version", "%V"}, exitOK,
			[]string{"bcp-2023-26 3.4: RAG set to A (1 event, stream sequence"}},
		// The same expected version again is stale: refused, nothing written.
		{sendtrailv1connect.PlanServiceChangeRagProcedure, officerFile, []string{"rag", "set", ownPlan, "3.4", "R", "--expected-version", "%V"}, exitRefused,
			[]string{"aborted", "changed since you read it"}},
		{sendtrailv1connect.PlanServiceMoveDeadlineProcedure, officerFile, []string{"deadline", "move", ownPlan, "3.4", "--to", "2024-12-31", "--category", "capacity",
			"--reason", "Restructure delayed recruitment", "--occurred-at", "2024-03-14"}, exitOK, []string{"deadline moved to 2024-12-31 (capacity)"}},
		{sendtrailv1connect.PlanServiceMoveDeadlineProcedure, officerFile, []string{"deadline", "move", ownPlan, "3.4", "--to", "2025-01-31", "--category", "capacity"}, exitRefused,
			[]string{"invalid_argument", "reason"}},
		{sendtrailv1connect.PlanServiceReassignLeadsProcedure, officerFile, []string{"lead", "reassign", ownPlan, "3.4", "--lead", "Sam Best – Principal Lead – NHS Dorset",
			"--lead", "Jeanette Yorke|Early Years Operational Manager", "--reason", "Commissioning moved to the ICB"}, exitOK,
			[]string{"now led by Sam Best – Principal Lead – NHS Dorset; Jeanette Yorke – Early Years Operational Manager"}},
		{sendtrailv1connect.PlanServiceRecordProgressProcedure, officerFile, []string{"progress", "record", ownPlan, "3.4", "Two posts advertised", "--command-id", "progress-3.4-march"}, exitOK,
			[]string{"progress recorded (1 event"}},
		// A retry with the same command id appends nothing.
		{sendtrailv1connect.PlanServiceRecordProgressProcedure, officerFile, []string{"progress", "record", ownPlan, "3.4", "Two posts advertised", "--command-id", "progress-3.4-march"}, exitOK,
			[]string{"nothing to change"}},
		{sendtrailv1connect.PlanServiceRecordImpactProcedure, officerFile, []string{"impact", "record", ownPlan, "3.4", "--file", progressFile}, exitOK,
			[]string{"impact recorded"}},
		{sendtrailv1connect.PlanServiceWithdrawActionProcedure, officerFile, []string{"action", "withdraw", ownPlan, "3.12", "--reason", "Merged into 3.6 by the board"}, exitOK,
			[]string{"3.12: withdrawn"}},
		{sendtrailv1connect.PlanServiceReinstateActionProcedure, officerFile, []string{"action", "reinstate", ownPlan, "3.12", "--reason", "Board reversed the merge"}, exitOK,
			[]string{"3.12: reinstated"}},
		{sendtrailv1connect.PlanServiceAddActionProcedure, officerFile, []string{"action", "add", ownPlan, "3.20", "--priority", "3", "--text", "Pilot a triage line for SENCOs",
			"--lead", "Jude Nash – SEND Service Manager", "--deadline", "2025-03-31", "--rag", "NS"}, exitOK, []string{"3.20: added to priority area 3"}},
		{sendtrailv1connect.PlanServiceListKpisProcedure, officerFile, []string{"kpi", "list", ownPlan, "--priority", "1", "--values"}, exitOK,
			[]string{"INDICATOR", "% attendance of Senior Leaders at SIB", "indicators"}},
		{sendtrailv1connect.PlanServiceRecordKpiValueProcedure, officerFile, []string{"kpi", "record", ownPlan, "No. of complaints", "Apr-24", "7"}, exitOK,
			[]string{`"No. of complaints" Apr-24: recorded 7`}},
		{sendtrailv1connect.PlanServiceCorrectKpiValueProcedure, officerFile, []string{"kpi", "correct", ownPlan, "No. of complaints", "Apr-24", "6", "--reason", "Two complaints were one case"}, exitOK,
			[]string{"corrected to 6"}},
		{sendtrailv1connect.PlanServiceGetActionHistoryProcedure, officerFile, []string{"history", ownPlan, "3.4"}, exitOK,
			[]string{"rag_changed", "Recruitment delayed", "deadline_moved", "capacity: Restructure delayed recruitment", "2024-03-14 00:00Z",
				"leads_reassigned", "Commissioning moved to the ICB", "progress_recorded", "impact_recorded", "Mary Diffey (editor)"}},
		{sendtrailv1connect.PlanServiceListEventsProcedure, officerFile, []string{"events", "list", ownPlan, "--type", "deadline_moved,leads_reassigned", "--actor", "mary.diffey@bcpcouncil.gov.uk"}, exitOK,
			[]string{"deadline_moved", "leads_reassigned", "2 events"}},
		{sendtrailv1connect.PlanServiceListEventsProcedure, officerFile, []string{"events", "list", ownPlan, "--page-size", "10"}, exitOK,
			[]string{"10 events", "more: --page-token "}},
		{sendtrailv1connect.TokenServiceListTokensProcedure, admin, []string{"token", "list", "--plan", ownPlan}, exitOK,
			[]string{"mary.diffey@bcpcouncil.gov.uk", "Mary Diffey", "editor", "active", "1 tokens"}},
		// An editor manages no tokens.
		{sendtrailv1connect.TokenServiceListTokensProcedure, officerFile, []string{"token", "list", "--plan", ownPlan}, exitRefused,
			[]string{"permission_denied", "missing permission tokens.manage"}},
		{sendtrailv1connect.TokenServiceRevokeTokenProcedure, admin, []string{"token", "revoke", "--plan", ownPlan, "--token-to-revoke", officerFile, "--reason", "Left the service"}, exitOK,
			[]string{"revoked (1 event"}},
		{sendtrailv1connect.PlanServiceGetPlanProcedure, officerFile, []string{"plan", "show", ownPlan}, exitRefused,
			[]string{"unauthenticated", "revoked"}},
		{sendtrailv1connect.TokenServiceIssueTokenProcedure, admin, []string{"token", "issue", "--plan", ownPlan, "--role", "lead", "--name", "Jeanette Yorke", "--lead-name", "Jeanette Yorke"}, exitOK,
			[]string{"st_"}},
	}
	covered := map[string]bool{}
	for i, st := range steps {
		args := append([]string(nil), st.args...)
		for j := range args {
			args[j] = strings.ReplaceAll(args[j], "%V", version)
		}
		args = append(args, "--token-file", st.token)
		code, out, errOut := runCLI(t, args...)
		name := "sendtrail " + strings.Join(args, " ")
		if code != st.code {
			t.Fatalf("step %d: %s: exit %d, want %d\n%s%s", i, name, code, st.code, out, errOut)
		}
		where := out
		if st.code != exitOK {
			where = errOut
		}
		for _, w := range st.want {
			if !strings.Contains(where, w) {
				t.Errorf("step %d: %s: output does not show %q:\n%s", i, name, w, where)
			}
		}
		if st.procedure == sendtrailv1connect.PlanServiceGetActionProcedure {
			m := regexp.MustCompile(`(?m)^Version\s+(\d+)$`).FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("action show prints no version:\n%s", out)
			}
			version = m[1]
		}
		if st.code == exitOK {
			covered[st.procedure] = true
		}
	}
	// Every RPC of the services a plan officer uses has a subcommand.
	for _, svc := range []string{sendtrailv1connect.PlanServiceName, sendtrailv1connect.TokenServiceName} {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(svc))
		if err != nil {
			t.Fatal(err)
		}
		ms := d.(protoreflect.ServiceDescriptor).Methods()
		for i := 0; i < ms.Len(); i++ {
			if p := "/" + svc + "/" + string(ms.Get(i).Name()); !covered[p] {
				t.Errorf("no CLI step succeeded in calling %s: add a subcommand for it", p)
			}
		}
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestCLIJSONAndEnvironment(t *testing.T) {
	s := startServer(t, t.TempDir(), true)
	t.Setenv("SENDTRAIL_SERVER", s.URL())
	t.Setenv("SENDTRAIL_TOKEN", s.token)

	code, out, errOut := runCLI(t, "action", "show", ownPlan, "3.4", "--json")
	if code != exitOK {
		t.Fatalf("action show --json: %d %s", code, errOut)
	}
	var a struct {
		Action struct {
			Ref     string `json:"ref"`
			Version string `json:"version"`
		} `json:"action"`
	}
	if err := json.Unmarshal([]byte(out), &a); err != nil || a.Action.Ref != "3.4" || a.Action.Version == "" {
		t.Fatalf("action show --json: %v %q", err, out)
	}
	code, out, _ = runCLI(t, "rag", "set", ownPlan, "3.4", "P", "--json")
	var r struct {
		Result struct{ Sequence, Version string } `json:"result"`
	}
	if code != exitOK || json.Unmarshal([]byte(out), &r) != nil || r.Result.Sequence == "" {
		t.Fatalf("rag set --json: %d %q", code, out)
	}
	code, out, _ = runCLI(t, "events", "list", ownPlan, "--all", "--json", "--min-sequence", r.Result.Sequence)
	var evs struct {
		Events []struct{ Type string } `json:"events"`
	}
	if code != exitOK || json.Unmarshal([]byte(out), &evs) != nil || len(evs.Events) < 380 || evs.Events[len(evs.Events)-1].Type != "rag_changed" {
		t.Fatalf("events list --all --json: %d, %d events", code, len(evs.Events))
	}
	code, out, errOut = runCLI(t, "token", "issue", "--plan", ownPlan, "--role", "viewer", "--name", "Board", "--json")
	var issued struct {
		BearerToken string `json:"bearerToken"`
		Token       struct{ Principal, Role string }
	}
	if code != exitOK || json.Unmarshal([]byte(out), &issued) != nil || !strings.HasPrefix(issued.BearerToken, "st_") || issued.Token.Principal != "board" {
		t.Fatalf("token issue --json: %d %q %s", code, out, errOut)
	}
	// Without --out the token alone is on standard output, for a redirect.
	code, out, errOut = runCLI(t, "token", "issue", "--plan", ownPlan, "--role", "inspector", "--name", "Ofsted inspector", "--expires", "2099-12-31")
	if code != exitOK || !regexp.MustCompile(`^st_[0-9a-f]{16}_\S{40,}\n$`).MatchString(out) || !strings.Contains(errOut, "expires 2100-01-01 00:00Z") {
		t.Fatalf("token issue: %d %q %q", code, out, errOut)
	}
}

func TestCLIExitCodes(t *testing.T) {
	s := startServer(t, t.TempDir(), true)
	t.Setenv("SENDTRAIL_SERVER", s.URL())
	t.Setenv("SENDTRAIL_TOKEN", "")
	admin := writeToken(t, s.token)
	viewer := writeToken(t, s.issue(ownPlan, "viewer", "Board", ""))

	// A closed port: nothing listens there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	ln.Close()

	for _, c := range []struct {
		name string
		args []string
		code int
		says string
	}{
		{"no command", nil, exitUsage, "Usage: sendtrail"},
		{"unknown command", []string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{"no verb", []string{"rag", "--token-file", admin}, exitUsage, "rag: which one? set"},
		{"unknown verb", []string{"rag", "paint"}, exitUsage, `unknown verb "paint"`},
		{"missing argument", []string{"rag", "set", ownPlan, "3.4", "--token-file", admin}, exitUsage, "want PLAN REF CODE"},
		{"unknown flag", []string{"history", ownPlan, "3.4", "--colour", "--token-file", admin}, exitUsage, "flag provided but not defined: -colour"},
		{"bad version", []string{"rag", "set", ownPlan, "3.4", "A", "--expected-version", "latest", "--token-file", admin}, exitUsage, "want a version number"},
		{"missing required flag", []string{"deadline", "move", ownPlan, "3.4", "--token-file", admin}, exitUsage, "--to YYYY-MM-DD is required"},
		{"no token", []string{"plan", "show", ownPlan, "--token-file", filepath.Join(t.TempDir(), "none")}, exitUsage, "--token-file"},
		{"bad server url", []string{"plan", "show", ownPlan, "--server", "127.0.0.1:8080", "--token-file", admin}, exitUsage, "want an http:// or https:// URL"},
		{"refused: viewer changes a RAG", []string{"rag", "set", ownPlan, "3.4", "R", "--token-file", viewer}, exitRefused, "permission_denied: missing permission plan.edit"},
		{"refused: unknown action", []string{"action", "show", ownPlan, "9.99", "--token-file", admin}, exitRefused, "not_found"},
		{"refused: bad token", []string{"plan", "show", ownPlan, "--token-file", writeToken(t, "st_0123456789abcdef_nopenopenopenopenopenope")}, exitRefused, "unauthenticated"},
		{"fault: server down", []string{"plan", "show", ownPlan, "--server", down, "--token-file", admin}, exitFault, "cannot reach " + down},
		{"help", []string{"help"}, exitOK, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, c.args...)
			if code != c.code || !strings.Contains(out+errOut, c.says) {
				t.Errorf("sendtrail %s: exit %d, want %d saying %q\n%s%s", strings.Join(c.args, " "), code, c.code, c.says, out, errOut)
			}
		})
	}
}

// TestEveryCommandHasHelpWithAnExample: --help on every subcommand and on
// every verb prints the usage with an example and exits 0.
func TestEveryCommandHasHelpWithAnExample(t *testing.T) {
	names := make([]string, 0, len(subcommands))
	for n := range subcommands {
		names = append(names, n)
	}
	sort.Strings(names)
	verbRE := regexp.MustCompile(`(?m)^  ([a-z]+)\s{2,}`)
	for _, n := range names {
		code, out, errOut := runCLI(t, n, "--help")
		help := out + errOut
		if code != exitOK || !strings.Contains(help, "Usage: sendtrail "+n) || !strings.Contains(help, "sendtrail "+n) || !strings.Contains(help, "Example") {
			t.Errorf("sendtrail %s --help: exit %d\n%s", n, code, help)
			continue
		}
		if !strings.Contains(help, "Verbs:") {
			continue
		}
		verbs := verbRE.FindAllStringSubmatch(help[strings.Index(help, "Verbs:"):strings.Index(help, "Examples:")], -1)
		if len(verbs) == 0 {
			t.Errorf("sendtrail %s --help lists no verbs:\n%s", n, help)
		}
		for _, v := range verbs {
			code, out, errOut := runCLI(t, n, v[1], "--help")
			help := out + errOut
			if code != exitOK || !strings.Contains(help, "Usage: sendtrail "+n+" "+v[1]) || !strings.Contains(help, "Example:\n  sendtrail "+n+" "+v[1]) {
				t.Errorf("sendtrail %s %s --help: exit %d\n%s", n, v[1], code, help)
			}
		}
	}
}
