package evidence

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sendtrail/sendtrail/demo"
	"github.com/sendtrail/sendtrail/domain"
	"github.com/sendtrail/sendtrail/projections"
)

func asOf(t *testing.T, s string) Request {
	t.Helper()
	at, day, err := ParseAsOf(s)
	if err != nil {
		t.Fatal(err)
	}
	return Request{Plan: demo.Slug, AsOf: at, AsOfDay: day}
}

// TestAsOfIsReproducible: two exports of the same date from the same
// stream hold the same events and root, however much was recorded since,
// backdated changes and exports included; and they show the plan as it
// stood then.
func TestAsOfIsReproducible(t *testing.T) {
	h := newHistory(t)
	scripted(h)
	dir := t.TempDir()
	first := filepath.Join(dir, "first.zip")
	db := readModel(t, filepath.Join(dir, "a"), testKey, h.events, 100)
	p1 := exportTo(t, db, testKey, asOf(t, "2024-03-01"), first)
	if want := uint64(381 + 6); p1.Size() != want {
		t.Fatalf("as of 2024-03-01 the log had %d events, the bundle %d", want, p1.Size())
	}

	// Later: the export is recorded, and a change backdated to February
	// is recorded in June.
	h.at(time.Date(2024, 6, 10, 9, 0, 0, 0, time.UTC))
	h.exec(demo.Slug, domain.AggPlan, demo.Slug, domain.RecordExport{AsOf: p1.AsOf(), TreeSize: p1.Size(), RootHash: p1.RootBase64()}, officer)
	n := len(h.events)
	h.action("6.1", domain.ChangeRag{Rag: "R", Commentary: "Backdated: decided in February"})
	h.events[n].Envelope.OccurredAt = time.Date(2024, 2, 1, 10, 0, 0, 0, time.UTC)
	second := filepath.Join(dir, "second.zip")
	db2 := readModel(t, filepath.Join(dir, "b"), testKey, h.events, 33)
	p2 := exportTo(t, db2, testKey, asOf(t, "2024-03-01"), second)

	if p1.Size() != p2.Size() || !bytes.Equal(p1.Root(), p2.Root()) || !bytes.Equal(p1.Checkpoint(), p2.Checkpoint()) {
		t.Fatalf("two exports as of 2024-03-01 differ: %d %s and %d %s", p1.Size(), p1.RootBase64(), p2.Size(), p2.RootBase64())
	}
	for _, f := range []string{"data/events.jsonl", "data/checkpoint.txt", "manifest-sha256.txt"} {
		if !bytes.Equal(readZip(t, first, f), readZip(t, second, f)) {
			t.Errorf("%s differs between the two exports", f)
		}
	}
	for _, path := range []string{first, second} {
		v, err := Verify(context.Background(), path, VerifyOptions{Key: testKey.Public})
		if err != nil {
			t.Fatal(err)
		}
		if v.AsOf != "2024-03-01" {
			t.Errorf("verdict as of %q", v.AsOf)
		}
	}
	// As it stood then: 3.4 was A (it became P in April), 5.3 not yet
	// withdrawn.
	rows := csvRows(t, readZip(t, first, "data/actions.csv"))
	if r := rows["3.4"]; r[9] != "A" || r[16] != "no" {
		t.Errorf("actions.csv as of 2024-03-01: 3.4 is %q (want A)", r[9])
	}
	if r := rows["5.3"]; r[16] != "no" {
		t.Errorf("actions.csv as of 2024-03-01: 5.3 withdrawn %q (want no)", r[16])
	}
	if r := csvRows(t, readZip(t, second, "data/actions.csv")); r["3.4"][9] != "A" {
		t.Errorf("second export: 3.4 is %q", r["3.4"][9])
	}

	// The latest export includes the recorded export and the backdated
	// change, and the export event's root is checked against the log.
	latest := filepath.Join(dir, "latest.zip")
	exportTo(t, db2, testKey, Request{Plan: demo.Slug}, latest)
	v, err := Verify(context.Background(), latest, VerifyOptions{Key: testKey.Public})
	if err != nil {
		t.Fatal(err)
	}
	if v.Exports != 1 || v.Size != uint64(len(h.events)) {
		t.Errorf("latest: %d events, %d exports checked: %s", v.Size, v.Exports, v)
	}
}

