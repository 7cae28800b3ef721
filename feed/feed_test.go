package feed

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sendtrail/sendtrail/commands"
	"github.com/sendtrail/sendtrail/domain"
	"github.com/sendtrail/sendtrail/eventstore"
)

func TestFilterSubjects(t *testing.T) {
	for _, c := range []struct {
		f    Filter
		want []string
	}{
		{Filter{Plan: "p1"}, []string{"sendtrail.p1.>"}},
		{Filter{Plan: "p1", Types: []string{"rag_changed", "deadline_moved", "rag_changed"}}, []string{"sendtrail.p1.*.*.deadline_moved", "sendtrail.p1.*.*.rag_changed"}},
		{Filter{Plan: "p1", AggregateType: "kpi"}, []string{"sendtrail.p1.kpi.*.*"}},
		{Filter{Plan: "p1", AggregateType: "action", AggregateID: "abc-1", Types: []string{"rag_changed"}}, []string{"sendtrail.p1.action.abc-1.rag_changed"}},
	} {
		if err := c.f.Validate(); err != nil {
			t.Errorf("%+v: %v", c.f, err)
		}
		if got := c.f.Subjects(); !slices.Equal(got, c.want) {
			t.Errorf("%+v: subjects %v, want %v", c.f, got, c.want)
		}
	}
	for _, f := range []Filter{
		{Plan: "P!"}, {Plan: "p1", Types: []string{"rag"}}, {Plan: "p1", Types: []string{"*"}}, {Plan: "p1", AggregateType: "thing"},
		{Plan: "p1", AggregateID: "x"}, {Plan: "p1", AggregateType: "action", AggregateID: "a.b"}, {Plan: "p1", AggregateType: "action", AggregateID: ">"},
	} {
		if err := f.Validate(); domain.ErrorCode(err) != domain.EINVALID {
			t.Errorf("%+v: %v, want EINVALID", f, err)
		}
	}
}

func TestDescribeFoldsTheAggregateFromTheStream(t *testing.T) {
	e, err := eventstore.StartEmbedded(eventstore.EmbeddedConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown()
	nc, err := e.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store, err := eventstore.Open(ctx, nc, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cmds := commands.New(store, nil, nil)
	actor := domain.Actor{ID: "a", DisplayName: "A", Role: domain.RoleAdmin}
	exec := func(tg commands.Target, c domain.Command) {
		t.Helper()
		if _, err := cmds.Execute(ctx, tg, c, commands.Meta{Actor: actor}); err != nil {
			t.Fatalf("%T: %v", c, err)
		}
	}
	exec(commands.PlanTarget("p1"), domain.CreatePlan{Slug: "p1", Title: "Plan"})
	exec(commands.PriorityTarget("p1", "1"), domain.AddPriorityArea{Number: "1", Title: "One"})
	exec(commands.ActionTarget("p1", "1.1"), domain.AddAction{Ref: "1.1", Priority: "1", Text: "Do", Rag: "P", Deadline: "2024-03-31"})
	exec(commands.ActionTarget("p1", "1.1"), domain.ChangeRag{Rag: "A", Commentary: "slower"})
	exec(commands.ActionTarget("p1", "1.1"), domain.MoveDeadline{Deadline: "2024-06-30", Category: "capacity", Reason: "staff"})
	exec(commands.TokenTarget("p1", "t1"), domain.IssueToken{TokenID: "t1", Principal: "x", Name: "X", Role: "viewer", Plan: "p1", Hash: strings.Repeat("ab", 32)})

	all, err := store.Load(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	// Describe the last events alone, as a watch from the middle would:
	// the action's ref comes from its earlier events, read from the stream.
	for _, d := range []*Describer{NewDescriber(store), NewDescriber(store)} {
		var got []string
		for _, m := range all[len(all)-3:] {
			ev, err := d.Describe(ctx, m)
			if err != nil {
				t.Fatal(err)
			}
			h := ev.Entry
			got = append(got, h.GetType()+" "+h.GetSubject()+" "+h.GetBefore()+"→"+h.GetAfter()+" "+h.GetReason()+h.GetCommentary())
			if ev.Proto.GetTokenIssued() != nil && ev.Proto.GetTokenIssued().GetHash() != "" {
				t.Errorf("a token's hash is given to subscribers")
			}
		}
		want := []string{"rag_changed 1.1 P→A slower", "deadline_moved 1.1 2024-03-31→2024-06-30 staff", "token_issued  →viewer on plan p1 "}
		if !slices.Equal(got, want) {
			t.Errorf("described %q, want %q", got, want)
		}
	}
}
