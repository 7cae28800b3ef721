package projections

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkApply measures the projector: one op is one batch of BenchBatch
// events applied with Apply (decode-free, but with state folding, history
// formatting, row upserts and the checkpoint, in one transaction).
func BenchmarkApply(b *testing.B) {
	events, err := BenchEvents(b.N * BenchBatch)
	if err != nil {
		b.Fatal(err)
	}
	db, err := Open(filepath.Join(b.TempDir(), "apply.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if err := db.Apply(ctx, events[i*BenchBatch:(i+1)*BenchBatch]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*BenchBatch)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkRawInsert is the raw limit on the same data and the same SQLite
// settings: per event one plain INSERT into an events-like table and one
// UPSERT into an actions-like table, BenchBatch events per transaction.
func BenchmarkRawInsert(b *testing.B) {
	events, err := BenchEvents(b.N * BenchBatch)
	if err != nil {
		b.Fatal(err)
	}
	db, err := sql.Open("sqlite3", dsn(filepath.Join(b.TempDir(), "raw.db"), false))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, rawSchema); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if err := rawInsert(ctx, db, events[i*BenchBatch:(i+1)*BenchBatch]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*BenchBatch)/time.Since(start).Seconds(), "events/s")
}

// The exported entry points of `sendtrail bench` work, and the bench data
// set is a valid stream: applying it in one batch or in runner-sized
// batches gives the same read model.
func TestBenchEntryPoints(t *testing.T) {
	dir := t.TempDir()
	for name, f := range map[string]func(string, int) (float64, error){"BenchApply": BenchApply, "BenchRaw": BenchRaw} {
		perSec, err := f(dir, 2500)
		if err != nil || perSec <= 0 {
			t.Fatalf("%s: %v %v", name, perSec, err)
		}
	}
	events, err := BenchEvents(2500)
	if err != nil || len(events) != 2500 {
		t.Fatalf("BenchEvents: %d %v", len(events), err)
	}
	dumpOf := func(batch int) string {
		db, err := Open(filepath.Join(t.TempDir(), "d.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for i := 0; i < len(events); i += batch {
			if err := db.Apply(context.Background(), events[i:min(i+batch, len(events))]); err != nil {
				t.Fatal(err)
			}
		}
		var b testWriter
		if err := db.Dump(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if dumpOf(len(events)) != dumpOf(BenchBatch) {
		t.Error("bench stream: batching changes the read model")
	}
}

type testWriter []byte

func (w *testWriter) Write(p []byte) (int, error) { *w = append(*w, p...); return len(p), nil }