// csvRows reads a bundle's CSV into rows by their first cell.
func csvRows(t *testing.T, b []byte) map[string][]string {
	t.Helper()
	r, err := newCSVReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	r.ReuseRecord = false
	all, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, row := range all {
		out[row[0]] = row
	}
	return out
}

// TestAnExportRecordedWithAnotherRootIsCaught: the log records each
// export's tree size and root; a log whose earlier events no longer give
// that root was rewritten after the export.
func TestAnExportRecordedWithAnotherRootIsCaught(t *testing.T) {
	h := newHistory(t)
	scripted(h)
	h.exec(demo.Slug, domain.AggPlan, demo.Slug, domain.RecordExport{AsOf: time.Now(), TreeSize: 100, RootHash: b64(make([]byte, 32))}, officer)
	dir := t.TempDir()
	db := readModel(t, dir, testKey, h.events, 100)
	path := filepath.Join(dir, "b.zip")
	exportTo(t, db, testKey, Request{Plan: demo.Slug}, path)
	_, err := Verify(context.Background(), path, VerifyOptions{})
	if err == nil || !strings.Contains(err.Error(), "records an export of the first 100 events") || !strings.Contains(err.Error(), "rewritten after that export") {
		t.Fatalf("got %v", err)
	}
}

// TestConsistencyWithAnEarlierCheckpoint: a bundle given an earlier
// checkpoint carries the RFC 9162 proof from it; verify checks it, and a
// checkpoint the inspector held; a rewritten log is refused at export and
// caught at verification.
func TestConsistencyWithAnEarlierCheckpoint(t *testing.T) {
	h := newHistory(t)
	scripted(h)
	dir := t.TempDir()
	db := readModel(t, dir, testKey, h.events, 100)
	early := filepath.Join(dir, "early.zip")
	pe := exportTo(t, db, testKey, asOf(t, "2024-03-01"), early)
	later := filepath.Join(dir, "later.zip")
	exportTo(t, db, testKey, Request{Plan: demo.Slug, Previous: pe.Checkpoint()}, later)
	v, err := Verify(context.Background(), later, VerifyOptions{Key: testKey.Public, Previous: pe.Checkpoint()})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Previous) != 2 || !strings.Contains(v.String(), "consistency proof checked") || !strings.Contains(v.String(), "extends your checkpoint of 387 events") {
		t.Errorf("verdict: %s", v)
	}
	if !bytes.Contains(readZip(t, later, "data/consistency-proof.txt"), []byte("from 387\nto 396\n")) {
		t.Errorf("consistency-proof.txt: %s", readZip(t, later, "data/consistency-proof.txt"))
	}

	// Another log (one early event different), signed with the same key:
	// its checkpoint is not a prefix of this one.
	h2 := newHistory(t)
	scripted(h2)
	h2.events[5].Raw = append([]byte(nil), h2.events[5].Raw...)
	h2.events[5].Raw[len(h2.events[5].Raw)-1] ^= 1
	db2 := readModel(t, filepath.Join(dir, "fork"), testKey, h2.events, 100)
	x := &Exporter{DB: db2.Reader(), Key: testKey}
	_, err = x.Prepare(context.Background(), Request{Plan: demo.Slug, Previous: pe.Checkpoint()})
	if domain.ErrorCode(err) != domain.EPRECONDITION || !strings.Contains(err.Error(), "not a prefix of this plan's log") {
		t.Fatalf("export from a rewritten log with the earlier checkpoint: %v", err)
	}
	forked := filepath.Join(dir, "forked.zip")
	exportTo(t, db2, testKey, Request{Plan: demo.Slug}, forked)
	_, err = Verify(context.Background(), forked, VerifyOptions{Key: testKey.Public, Previous: pe.Checkpoint()})
	if err == nil || !strings.Contains(err.Error(), "--previous") || !strings.Contains(err.Error(), "rewritten after you received that checkpoint") {
		t.Fatalf("verify of a rewritten log against a held checkpoint: %v", err)
	}
	// A previous checkpoint later than the bundle is refused.
	_, err = Verify(context.Background(), early, VerifyOptions{Previous: readZip(t, later, "data/checkpoint.txt")})
	if err == nil || !strings.Contains(err.Error(), "covers 396 events but this bundle only 387") {
		t.Fatalf("got %v", err)
	}
}

