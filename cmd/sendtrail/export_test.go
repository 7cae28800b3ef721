package main

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/sendtrail/sendtrail/api"
	"github.com/sendtrail/sendtrail/commands"
	"github.com/sendtrail/sendtrail/domain"
	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
	"github.com/sendtrail/sendtrail/gen/sendtrail/v1/sendtrailv1connect"
)

// issueToken records a token for plan with role and writes it to a file
// for --token-file.
func issueToken(t *testing.T, s *testServer, plan string, role domain.Role) string {
	t.Helper()
	tok, id, hash, err := api.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Commands.Execute(context.Background(), commands.TokenTarget(plan, id), domain.IssueToken{
		TokenID: id, Principal: "u-" + string(role), Name: "Test " + string(role), Role: string(role), Plan: plan, Hash: hash,
	}, commands.Meta{Actor: systemActor})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DB.WaitFor(context.Background(), res.Sequence); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), string(role)+".token")
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func sendtrail(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func zipFile(t *testing.T, path, suffix string) []byte {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/"+suffix) {
			rc, _ := f.Open()
			defer rc.Close()
			b, _ := io.ReadAll(rc)
			return b
		}
	}
	t.Fatalf("%s has no %s", path, suffix)
	return nil
}

// TestExportThenVerifyTheDemoPlan runs the CLI end to end on the demo plan
// with a scripted history: the inspector exports, the export is recorded,
// verify passes with the published key and fails on a tampered copy; as-of
// exports are reproducible; a later export proves it extends an earlier
// checkpoint; roles without evidence.export are refused.
func TestExportThenVerifyTheDemoPlan(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir, true)
	ctx := context.Background()
	if !strings.Contains(s.out.String(), "generated the evidence signing key") {
		t.Errorf("first start did not say it generated a key: %s", s.out.String())
	}
	if st, err := os.Stat(filepath.Join(dir, "signing-key.pem")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("signing key: %v %v", st, err)
	}
	last := scriptedChanges(t, s.admin())
	if err := s.DB.WaitFor(ctx, last); err != nil {
		t.Fatal(err)
	}

	// The key the plan owner publishes.
	code, keyPEM, errs := sendtrail(t, "key", "show", "--data", dir, "--pem")
	if code != 0 || !strings.HasPrefix(keyPEM, "-----BEGIN PUBLIC KEY-----") {
		t.Fatalf("key show: %d %s %s", code, keyPEM, errs)
	}
	keyFile := filepath.Join(t.TempDir(), "published.pem")
	os.WriteFile(keyFile, []byte(keyPEM), 0o644)
	code, shown, _ := sendtrail(t, "key", "show", "--data", dir)
	if code != 0 || !strings.Contains(shown, s.SigningKey.Fingerprint()) || !strings.Contains(shown, "sendtrail+") {
		t.Fatalf("key show: %s", shown)
	}

	inspector := issueToken(t, s, "bcp-2023-26", domain.RoleInspector) // an event of the plan too
	time.Sleep(10 * time.Millisecond)
	cut := time.Now().UTC().Format(time.RFC3339Nano)
	time.Sleep(10 * time.Millisecond)
	out := t.TempDir()
	bundle := filepath.Join(out, "bcp.zip")
	code, stdout, errs := sendtrail(t, "export", "--plan", "bcp-2023-26", "--out", bundle, "--server", s.URL(), "--token-file", inspector)
	if code != 0 {
		t.Fatalf("export exited %d: %s %s", code, stdout, errs)
	}
	t.Log(stdout)
	code, verdict, errs := sendtrail(t, "verify", bundle, "--key", keyFile)
	if code != 0 || !strings.HasPrefix(verdict, "VALID: bcp-2023-26") || !strings.Contains(verdict, "signed by the key you gave") {
		t.Fatalf("verify exited %d: %s %s", code, verdict, errs)
	}
	t.Log(verdict)
	code, verdict, _ = sendtrail(t, "verify", bundle)
	if code != 0 || !strings.Contains(verdict, "signature valid for key in bundle; pass --key to pin the plan owner's published key") {
		t.Fatalf("verify without --key: %s", verdict)
	}

	// The export is an event on the plan: who, as of, tree size, root.
	ev, err := s.admin().ListEvents(ctx, connect.NewRequest(&pb.ListEventsRequest{Plan: "bcp-2023-26", Types: []string{"evidence_exported"}, MinSequence: s.lastSequence()}))
	if err != nil {
		t.Fatal(err)
	}
	cp := string(zipFile(t, bundle, "data/checkpoint.txt"))
	if n := len(ev.Msg.GetEvents()); n != 1 {
		t.Fatalf("%d evidence_exported events, want 1", n)
	}
	e := ev.Msg.GetEvents()[0]
	if e.GetActor().GetRole() != "inspector" || !strings.Contains(cp, strings.Fields(e.GetAfter())[4]) {
		t.Errorf("export event: actor %v, after %q; checkpoint %q", e.GetActor(), e.GetAfter(), cp)
	}

	// A changed byte, and verify names it.
	b := readAllFile(t, bundle)
	tampered := filepath.Join(out, "tampered.zip")
	i := bytes.Index(b, []byte("report.html")) + 300
	b[i] ^= 0x20
	os.WriteFile(tampered, b, 0o600)
	code, _, errs = sendtrail(t, "verify", tampered, "--key", keyFile)
	if code != exitFailure || !strings.Contains(errs, "INVALID: data/report.html") {
		t.Fatalf("verify of a tampered bundle exited %d: %s", code, errs)
	}

	// As of a moment: reproducible, although an export was recorded since.
	a1, a2 := filepath.Join(out, "a1.zip"), filepath.Join(out, "a2.zip")
	for _, p := range []string{a1, a2} {
		if code, o, e := sendtrail(t, "export", "--plan", "bcp-2023-26", "--as-of", cut, "--out", p, "--server", s.URL(), "--token-file", inspector); code != 0 {
			t.Fatalf("export --as-of: %s %s", o, e)
		}
	}
	for _, f := range []string{"data/events.jsonl", "data/checkpoint.txt", "manifest-sha256.txt"} {
		if !bytes.Equal(zipFile(t, a1, f), zipFile(t, a2, f)) {
			t.Errorf("two exports as of %s differ in %s", cut, f)
		}
	}
	if !bytes.Equal(zipFile(t, a1, "data/checkpoint.txt"), zipFile(t, bundle, "data/checkpoint.txt")) {
		t.Errorf("the as-of export differs from the one exported at that time")
	}

	// A later export proves it extends the checkpoint the inspector kept.
	kept := filepath.Join(out, "kept-checkpoint.txt")
	os.WriteFile(kept, zipFile(t, bundle, "data/checkpoint.txt"), 0o600)
	if _, err := s.admin().RecordProgress(ctx, connect.NewRequest(&pb.RecordProgressRequest{Plan: "bcp-2023-26", Ref: "3.4", Text: "Posts filled"})); err != nil {
		t.Fatal(err)
	}
	later := filepath.Join(out, "later.zip")
	if code, o, e := sendtrail(t, "export", "--plan", "bcp-2023-26", "--previous", kept, "--out", later, "--server", s.URL(), "--token-file", inspector); code != 0 {
		t.Fatalf("export --previous: %s %s", o, e)
	}
	code, verdict, errs = sendtrail(t, "verify", later, "--key", keyFile, "--previous", kept)
	if code != 0 || !strings.Contains(verdict, "consistency proof checked") || !strings.Contains(verdict, "extends your checkpoint") || !strings.Contains(verdict, "earlier export(s) in the log agree") {
		t.Fatalf("verify --previous: %d %s %s", code, verdict, errs)
	}

	// Only admin, editor and inspector may export.
	viewer := issueToken(t, s, "bcp-2023-26", domain.RoleViewer)
	code, _, errs = sendtrail(t, "export", "--plan", "bcp-2023-26", "--out", filepath.Join(out, "v.zip"), "--server", s.URL(), "--token-file", viewer)
	if code != exitRefused || !strings.Contains(errs, "permission_denied") || !strings.Contains(errs, "evidence.export") {
		t.Fatalf("viewer export: %d %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(out, "v.zip")); err == nil {
		t.Fatal("a refused export left a file")
	}
	for _, role := range []domain.Role{domain.RoleEditor, domain.RoleAdmin} {
		tok := issueToken(t, s, "bcp-2023-26", role)
		if code, o, e := sendtrail(t, "export", "--plan", "bcp-2023-26", "--out", filepath.Join(out, string(role)+".zip"), "--server", s.URL(), "--token-file", tok); code != 0 {
			t.Fatalf("%s export: %s %s", role, o, e)
		}
	}
	code, _, errs = sendtrail(t, "export", "--plan", "bcp-2023-26", "--as-of", "2001-01-01", "--server", s.URL(), "--token-file", inspector)
	if code != exitRefused || !strings.Contains(errs, "no events recorded by") {
		t.Fatalf("export as of 2001: %d %s", code, errs)
	}
}

func readAllFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCheckpointSurvivesRebuild: the read model's signed checkpoints are
// the same after a rebuild (deterministic signatures, no times), and the
// API serves them and the key.
func TestCheckpointSurvivesRebuild(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir, true)
	last := scriptedChanges(t, s.admin())
	audit := sendtrailv1connect.NewAuditServiceClient(http.DefaultClient, s.URL(), connect.WithInterceptors(bearer(s.token)))
	ctx := context.Background()
	before, err := audit.GetCheckpoint(ctx, connect.NewRequest(&pb.GetCheckpointRequest{Plan: "bcp-2023-26", MinSequence: last}))
	if err != nil {
		t.Fatal(err)
	}
	key, err := audit.GetPublicKey(ctx, connect.NewRequest(&pb.GetPublicKeyRequest{Plan: "bcp-2023-26"}))
	if err != nil {
		t.Fatal(err)
	}
	if key.Msg.GetFingerprint() != s.SigningKey.Fingerprint() || before.Msg.GetKeyFingerprint() != key.Msg.GetFingerprint() {
		t.Fatalf("key %s, checkpoint signed by %s, server key %s", key.Msg.GetFingerprint(), before.Msg.GetKeyFingerprint(), s.SigningKey.Fingerprint())
	}
	s.Close()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(filepath.Join(dir, "sendtrail.db") + suffix)
	}
	if code, _, errs := sendtrail(t, "rebuild", "--data", dir); code != 0 {
		t.Fatalf("rebuild: %s", errs)
	}
	s2 := startServer(t, dir, true)
	audit = sendtrailv1connect.NewAuditServiceClient(http.DefaultClient, s2.URL(), connect.WithInterceptors(bearer(s2.token)))
	after, err := audit.GetCheckpoint(ctx, connect.NewRequest(&pb.GetCheckpointRequest{Plan: "bcp-2023-26"}))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before.Msg.GetCheckpoint(), after.Msg.GetCheckpoint()) {
		t.Fatalf("checkpoint before rebuild:\n%s\nafter:\n%s", before.Msg.GetCheckpoint(), after.Msg.GetCheckpoint())
	}
}
