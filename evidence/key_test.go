package evidence

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeyIsGeneratedOnceWithMode0600(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", DefaultKeyFile)
	k, created, err := LoadOrCreateKey(path)
	if err != nil || !created {
		t.Fatalf("first start: %v %v", created, err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v (%v), want 0600", st.Mode().Perm(), err)
	}
	k2, created, err := LoadOrCreateKey(path)
	if err != nil || created || !k2.Equal(k.Public) {
		t.Fatalf("second start: created %v, same key %v, %v", created, k2 != nil && k2.Equal(k.Public), err)
	}
	os.Chmod(path, 0o644)
	if _, err := LoadKey(path); err == nil || !strings.Contains(err.Error(), "readable by others") {
		t.Fatalf("a key readable by others was loaded: %v", err)
	}
}

func TestPublicKeyForms(t *testing.T) {
	k := testKey
	for name, form := range map[string][]byte{
		"pem":         k.PEM(),
		"vkey":        []byte(k.VerifierKey() + "\n"),
		"vkey, noted": []byte("# the plan owner's key\n" + k.VerifierKey()),
	} {
		p, err := ParsePublic(form)
		if err != nil || !p.Equal(k.Public) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := ParsePublic([]byte("not a key")); err == nil {
		t.Error("garbage parsed as a key")
	}
	if len(k.Fingerprint()) != 64 || !strings.HasPrefix(k.VerifierKey(), KeyName+"+") {
		t.Errorf("fingerprint %q, verifier key %q", k.Fingerprint(), k.VerifierKey())
	}
}

// TestOpenSSLKeyIsAccepted: a key made with openssl genpkey can be supplied
// with --signing-key.
func TestOpenSSLKeyIsAccepted(t *testing.T) {
	needTool(t, "openssl")
	path := filepath.Join(t.TempDir(), "k.pem")
	if out, err := exec.Command("openssl", "genpkey", "-algorithm", "ed25519", "-out", path).CombinedOutput(); err != nil {
		t.Fatalf("openssl genpkey: %v %s", err, out)
	}
	os.Chmod(path, 0o600)
	k, err := LoadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	cp := Checkpoint{Origin: Origin("p"), Size: 3, Root: make([]byte, 32)}
	signed, err := cp.Sign(k)
	if err != nil {
		t.Fatal(err)
	}
	got, err := OpenCheckpoint(signed, k.Public)
	if err != nil || got.Size != 3 || got.Origin != "sendtrail/p" {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := OpenCheckpoint(signed, testKey.Public); err == nil || !strings.Contains(err.Error(), "not signed by key") {
		t.Fatalf("checkpoint opened with another key: %v", err)
	}
}

func TestCheckpointFormat(t *testing.T) {
	cp := Checkpoint{Origin: "sendtrail/bcp-2023-26", Size: 213, Root: []byte("0123456789abcdef0123456789abcdef")}
	signed, err := cp.Sign(testKey)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(signed), "\n")
	if lines[0] != "sendtrail/bcp-2023-26" || lines[1] != "213" || lines[2] != cp.RootBase64() || lines[3] != "" || !strings.HasPrefix(lines[4], "— sendtrail ") {
		t.Fatalf("not a C2SP checkpoint:\n%s", signed)
	}
	again, _ := cp.Sign(testKey)
	if string(again) != string(signed) {
		t.Fatal("signing the same checkpoint twice gave different bytes")
	}
	tampered := strings.Replace(string(signed), "\n213\n", "\n212\n", 1)
	if _, err := OpenCheckpoint([]byte(tampered), testKey.Public); err == nil {
		t.Fatal("a changed checkpoint verified")
	}
}

func TestCSVSafe(t *testing.T) {
	for in, want := range map[string]string{
		"=1+1":                    "'=1+1",
		"+cmd|' /C calc'!A0":      "'+cmd|' /C calc'!A0",
		"-2+3":                    "'-2+3",
		"@SUM(A1)":                "'@SUM(A1)",
		"\t=1":                    "'\t=1",
		"\r=1":                    "'\n=1",
		"＝1+1":                    "'＝1+1",
		"-3":                      "-3",
		"+4.5%":                   "+4.5%",
		"41.6%":                   "41.6%",
		"Recruitment delayed":     "Recruitment delayed",
		"line one\r\nline two":    "line one\nline two",
		"a = b":                   "a = b",
		"":                        "",
		"'quoted":                 "'quoted",
		"–2 (en dash, not minus)": "–2 (en dash, not minus)",
	} {
		if got := csvSafe(in); got != want {
			t.Errorf("csvSafe(%q) = %q, want %q", in, got, want)
		}
	}
}
