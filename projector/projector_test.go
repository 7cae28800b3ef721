package projector_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sendtrail/sendtrail/domain"
	"github.com/sendtrail/sendtrail/eventpb"
	"github.com/sendtrail/sendtrail/eventstore"
	"github.com/sendtrail/sendtrail/projections"
	"github.com/sendtrail/sendtrail/projector"
)

func setup(t *testing.T) (*eventstore.Store, *projections.DB) {
	t.Helper()
	dir := t.TempDir()
	emb, err := eventstore.StartEmbedded(eventstore.EmbeddedConfig{Dir: filepath.Join(dir, "nats")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Shutdown)
	nc, err := emb.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	store, err := eventstore.Open(context.Background(), nc, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	db, err := projections.Open(filepath.Join(dir, "read.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return store, db
}

// appendEvents writes n events of one plan: the plan, then KPI values.
func appendEvents(t *testing.T, store *eventstore.Store, from, n int) uint64 {
	t.Helper()
	ctx := context.Background()
	var last uint64
	for i := from; i < from+n; i++ {
		env := domain.Envelope{EventID: fmt.Sprintf("e-%d", i), Plan: "p1", OccurredAt: time.Unix(int64(i), 0), RecordedAt: time.Unix(int64(i), 0),
			Actor: domain.Actor{ID: "u"}, CorrelationID: fmt.Sprintf("c-%d", i), SchemaVersion: 1}
		switch i {
		case 0:
			env.AggregateType, env.AggregateID, env.Event = domain.AggPlan, "p1", domain.PlanCreated{Slug: "p1", Title: "P"}
		case 1:
			env.AggregateType, env.AggregateID, env.Event = domain.AggKpi, "k1", domain.KpiDefined{Priority: "1", Name: "K"}
		default:
			env.AggregateType, env.AggregateID, env.Event = domain.AggKpi, "k1", domain.KpiValueRecorded{Period: fmt.Sprintf("P%d", i), Value: "1"}
		}
		data, err := eventpb.Marshal(env)
		if err != nil {
			t.Fatal(err)
		}
		a, err := store.Append(ctx, eventstore.Message{Subject: eventpb.Subject(env), MsgID: env.EventID, Data: data}, eventstore.Expect{})
		if err != nil {
			t.Fatal(err)
		}
		last = a.Sequence
	}
	return last
}

func TestRunFollowsTheStreamAndStopsOnCancel(t *testing.T) {
	store, db := setup(t)
	last := appendEvents(t, store, 0, 3000) // a backlog, merged into larger transactions
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- projector.Run(ctx, store, db) }()
	wait, stop := context.WithTimeout(context.Background(), 30*time.Second)
	defer stop()
	if err := db.WaitFor(wait, last); err != nil {
		t.Fatal(err)
	}
	last = appendEvents(t, store, 3000, 10) // then live
	if err := db.WaitFor(wait, last); err != nil {
		t.Fatal(err)
	}
	ks, err := db.ListKpis(context.Background(), "p1", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(ks) != 1 || len(ks[0].GetValues()) != 3008 {
		t.Fatalf("read model has %d indicators with %d values, want 1 with 3008", len(ks), len(ks[0].GetValues()))
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run returned %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop on cancel")
	}
}

// An event that cannot be decoded stops the projector with an error naming
// its sequence; it is never skipped, so nothing is silently lost.
func TestRunStopsOnUndecodableEvent(t *testing.T) {
	store, db := setup(t)
	appendEvents(t, store, 0, 2)
	bad, err := store.Append(context.Background(), eventstore.Message{Subject: "sendtrail.p1.kpi.k1.kpi_value_recorded", MsgID: "bad", Data: []byte{0xff, 0xff, 0xff}}, eventstore.Expect{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = projector.Run(ctx, store, db)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("sequence %d", bad.Sequence)) {
		t.Fatalf("Run returned %v, want an error naming sequence %d", err, bad.Sequence)
	}
	if cp, _ := db.Checkpoint(context.Background()); cp >= bad.Sequence {
		t.Fatalf("checkpoint %d passed the undecodable event %d", cp, bad.Sequence)
	}
}
