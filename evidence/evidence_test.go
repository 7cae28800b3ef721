package evidence

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sendtrail/sendtrail/demo"
	"github.com/xuri/excelize/v2"
)

func TestExportThenVerify(t *testing.T) {
	h := newHistory(t)
	scripted(h)
	dir := t.TempDir()
	db := readModel(t, dir, testKey, h.events, 97)
	path := filepath.Join(dir, "bundle.zip")
	p := exportTo(t, db, testKey, Request{Plan: demo.Slug}, path)
	if p.Size() != uint64(len(h.events)) {
		t.Fatalf("bundle has %d events, the history %d", p.Size(), len(h.events))
	}
	v, err := Verify(context.Background(), path, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(v)
	if !strings.Contains(v.String(), "signature valid for key in bundle") {
		t.Errorf("verdict without --key does not say the key is the bundle's own: %s", v)
	}
	v, err = Verify(context.Background(), path, VerifyOptions{Key: testKey.Public})
	if err != nil {
		t.Fatal(err)
	}
	if !v.KeyPinned || !strings.Contains(v.String(), "signed by the key you gave") {
		t.Errorf("verdict with --key: %s", v)
	}
}

func TestStoredTreeMatchesAnyBatching(t *testing.T) {
	h := newHistory(t)
	scripted(h)
	var dumps []string
	for _, batch := range []int{1, 7, 1000} {
		db := readModel(t, t.TempDir(), testKey, h.events, batch)
		var b bytes.Buffer
		if err := db.Dump(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		// Only this extension's table: the other tables are others' to test.
		dump := b.String()
		i := strings.Index(dump, "\n## evidence_trees ")
		if i < 0 {
			t.Fatal("dump has no evidence_trees table")
		}
		j := strings.Index(dump[i+1:], "\n## ")
		if j < 0 {
			j = len(dump) - i - 1
		}
		dumps = append(dumps, dump[i:i+1+j])
		head, err := LatestHead(context.Background(), db.Reader(), demo.Slug, testKey)
		if err != nil {
			t.Fatal(err)
		}
		tr := newTree()
		for _, e := range h.events {
			tr.add(e.Raw)
		}
		if !bytes.Equal(head.Root, tr.root()) || head.Size != uint64(len(h.events)) {
			t.Fatalf("batch %d: stored head %d %x, recomputed %d %x", batch, head.Size, head.Root, len(h.events), tr.root())
		}
		if _, err := OpenCheckpoint(head.Checkpoint, testKey.Public); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i < len(dumps); i++ {
		if diff := cmp.Diff(dumps[0], dumps[i]); diff != "" {
			t.Fatalf("read models built in different batches differ:\n%s", diff[:min(len(diff), 3000)])
		}
	}
}

func zipNames(t *testing.T, path string) []string {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var out []string
	for _, f := range zr.File {
		out = append(out, f.Name)
	}
	return out
}

func readZip(t *testing.T, path, suffix string) []byte {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/"+suffix) {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
	t.Fatalf("%s has no %s", path, suffix)
	return nil
}

// TestLongHistoriesAreCutInTheWorkbookOnly: past the sheet limit the
// workbook says where the rest is; the CSV has every row; verify checks both.
func TestLongHistoriesAreCutInTheWorkbookOnly(t *testing.T) {
	defer func(n int64) { xlsxMaxRows = n }(xlsxMaxRows)
	xlsxMaxRows = 2
	h := newHistory(t)
	scripted(h)
	dir := t.TempDir()
	db := readModel(t, dir, testKey, h.events, 100)
	path := filepath.Join(dir, "cut.zip")
	exportTo(t, db, testKey, Request{Plan: demo.Slug}, path)
	if _, err := Verify(context.Background(), path, VerifyOptions{Key: testKey.Public}); err != nil {
		t.Fatal(err)
	}
	rows := csvRows(t, readZip(t, path, "data/deadline-changes.csv"))
	if len(rows) != 5 { // header and 4 moves
		t.Fatalf("deadline-changes.csv has %d rows", len(rows))
	}
	x, err := excelize.OpenReader(bytes.NewReader(readZip(t, path, "data/evidence.xlsx")))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	v, _ := x.GetCellValue("Deadline changes", "A4")
	if !strings.Contains(v, "2 more rows are in deadline-changes.csv") {
		t.Fatalf("the cut sheet's last row says %q", v)
	}
}