// TestConsistencyProofsOfEverySize checks the proof construction against
// the library's verifier for every pair of sizes up to 70.
func TestConsistencyProofsOfEverySize(t *testing.T) {
	var leaves [][]byte
	for i := 0; i < 70; i++ {
		leaves = append(leaves, []byte{byte(i), 'x'})
	}
	roots := map[uint64][]byte{}
	all := newTree()
	for i, l := range leaves {
		all.add(l)
		roots[uint64(i+1)] = all.root()
	}
	for n := uint64(1); n <= 70; n++ {
		for m := uint64(1); m <= n; m++ {
			tr := newTree()
			if err := tr.proveConsistency(m, n); err != nil {
				t.Fatal(err)
			}
			for _, l := range leaves[:n] {
				tr.add(l)
			}
			proof, err := tr.consistency(m, n)
			if err != nil {
				t.Fatalf("%d→%d: %v", m, n, err)
			}
			if err := verifyConsistency(m, n, proof, roots[m], roots[n]); err != nil {
				t.Fatalf("%d→%d: %v", m, n, err)
			}
			if m < n {
				if err := verifyConsistency(m, n, proof, roots[n], roots[n]); err == nil {
					t.Fatalf("%d→%d: a wrong root verified", m, n)
				}
			}
			p := ConsistencyProof{Origin: "o", From: m, To: n, Hashes: proof}
			q, err := ParseConsistencyProof(p.Marshal())
			if err != nil || q.From != m || q.To != n || len(q.Hashes) != len(proof) {
				t.Fatalf("%d→%d: proof text does not round-trip: %v", m, n, err)
			}
		}
	}
}

// TestTreeOfAReadModelBuiltWithoutTheExtension: a read model that applied
// events before the extension existed gets its trees from the events table.
func TestTreeOfAReadModelBuiltWithoutTheExtension(t *testing.T) {
	h := newHistory(t)
	scripted(h)
	dir := t.TempDir()
	path := filepath.Join(dir, "sendtrail.db")
	plain, err := projections.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	half := len(h.events) / 2
	if err := plain.Apply(context.Background(), h.events[:half]); err != nil {
		t.Fatal(err)
	}
	plain.Close()
	db, err := projections.Open(path, projections.WithExtension(NewExtension(testKey)))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Apply(context.Background(), h.events[half:]); err != nil {
		t.Fatal(err)
	}
	head, err := LatestHead(context.Background(), db.Reader(), demo.Slug, testKey)
	if err != nil {
		t.Fatal(err)
	}
	tr := newTree()
	for _, e := range h.events {
		tr.add(e.Raw)
	}
	if head.Size != uint64(len(h.events)) || !bytes.Equal(head.Root, tr.root()) {
		t.Fatalf("head %d %x, want %d %x", head.Size, head.Root, len(h.events), tr.root())
	}
	// A head signed by a key since replaced is signed again.
	other, _ := GenerateKey()
	head2, err := LatestHead(context.Background(), db.Reader(), demo.Slug, other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCheckpoint(head2.Checkpoint, other.Public); err != nil {
		t.Fatal(err)
	}
}

func TestParseAsOf(t *testing.T) {
	at, day, err := ParseAsOf("2024-02-29")
	if err != nil || !day || !at.Equal(time.Date(2024, 2, 29, 23, 59, 59, 999999999, time.UTC)) {
		t.Fatalf("%v %v %v", at, day, err)
	}
	at, day, err = ParseAsOf("2024-03-01T12:00:00+01:00")
	if err != nil || day || !at.Equal(time.Date(2024, 3, 1, 11, 0, 0, 0, time.UTC)) {
		t.Fatalf("%v %v %v", at, day, err)
	}
	for _, bad := range []string{"2024-02-30", "yesterday", "2024-3-1"} {
		if _, _, err := ParseAsOf(bad); domain.ErrorCode(err) != domain.EINVALID {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
