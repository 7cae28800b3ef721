package evidence

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/sendtrail/sendtrail/demo"
)

// zfile is one file of a bundle, by its path inside the bag.
type zfile struct {
	name string
	data []byte
}

type bundleFiles struct {
	root  string
	files []zfile
}

func readBundle(t *testing.T, path string) *bundleFiles {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	b := &bundleFiles{}
	for _, f := range zr.File {
		root, rel, _ := strings.Cut(f.Name, "/")
		b.root = root
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		b.files = append(b.files, zfile{rel, data})
	}
	return b
}

func (b *bundleFiles) get(name string) []byte {
	for _, f := range b.files {
		if f.name == name {
			return f.data
		}
	}
	return nil
}

func (b *bundleFiles) set(name string, data []byte) {
	for i, f := range b.files {
		if f.name == name {
			b.files[i].data = data
			return
		}
	}
	b.files = append(b.files, zfile{name, data})
}

func (b *bundleFiles) drop(name string) {
	for i, f := range b.files {
		if f.name == name {
			b.files = append(b.files[:i], b.files[i+1:]...)
			return
		}
	}
}

func (b *bundleFiles) write(t *testing.T, path string) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range b.files {
		w, err := zw.Create(b.root + "/" + f.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(f.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// rehash recomputes what anyone can without the key: both manifests and
// the Payload-Oxum.
func (b *bundleFiles) rehash() {
	var payload, tags []string
	var oxBytes int64
	n := 0
	sum := func(name string) string {
		s := sha256.Sum256(b.get(name))
		return hex.EncodeToString(s[:]) + "  " + name + "\n"
	}
	for _, f := range b.files {
		if strings.HasPrefix(f.name, "data/") {
			payload = append(payload, sum(f.name))
			oxBytes += int64(len(f.data))
			n++
		}
	}
	sort.Strings(payload)
	b.set(manifestFile, []byte(strings.Join(payload, "")))
	var info []string
	for _, line := range strings.Split(strings.TrimSuffix(string(b.get(bagInfoFile)), "\n"), "\n") {
		if strings.HasPrefix(line, "Payload-Oxum:") {
			line = fmt.Sprintf("Payload-Oxum: %d.%d", oxBytes, n)
		}
		info = append(info, line)
	}
	b.set(bagInfoFile, []byte(strings.Join(info, "\n")+"\n"))
	for _, name := range []string{bagInfoFile, bagitFile, manifestFile} {
		tags = append(tags, sum(name))
	}
	sort.Strings(tags)
	b.set(tagManifestFile, []byte(strings.Join(tags, "")))
}

// forge is an attacker with a key of their own: they rehash, put their key
// in the bundle, sign the tag manifest and re-sign the checkpoint (same
// tree head unless newRoot).
func (b *bundleFiles) forge(t *testing.T, k *Key, newRoot bool) {
	t.Helper()
	cp, err := UnverifiedCheckpoint(b.get(checkpointFile))
	if err != nil {
		t.Fatal(err)
	}
	if newRoot {
		tr := newTree()
		for _, line := range strings.Split(strings.TrimSuffix(string(b.get(eventsFile)), "\n"), "\n") {
			var l struct{ Raw string }
			json.Unmarshal([]byte(line), &l)
			raw, _ := base64.StdEncoding.DecodeString(l.Raw)
			tr.add(raw)
		}
		cp.Size, cp.Root = tr.size(), tr.root()
		info := string(b.get(bagInfoFile))
		var out []string
		for _, line := range strings.Split(strings.TrimSuffix(info, "\n"), "\n") {
			switch {
			case strings.HasPrefix(line, "Sendtrail-Tree-Size:"):
				line = fmt.Sprintf("Sendtrail-Tree-Size: %d", cp.Size)
			case strings.HasPrefix(line, "Sendtrail-Root-Hash:"):
				line = "Sendtrail-Root-Hash: " + cp.RootBase64()
			}
			out = append(out, line)
		}
		b.set(bagInfoFile, []byte(strings.Join(out, "\n")+"\n"))
		html := b.get(reportHTMLFile)
		b.set(reportHTMLFile, append(html, []byte(hex.EncodeToString(cp.Root))...))
	}
	signed, err := cp.Sign(k)
	if err != nil {
		t.Fatal(err)
	}
	b.set(checkpointFile, signed)
	b.set(publicKeyFile, k.PEM())
	b.set(verifierKeyFile, []byte(k.VerifierKey()+"\n"))
	b.rehash()
	b.set(signatureFile, k.Sign(b.get(tagManifestFile)))
}

// eventLines edits events.jsonl line by line.
func (b *bundleFiles) eventLines(fn func(lines []string) []string) {
	lines := strings.Split(strings.TrimSuffix(string(b.get(eventsFile)), "\n"), "\n")
	lines = fn(lines)
	b.set(eventsFile, []byte(strings.Join(lines, "\n")+"\n"))
}

// renumber sets each line's leaf to its position, as a careful attacker would.
func renumber(lines []string) []string {
	for i, l := range lines {
		var m map[string]json.RawMessage
		json.Unmarshal([]byte(l), &m)
		old := string(m["leaf"])
		lines[i] = strings.Replace(l, `"leaf":`+old+`,`, fmt.Sprintf(`"leaf":%d,`, i), 1)
	}
	return lines
}

// editCSVCell changes one cell of a CSV in the bundle.
func (b *bundleFiles) editCSVCell(t *testing.T, name string, row, col int, value string) {
	t.Helper()
	data := b.get(name)
	r, err := newCSVReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	r.ReuseRecord = false
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	rows[row][col] = value
	var out bytes.Buffer
	out.WriteString(bom)
	w := newCSVRawWriter(&out)
	w.WriteAll(rows)
	b.set(name, out.Bytes())
}

func newCSVRawWriter(w io.Writer) *csv.Writer {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	return cw
}

var (
	validOnce   sync.Once
	validPath   string
	validDir    string
	validEvents int
)

// validBundle exports the scripted demo history once for all cases.
func validBundle(t *testing.T) string {
	validOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sendtrail-tamper-")
		if err != nil {
			t.Fatal(err)
		}
		validDir = dir
		h := newHistory(t)
		scripted(h)
		validEvents = len(h.events)
		db := readModel(t, dir, testKey, h.events, 50)
		validPath = filepath.Join(dir, "valid.zip")
		exportTo(t, db, testKey, Request{Plan: demo.Slug}, validPath)
	})
	return validPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if validDir != "" {
		os.RemoveAll(validDir)
	}
	os.Exit(code)
}

// TestTamperingIsCaught: each case makes a modified copy of a valid
// bundle, as an attacker with (or without) a key of their own could, and
// verify must fail naming what is wrong.
func TestTamperingIsCaught(t *testing.T) {
	valid := validBundle(t)
	attacker, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	type tc struct {
		name   string
		tamper func(t *testing.T, b *bundleFiles, path string)
		pinned bool     // verify with --key (the real key)
		want   []string // the error mentions each
	}
	cases := []tc{
		// Whole-file damage.
		{name: "truncated bundle", tamper: func(t *testing.T, b *bundleFiles, path string) {
			data, _ := os.ReadFile(valid)
			os.WriteFile(path, data[:len(data)/2], 0o600)
		}, want: []string{"not a readable zip archive", "truncated"}},
		{name: "bundle cut before its manifests", tamper: func(t *testing.T, b *bundleFiles, path string) {
			b.drop(signatureFile)
			b.drop(tagManifestFile)
			b.write(t, path)
		}, want: []string{"tagmanifest", "missing"}},
		{name: "file removed", tamper: func(t *testing.T, b *bundleFiles, path string) {
			b.drop("data/kpi-values.csv")
			b.write(t, path)
		}, want: []string{"data/kpi-values.csv", "missing"}},
		{name: "file added", tamper: func(t *testing.T, b *bundleFiles, path string) {
			b.set("data/extra.csv", []byte("a,b\n"))
			b.write(t, path)
		}, want: []string{"data/extra.csv", "added after export"}},
		{name: "zip bytes damaged", tamper: func(t *testing.T, b *bundleFiles, path string) {
			data, _ := os.ReadFile(valid)
			i := bytes.Index(data, []byte("events.jsonl")) + 200 // inside the compressed events
			data[i] ^= 0xff
			os.WriteFile(path, data, 0o600)
		}, want: []string{"data/events.jsonl"}},

		// Removing evidence: events dropped, by attackers of growing skill.
		{name: "dropped event", tamper: func(t *testing.T, b *bundleFiles, path string) {
			b.eventLines(func(ls []string) []string { return append(ls[:200], ls[201:]...) })
			b.write(t, path)
		}, want: []string{"data/events.jsonl", "SHA-256", "changed after export"}},
		{name: "dropped event, manifests recomputed", tamper: func(t *testing.T, b *bundleFiles, path string) {
			b.eventLines(func(ls []string) []string { return append(ls[:200], ls[201:]...) })
			b.rehash()
			b.write(t, path)
		}, want: []string{"tagmanifest.sig", "does not verify"}},
		{name: "dropped event, re-signed with another key", tamper: func(t *testing.T, b *bundleFiles, path string) {
			b.eventLines(func(ls []string) []string { return append(ls[:200], ls[201:]...) })
			b.forge(t, attacker, false)
			b.write(t, path)
		}, want: []string{"line 201 is leaf 201, not 200", "dropped"}},
		{name: "dropped event, leaves renumbered, re-signed", tamper: func(t *testing.T, b *bundleFiles, path string) {
			b.eventLines(func(ls []string) []string { return renumber(append(ls[:200], ls[201:]...)) })
			b.forge(t, attacker, false)
			b.write(t, path)
		}, want: []string{"holds 395 events but the checkpoint commits to 396", "dropped"}},
		{name: "last event dropped, renumbered, re-signed", tamper: func(t *testing.T, b *bundleFiles, path string) {
			b.eventLines(func(ls []string) []string { return ls[:len(ls)-1] })
			b.forge(t, attacker, false)
			b.write(t, path)
		}, want: []string{"holds 395 events but the checkpoint commits to 396"}},

		// Reordering.
		{name: "reordered events, re-signed", tamper: func(t *testing.T, b *bundleFiles, path string) {
			b.eventLines(func(ls []string) []string {
				ls[300], ls[301] = ls[301], ls[300]
				return renumber(ls)
			})
			b.forge(t, attacker, false)
			b.write(t, path)
		}, want: []string{"leaf 301", "not in stream order", "reordered"}},
		{name: "reordered events with their sequences swapped, re-signed", tamper: func(t *testing.T, b *bundleFiles, path string) {
			b.eventLines(func(ls []string) []string {
				var a, c map[string]json.RawMessage
				json.Unmarshal([]byte(ls[300]), &a)
				json.Unmarshal([]byte(ls[301]), &c)
				sa, sc := string(a["sequence"]), string(c["sequence"])
				ls[300], ls[301] = strings.Replace(ls[301], `"sequence":`+sc, `"sequence":`+sa, 1), strings.Replace(ls[300], `"sequence":`+sa, `"sequence":`+sc, 1)
				return renumber(ls)
			})
			b.forge(t, attacker, false)
			b.write(t, path)
		}, want: []string{"Merkle root", "but the checkpoint's is", "reordered"}},

		// Changing what an event says.
		{name: "decoded field edited, re-signed", tamper: func(t *testing.T, b *bundleFiles, path string) {
			b.eventLines(func(ls []string) []string {
				ls[390] = strings.Replace(ls[390], `"name":"Pat Officer"`, `"name":"Someone Else"`, 1)
				return ls
			})
			b.forge(t, attacker, false)
			b.write(t, path)
		}, want: []string{"leaf 390", "decoded fields do not match", `"actor"`}},
		{name: "event bytes edited, re-signed", tamper: func(t *testing.T, b *bundleFiles, path string) {
			b.eventLines(func(ls []string) []string {
				ls[381] = editRawText(t, ls[381], "Recruitment delayed", "Recruitment on time")
				return ls
			})
			b.forge(t, attacker, false)
			b.write(t, path)
		}, want: []string{"Merkle root", "an event was changed"}},

		// The spreadsheets.
		{name: "edited CSV cell", tamper: func(t *testing.T, b *bundleFiles, path string) {
			b.editCSVCell(t, "data/actions.csv", 1, 9, "R")
			b.write(t, path)
		}, want: []string{"data/actions.csv", "SHA-256"}},
		{name: "edited CSV cell, re-signed", tamper: func(t *testing.T, b *bundleFiles, path string) {
			b.editCSVCell(t, "data/deadline-changes.csv", 3, 11, "Agreed at the board")
			b.forge(t, attacker, false)
			b.write(t, path)
		}, want: []string{"data/deadline-changes.csv", "row 4 (sequence 388)", `column "Reason"`, `"'=1+1"`, "edited"}},
		{name: "actions.csv RAG edited, re-signed", tamper: func(t *testing.T, b *bundleFiles, path string) {
			b.editCSVCell(t, "data/actions.csv", 1, 9, "R")
			b.forge(t, attacker, false)
			b.write(t, path)
		}, want: []string{"data/actions.csv", "row 2 (ref 1.1)", `column "RAG"`}},
		{name: "CSV row removed, re-signed", tamper: func(t *testing.T, b *bundleFiles, path string) {
			data := b.get("data/lead-changes.csv")
			i := bytes.LastIndex(data[:len(data)-2], []byte("\r\n"))
			b.set("data/lead-changes.csv", data[:i+2])
			b.forge(t, attacker, false)
			b.write(t, path)
		}, want: []string{"data/lead-changes.csv", "a row was removed"}},
		{name: "workbook cell edited, re-signed", tamper: func(t *testing.T, b *bundleFiles, path string) {
			x, err := excelize.OpenReader(bytes.NewReader(b.get(xlsxFile)))
			if err != nil {
				t.Fatal(err)
			}
			x.SetCellValue("RAG changes", "J3", "Nothing to see here")
			var out bytes.Buffer
			x.Write(&out)
			b.set(xlsxFile, out.Bytes())
			b.forge(t, attacker, false)
			b.write(t, path)
		}, want: []string{"evidence.xlsx", `sheet "RAG changes"`, "row 3", `column "Commentary"`}},
		{name: "formula put in the workbook, re-signed", tamper: func(t *testing.T, b *bundleFiles, path string) {
			x, err := excelize.OpenReader(bytes.NewReader(b.get(xlsxFile)))
			if err != nil {
				t.Fatal(err)
			}
			x.SetCellFormula("Summary", "B1", "1+1")
			var out bytes.Buffer
			x.Write(&out)
			b.set(xlsxFile, out.Bytes())
			b.forge(t, attacker, false)
			b.write(t, path)
		}, want: []string{"evidence.xlsx", "formula"}},

		// The key.
		{name: "swapped key (everything re-signed), verified with --key", pinned: true, tamper: func(t *testing.T, b *bundleFiles, path string) {
			b.forge(t, attacker, true)
			b.write(t, path)
		}, want: []string{"data/public-key.pem", "not the key you gave", attacker.Fingerprint(), testKey.Fingerprint()}},
		{name: "swapped key, rewritten log, verified with --key", pinned: true, tamper: func(t *testing.T, b *bundleFiles, path string) {
			b.eventLines(func(ls []string) []string { return renumber(append(ls[:10], ls[11:]...)) })
			b.forge(t, attacker, true)
			b.write(t, path)
		}, want: []string{"not the key you gave"}},
		{name: "checkpoint re-signed by another key only", tamper: func(t *testing.T, b *bundleFiles, path string) {
			cp, _ := UnverifiedCheckpoint(b.get(checkpointFile))
			s, _ := cp.Sign(attacker)
			b.set(checkpointFile, s)
			b.rehash()
			b.set(signatureFile, testKey.Sign(b.get(tagManifestFile))) // as if the key holder signed the bag
			b.write(t, path)
		}, want: []string{"data/checkpoint.txt", "not signed by key"}},
	}
	// A changed byte in any file of the bundle.
	for _, f := range readBundle(t, valid).files {
		name := f.name
		want := []string{name}
		switch name {
		case tagManifestFile, signatureFile:
			want = []string{"tagmanifest.sig", "does not verify"}
		case publicKeyFile:
			want = []string{"public-key"}
		}
		cases = append(cases, tc{name: "changed byte in " + name, tamper: func(t *testing.T, b *bundleFiles, path string) {
			data := append([]byte(nil), b.get(name)...)
			i := len(data) / 2
			if name == publicKeyFile {
				i = len("-----BEGIN PUBLIC KEY-----\n") + 20
			}
			data[i] ^= 0x01
			b.set(name, data)
			b.write(t, path)
		}, want: want})
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tampered.zip")
			c.tamper(t, readBundle(t, valid), path)
			opt := VerifyOptions{}
			if c.pinned {
				opt.Key = testKey.Public
			}
			v, err := Verify(context.Background(), path, opt)
			if err == nil {
				t.Fatalf("verify passed a tampered bundle: %s", v)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
			t.Logf("%v", err)
		})
	}
}

