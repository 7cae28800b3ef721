package projections

import (
	"context"
	"math"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/google/go-cmp/cmp"

	"github.com/sendtrail/sendtrail/domain"
	"github.com/sendtrail/sendtrail/eventpb"
)

// openHistory builds a read model of a generated history in runner-sized
// batches.
func openHistory(t testing.TB, n int, o HistoryOptions) (*DB, []Event) {
	t.Helper()
	events, err := GenerateHistory(n, o)
	if err != nil {
		t.Fatal(err)
	}
	db, err := Open(filepath.Join(t.TempDir(), "asof.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for i := 0; i < len(events); i += 97 {
		if err := db.Apply(context.Background(), events[i:min(i+97, len(events))]); err != nil {
			t.Fatal(err)
		}
	}
	return db, events
}

// bruteForce folds every event that counts, in stream order, from the
// stored bytes: the definition the selective fold must meet.
func bruteForce(t *testing.T, events []Event, c cutoff) map[aggKey]domain.State {
	t.Helper()
	out := map[aggKey]domain.State{}
	for _, ev := range events {
		env, err := eventpb.Unmarshal(ev.Raw, ev.Envelope.Sequence)
		if err != nil {
			t.Fatal(err)
		}
		if !c.includes(env.Sequence, env.OccurredAt) {
			continue
		}
		k := aggKey{env.AggregateType, env.AggregateID}
		st, ok := out[k]
		if !ok {
			st = domain.NewState(k.t)
		}
		out[k] = domain.Evolve(st, env)
	}
	return out
}

// The selective fold (a few events per aggregate, found through the
// extension's index, back-dated events apart) gives exactly the state the
// full fold of every event that counts gives, for business-time dates,
// sequences and recorded-time dates.
func TestSelectiveFoldIsEvolve(t *testing.T) {
	ctx := context.Background()
	for _, seed := range []uint64{1, 2, 3} {
		db, events := openHistory(t, 2500, HistoryOptions{Actions: 14, Kpis: 6, Late: 0.2, Months: 8, Seed: seed, Corrections: 0.1})
		late := 0
		for i, ev := range events {
			if i > 0 && ev.Envelope.OccurredAt.Before(events[i-1].Envelope.OccurredAt) {
				late++
			}
		}
		if late < 100 {
			t.Fatalf("seed %d: only %d back-dated events: the test would prove little", seed, late)
		}
		var ats []AsOf
		for d := domain.DateOf(events[0].Envelope.OccurredAt).Time().AddDate(0, 0, -1); d.Before(events[len(events)-1].Envelope.RecordedAt.AddDate(0, 0, 2)); d = d.AddDate(0, 0, 9) {
			ats = append(ats, AsOf{Date: domain.DateOf(d)}, AsOf{Date: domain.DateOf(d), Recorded: true})
		}
		for s := uint64(1); s <= uint64(len(events))+5; s += 211 {
			ats = append(ats, AsOf{Sequence: s})
		}
		for _, at := range ats {
			c, err := resolve(ctx, db.r, "bench-plan", at)
			if err != nil {
				t.Fatalf("seed %d, %s: %v", seed, at, err)
			}
			c.now = false
			got, err := foldAsOf(ctx, db.r, "bench-plan", c, "")
			if err != nil {
				t.Fatal(err)
			}
			want := bruteForce(t, events, c)
			if len(got.states) != len(want) {
				t.Fatalf("seed %d, %s: %d aggregates folded, want %d", seed, at, len(got.states), len(want))
			}
			for k, w := range want {
				if g := got.states[k]; !reflect.DeepEqual(g, w) {
					t.Fatalf("seed %d, %s: %s %s differs:\n got %+v\nwant %+v", seed, at, k.t, k.id, g, w)
				}
			}
		}
	}
}

// Recorded time resolves to the stream as it stood: the last event
// recorded before the end of the day.
func TestRecordedTimeIsAStreamPrefix(t *testing.T) {
	ctx := context.Background()
	db, events := openHistory(t, 800, HistoryOptions{Actions: 10, Kpis: 3, Months: 4})
	for i := 0; i < len(events); i += 37 {
		d := domain.DateOf(events[i].Envelope.RecordedAt)
		end := fmtTime(d.Time().AddDate(0, 0, 1))
		var want uint64
		for _, ev := range events {
			if fmtTime(ev.Envelope.RecordedAt) < end {
				want = ev.Envelope.Sequence
			}
		}
		got, err := lastRecordedBefore(ctx, db.r, end)
		if err != nil || got != want {
			t.Fatalf("recorded by %s: sequence %d %v, want %d", d, got, err, want)
		}
	}
	if got, _ := lastRecordedBefore(ctx, db.r, "2000-01-01"); got != 0 {
		t.Fatalf("before anything: %d", got)
	}
}

// As of the latest point, the folded answers equal the current rows: the
// as-of path and the projector agree field for field.
func TestAsOfLatestEqualsCurrent(t *testing.T) {
	ctx := context.Background()
	db, events := openHistory(t, 3000, HistoryOptions{Actions: 20, Kpis: 5, Late: 0.05, Months: 6, Seed: 7})
	latest := cutoff{business: true, before: math.MaxInt64, at: AsOf{Date: domain.DateOf(time.Now())}}
	tx, err := db.readTx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	got, err := planAt(ctx, tx, "bench-plan", latest)
	if err != nil {
		t.Fatal(err)
	}
	want, err := db.GetPlan(ctx, "bench-plan")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got, protocmp.Transform()); d != "" {
		t.Fatalf("plan as of latest differs from current (-current +as of):\n%s", d)
	}
	cur, err := db.ListActions(ctx, ActionFilter{Plan: "bench-plan", IncludeWithdrawn: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range cur {
		s, err := actionAt(ctx, tx, "bench-plan", a.Ref, latest)
		if err != nil {
			t.Fatal(err)
		}
		if g := actionPB("bench-plan", a.Id, s); !proto.Equal(g, a) {
			t.Fatalf("action %s as of latest differs:\n%s", a.Ref, cmp.Diff(a, g, protocmp.Transform()))
		}
	}
	// The public entry points take the current rows when the point covers
	// everything, and agree.
	last := events[len(events)-1].Envelope
	p, err := db.GetPlanAt(ctx, "bench-plan", AsOf{Sequence: last.Sequence})
	if err != nil || !proto.Equal(p, want) {
		t.Fatalf("GetPlanAt(latest sequence) = %v, %v", p, err)
	}
	far := AsOf{Date: domain.DateOf(last.OccurredAt.AddDate(1, 0, 0))}
	as, err := db.ListActionsAt(ctx, ActionFilter{Plan: "bench-plan", IncludeWithdrawn: true}, far)
	if err != nil || len(as) != len(cur) {
		t.Fatalf("ListActionsAt(far) = %d actions, %v", len(as), err)
	}
}

// Before the plan existed, the answer is NOT_FOUND saying so; an unknown
// version is NOT_FOUND; two points at once are refused.
func TestAsOfErrors(t *testing.T) {
	ctx := context.Background()
	db, _ := openHistory(t, 600, HistoryOptions{Actions: 8, Kpis: 2, Months: 3})
	_, err := db.GetPlanAt(ctx, "bench-plan", AsOf{Date: mustDate(t, "2024-01-01")})
	if domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("before the plan: %v", err)
	}
	if _, err := db.GetPlanAt(ctx, "bench-plan", AsOf{Version: "9.9"}); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("unknown version: %v", err)
	}
	if _, err := db.GetPlanAt(ctx, "no-plan", AsOf{Sequence: 3}); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("unknown plan: %v", err)
	}
	if _, err := db.GetPlanAt(ctx, "bench-plan", AsOf{Sequence: 3, Version: "1.2"}); domain.ErrorCode(err) != domain.EINVALID {
		t.Fatalf("two points: %v", err)
	}
	if _, err := db.GetActionAt(ctx, "bench-plan", "1.1", AsOf{Sequence: 5}); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("action before it was added: %v", err)
	}
}

func mustDate(t testing.TB, s string) domain.Date {
	t.Helper()
	d, err := domain.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
