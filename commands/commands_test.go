package commands_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/sendtrail/sendtrail/commands"
	"github.com/sendtrail/sendtrail/domain"
	"github.com/sendtrail/sendtrail/eventstore"
	"github.com/sendtrail/sendtrail/projections"
	"github.com/sendtrail/sendtrail/projector"
)

var officer = domain.Actor{ID: "u1", DisplayName: "Pat Officer", Role: domain.RoleEditor}

type env struct {
	store *eventstore.Store
	db    *projections.DB
}

func setup(t *testing.T) env {
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
	return env{store, db}
}

func (e env) handler() *commands.Handler {
	return commands.New(e.store, time.Now, nil).WithHistory(e.db)
}

// must(t)(h.Execute(…)) fails the test on an error.
func must(t *testing.T) func(commands.Result, error) commands.Result {
	return func(r commands.Result, err error) commands.Result {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
}

func seedPlan(t *testing.T, h *commands.Handler) {
	t.Helper()
	ctx := context.Background()
	must(t)(h.Execute(ctx, commands.PlanTarget("p1"), domain.CreatePlan{Slug: "p1", Title: "Plan"}, commands.Meta{Actor: officer}))
	must(t)(h.Execute(ctx, commands.PriorityTarget("p1", "1"), domain.AddPriorityArea{Number: "1", Title: "Leadership"}, commands.Meta{Actor: officer}))
	must(t)(h.Execute(ctx, commands.ActionTarget("p1", "1.1"), domain.AddAction{Ref: "1.1", Priority: "1", Text: "Do it", Deadline: "2024-03-31"}, commands.Meta{Actor: officer}))
}

// A fresh handler folds the prefix the read model holds and reads only
// the stream's tail, whatever the read model's lag: its state is the
// stream's.
func TestLoadFoldsReadModelPrefixAndStreamTail(t *testing.T) {
	ctx := context.Background()
	e := setup(t)
	h := e.handler()
	seedPlan(t, h)
	var last commands.Result
	for i := 0; i < 6; i++ {
		last = must(t)(h.Execute(ctx, commands.ActionTarget("p1", "1.1"), domain.RecordProgress{Text: fmt.Sprintf("note %d", i)}, commands.Meta{Actor: officer}))
	}
	for i, lag := range []string{"read model empty", "read model caught up"} {
		t.Run(lag, func(t *testing.T) {
			if lag == "read model caught up" {
				if _, err := projector.CatchUp(ctx, e.store, e.db); err != nil {
					t.Fatal(err)
				}
			}
			fresh := e.handler()
			st, err := fresh.State(ctx, commands.ActionTarget("p1", "1.1"))
			if err != nil {
				t.Fatal(err)
			}
			a := st.(domain.ActionState)
			if a.Version() != last.Version || a.Progress() != "note 5" {
				t.Fatalf("state version %d progress %q, want %d %q", a.Version(), a.Progress(), last.Version, "note 5")
			}
			v := a.Version()
			r := must(t)(fresh.Execute(ctx, commands.ActionTarget("p1", "1.1"), domain.ChangeRag{Rag: []string{"P", "A"}[i]}, commands.Meta{Actor: officer, ExpectedVersion: &v}))
			if r.Appended != 1 {
				t.Fatalf("appended %d", r.Appended)
			}
			last = r
		})
	}
}

// Two instances share one stream, each with its own cache: a command
// decided on a stale cache is decided again, and a stale expected version
// is refused with the current version.
func TestTwoInstancesShareTheStream(t *testing.T) {
	ctx := context.Background()
	e := setup(t)
	a, b := e.handler(), e.handler()
	seedPlan(t, a)
	target := commands.ActionTarget("p1", "1.1")
	ra := must(t)(a.Execute(ctx, target, domain.RecordProgress{Text: "from a"}, commands.Meta{Actor: officer}))
	rb := must(t)(b.Execute(ctx, target, domain.RecordProgress{Text: "from b"}, commands.Meta{Actor: officer}))
	// a's cache is now stale; without an expectation a decides again.
	ra2 := must(t)(a.Execute(ctx, target, domain.RecordProgress{Text: "from a again"}, commands.Meta{Actor: officer}))
	if !(ra.Version < rb.Version && rb.Version < ra2.Version) {
		t.Fatalf("versions %d %d %d", ra.Version, rb.Version, ra2.Version)
	}
	stale := rb.Version
	before, _ := e.store.LastSequence(ctx)
	_, err := b.Execute(ctx, target, domain.RecordProgress{Text: "lost update"}, commands.Meta{Actor: officer, ExpectedVersion: &stale})
	var de *domain.Error
	if domain.ErrorCode(err) != domain.ECONFLICT {
		t.Fatalf("want conflict, got %v", err)
	}
	if errorsAs(err, &de); de.Version != ra2.Version {
		t.Errorf("conflict carries version %d, want %d", de.Version, ra2.Version)
	}
	if after, _ := e.store.LastSequence(ctx); after != before {
		t.Fatalf("a refused command wrote %d events", after-before)
	}
}

func TestRetryWithSameCommandIDAppendsOnce(t *testing.T) {
	ctx := context.Background()
	e := setup(t)
	h := e.handler()
	seedPlan(t, h)
	target := commands.ActionTarget("p1", "1.1")
	st, _ := h.State(ctx, target)
	v := st.Version()
	meta := commands.Meta{Actor: officer, CommandID: "move-1", ExpectedVersion: &v}
	cmd := domain.MoveDeadline{Deadline: "2024-06-30", Category: "capacity", Reason: "Team restructure"}
	first := must(t)(h.Execute(ctx, target, cmd, meta))
	for _, hh := range []*commands.Handler{h, e.handler()} { // same instance, and another with a cold cache
		again := must(t)(hh.Execute(ctx, target, cmd, meta))
		if again.Sequence != first.Sequence || again.Appended != 0 {
			t.Fatalf("retry answered %+v, first %+v", again, first)
		}
	}
}

func TestUnknownPlanIsNotFound(t *testing.T) {
	e := setup(t)
	_, err := e.handler().Execute(context.Background(), commands.ActionTarget("nowhere", "1.1"), domain.ChangeRag{Rag: "A"}, commands.Meta{Actor: officer})
	if domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("want not found, got %v", err)
	}
}

func errorsAs(err error, target **domain.Error) bool { return errors.As(err, target) }

// An aggregate id named under another plan is another aggregate: the
// prefix loaded from the read model is the plan's own, as the stream's is.
func TestLoadIsScopedToThePlan(t *testing.T) {
	ctx := context.Background()
	e := setup(t)
	h := e.handler()
	seedPlan(t, h)
	if _, err := projector.CatchUp(ctx, e.store, e.db); err != nil {
		t.Fatal(err)
	}
	other := commands.Target{Plan: "p2", Type: domain.AggAction, ID: domain.ActionID("p1", "1.1")}
	st, err := e.handler().State(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	if st.Exists() || st.Version() != 0 {
		t.Fatalf("plan p2 sees p1's action: exists %v version %d", st.Exists(), st.Version())
	}
}