// TestRewrittenLogWithNewKeyIsCaughtOnlyByPinningOrAHeldCheckpoint states
// what a bundle cannot prove on its own: a complete rewrite re-signed with
// another key verifies without --key (and says the key is unpinned); the
// plan owner's key, or a checkpoint the inspector held, catches it.
func TestRewrittenLogWithNewKeyIsCaughtOnlyByPinningOrAHeldCheckpoint(t *testing.T) {
	valid := validBundle(t)
	attacker, _ := GenerateKey()
	held := readBundle(t, valid).get(checkpointFile)
	b := readBundle(t, valid)
	// An action's creation dropped, the leaves renumbered, the tree and
	// checkpoint recomputed and everything signed with another key. The
	// spreadsheets were left as they were: they no longer match the events.
	b.eventLines(func(ls []string) []string { return renumber(append(ls[:10], ls[11:]...)) })
	b.forge(t, attacker, true)
	path := filepath.Join(t.TempDir(), "rewritten.zip")
	b.write(t, path)
	_, err := Verify(context.Background(), path, VerifyOptions{})
	if err == nil || !strings.Contains(err.Error(), "does not match the events") {
		t.Fatalf("a rewrite that left the spreadsheets as they were: %v", err)
	}
	_, err = Verify(context.Background(), path, VerifyOptions{Previous: held})
	if err == nil || !strings.Contains(err.Error(), "--previous") {
		t.Fatalf("a checkpoint held before does not catch the rewrite: %v", err)
	}
	_, err = Verify(context.Background(), path, VerifyOptions{Key: testKey.Public})
	if err == nil || !strings.Contains(err.Error(), "not the key you gave") {
		t.Fatalf("the pinned key does not catch the rewrite: %v", err)
	}
}

// editRawText changes a string inside an event's stored bytes and updates
// the line's decoded fields to match, as a careful attacker would.
func editRawText(t *testing.T, line, from, to string) string {
	t.Helper()
	var l struct {
		Leaf     uint64 `json:"leaf"`
		Sequence uint64 `json:"sequence"`
		Raw      string `json:"raw"`
	}
	if err := json.Unmarshal([]byte(line), &l); err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(l.Raw)
	if len(from) != len(to) || !bytes.Contains(raw, []byte(from)) {
		t.Fatalf("cannot edit %q in leaf %d", from, l.Leaf)
	}
	raw = bytes.Replace(raw, []byte(from), []byte(to), 1)
	_, out, err := newDecoder().decode(l.Leaf, l.Sequence, raw)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(string(out), "\n")
}
