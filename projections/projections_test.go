package projections_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sendtrail/sendtrail/domain"
	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
	"github.com/sendtrail/sendtrail/projections"
)

func wantCode(t *testing.T, err error, code, field string) *domain.Error {
	t.Helper()
	var de *domain.Error
	if !errors.As(err, &de) || de.Code != code || (field != "" && de.Field != field) {
		t.Fatalf("err = %v, want %s on %q", err, code, field)
	}
	return de
}

func refs(as []*pb.Action) []string {
	out := []string{}
	for _, a := range as {
		out = append(out, a.Ref)
	}
	return out
}

func TestActionState(t *testing.T) {
	s := fixture(t)
	db := open(t, "rm.db")
	apply(t, db, s.events)
	ctx := context.Background()

	a, err := db.GetAction(ctx, plan, "1.2")
	if err != nil {
		t.Fatal(err)
	}
	if a.Id != id12 || a.Plan != plan || a.Priority != "1" || a.Origin != "SEND Governance review" {
		t.Errorf("identity: %v", a)
	}
	if a.Deadline != "2024-06-30" || a.OriginalDeadline != "2024-03-31" || a.DeadlineRaw != "31/03/24" || a.DeadlineMoves != 1 {
		t.Errorf("deadline: current %q original %q raw %q moves %d", a.Deadline, a.OriginalDeadline, a.DeadlineRaw, a.DeadlineMoves)
	}
	if a.Rag != "A" || !strings.HasPrefix(a.RagDescription, "Significant risk") {
		t.Errorf("rag %q %q", a.Rag, a.RagDescription)
	}
	if len(a.Leads) != 1 || a.Leads[0].Name != "Sam Best" || a.Leads[0].Organisation != "NHS Dorset" || a.LeadsRaw != "Jude Nash – Head of SEND" {
		t.Errorf("leads %v raw %q", a.Leads, a.LeadsRaw)
	}
	if a.Progress != "SLIP shortlisted." || a.Impact != "Board meets monthly." || a.SuccessMeasures != "RAP agreed with DfE." {
		t.Errorf("texts: %v", a)
	}
	if a.Version != s.seqs["rev12"] {
		t.Errorf("version %d, want the action's last sequence %d", a.Version, s.seqs["rev12"])
	}
	if got := a.UpdatedAt.AsTime(); !got.Equal(s.events[indexOf(s, "rev12")].Envelope.OccurredAt) {
		t.Errorf("updated_at %v", got)
	}

	// The flagged deadline: set by a re-baselining (the baseline, not a
	// move of one), then moved.
	b, err := db.GetAction(ctx, plan, "2.1")
	if err != nil {
		t.Fatal(err)
	}
	if b.Deadline != "2024-07-31" || b.OriginalDeadline != "2024-05-31" || b.DeadlineRaw != "31/04/24" || b.DeadlineMoves != 1 {
		t.Errorf("2.1 deadline: current %q original %q raw %q moves %d", b.Deadline, b.OriginalDeadline, b.DeadlineRaw, b.DeadlineMoves)
	}
	if len(b.Flags) != 0 {
		t.Errorf("2.1 flags %v: a deadline move clears the deadline flag", b.Flags)
	}
	if len(b.Milestones) != 1 || b.Milestones[0].Date != "2024-04-30" || b.Milestones[0].Text != "Phase 1" {
		t.Errorf("2.1 milestones %v", b.Milestones)
	}
	c, err := db.GetAction(ctx, plan, "1.10")
	if err != nil {
		t.Fatal(err)
	}
	if c.Rag != "" || c.RagDescription != "Not yet rated" || len(c.Flags) != 1 || c.Flags[0].Raw != "TBC" || c.Withdrawn || c.WithdrawnReason != "" {
		t.Errorf("1.10: %v", c)
	}
	d, err := db.GetAction(ctx, plan, "2.2")
	if err != nil {
		t.Fatal(err)
	}
	if !d.Withdrawn || d.WithdrawnReason != "Pilot cancelled." {
		t.Errorf("2.2 withdrawn %v %q", d.Withdrawn, d.WithdrawnReason)
	}

	_, err = db.GetAction(ctx, "bcp-x", "1.1")
	if de := wantCode(t, err, domain.ENOTFOUND, "plan"); de.Message != "no plan bcp-x" {
		t.Errorf("message %q", de.Message)
	}
	_, err = db.GetAction(ctx, plan, "9.9")
	if de := wantCode(t, err, domain.ENOTFOUND, "ref"); de.Message != "plan bcp-2023-26 has no action 9.9" {
		t.Errorf("message %q", de.Message)
	}

	ids, err := db.ActionIDs(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"1.2": id12, "1.10": id110, "2.1": id21, "2.2": id22}; !reflect.DeepEqual(ids, want) {
		t.Errorf("ActionIDs %v", ids)
	}
	_, err = db.ActionIDs(ctx, "bcp-x")
	wantCode(t, err, domain.ENOTFOUND, "plan")
}

func indexOf(s *stream, label string) int {
	for i, e := range s.events {
		if e.Envelope.Sequence == s.seqs[label] {
			return i
		}
	}
	s.t.Fatalf("no event %s", label)
	return -1
}

func TestActionHistory(t *testing.T) {
	s := fixture(t)
	db := open(t, "rm.db")
	apply(t, db, s.events)
	ctx := context.Background()

	h, err := db.ActionHistory(ctx, plan, "1.2")
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range h {
		types = append(types, e.Type)
	}
	if want := []string{"action_added", "rag_changed", "deadline_moved", "leads_reassigned", "progress_recorded", "impact_recorded", "action_revised"}; !reflect.DeepEqual(types, want) {
		t.Fatalf("types %v", types)
	}
	for i, e := range h {
		if e.Subject != "1.2" || e.AggregateType != "action" || e.AggregateId != id12 {
			t.Errorf("%d: subject %q %s %s", i, e.Subject, e.AggregateType, e.AggregateId)
		}
		if i > 0 && e.Sequence <= h[i-1].Sequence {
			t.Errorf("not oldest first")
		}
		if e.OccurredAt == nil || e.RecordedAt == nil || !e.RecordedAt.AsTime().Equal(e.OccurredAt.AsTime().Add(90*time.Minute)) {
			t.Errorf("%d: times %v %v", i, e.OccurredAt, e.RecordedAt)
		}
	}
	check := func(e *pb.HistoryEntry, before, after, reason, cat, commentary, summary string, actor domain.Actor) {
		t.Helper()
		got := []string{e.Before, e.After, e.Reason, e.ReasonCategory, e.Commentary, e.Summary, e.Actor.GetId(), e.Actor.GetDisplayName(), e.Actor.GetRole()}
		want := []string{before, after, reason, cat, commentary, summary, actor.ID, actor.DisplayName, string(actor.Role)}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", e.Type, got, want)
		}
	}
	check(h[0], "", "deadline 2024-03-31; RAG P", "", "", "", "Action 1.2 added", admin)
	check(h[1], "P", "A", "", "", "SLIP not yet appointed.", "RAG P → A", qa)
	check(h[2], "2024-03-31", "2024-06-30", "Team restructure delayed the work.", "capacity", "", "Deadline 2024-03-31 → 2024-06-30 (+91 days, capacity)", editor)
	check(h[3], "Jude Nash – Head of SEND – BCP Council", "Sam Best – Principal Lead – NHS Dorset", "Jude Nash left.", "", "",
		"Leads reassigned from Jude Nash to Sam Best", editor)
	check(h[4], "", "SLIP shortlisted.", "", "", "", "Progress to date recorded", editor)
	check(h[5], "", "Board meets monthly.", "", "", "", "Impact to date recorded", editor)
	check(h[6], "Finalise the role of the SLIP.", "Finalise the role of the SLIP and its reporting.", "", "", "", "Action revised (text)", editor)
	if h[1].CorrelationId != "cmd-rag12" || h[1].EventId != "evt-rag12" || h[1].Sequence != s.seqs["rag12"] {
		t.Errorf("ids %v", h[1])
	}

	h21, err := db.ActionHistory(ctx, plan, "2.1")
	if err != nil {
		t.Fatal(err)
	}
	check(h21[0], "", `deadline "31/04/24" (flagged); RAG A`, "", "", "", "Action 2.1 added", admin)
	check(h21[1], "not set", "2024-05-31", "Agreed with the DfE adviser.", "rebaselined", "", "Deadline set to 2024-05-31 (rebaselined)", editor)
	check(h21[2], "2024-05-31", "2024-07-31", "Waiting on 1.2.", "dependency", "", "Deadline 2024-05-31 → 2024-07-31 (+61 days, dependency)", qa)
	check(h21[3], "A", "G", "", "", "Backlog cleared.", "RAG A → G", editor)

	h22, err := db.ActionHistory(ctx, plan, "2.2")
	if err != nil {
		t.Fatal(err)
	}
	check(h22[1], "not rated", "R", "", "", "", "RAG not rated → R", editor)
	check(h22[2], "in plan", "withdrawn", "Pilot cancelled.", "", "", "Action withdrawn", editor)
	h110, err := db.ActionHistory(ctx, plan, "1.10")
	if err != nil {
		t.Fatal(err)
	}
	check(h110[2], "withdrawn", "in plan", "Board kept it separate.", "", "", "Action reinstated", qa)
	check(h110[3], `"Sam Best/ Mary Jones": two leads in one cell`, "resolved", "Both lead it.", "", "", "Flag on leads resolved", qa)

	_, err = db.ActionHistory(ctx, plan, "7.7")
	wantCode(t, err, domain.ENOTFOUND, "ref")
	_, err = db.ActionHistory(ctx, "nope", "1.2")
	wantCode(t, err, domain.ENOTFOUND, "plan")
}

func TestListActions(t *testing.T) {
	s := fixture(t)
	db := open(t, "rm.db")
	apply(t, db, s.events)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		f    projections.ActionFilter
		want []string
	}{
		{"all, in numeric ref order", projections.ActionFilter{}, []string{"1.2", "1.10", "2.1"}},
		{"with withdrawn", projections.ActionFilter{IncludeWithdrawn: true}, []string{"1.2", "1.10", "2.1", "2.2"}},
		{"priority", projections.ActionFilter{Priority: "2"}, []string{"2.1"}},
		{"priority with withdrawn", projections.ActionFilter{Priority: "2", IncludeWithdrawn: true}, []string{"2.1", "2.2"}},
		{"rag", projections.ActionFilter{Rag: "a"}, []string{"1.2"}},
		{"rag G", projections.ActionFilter{Rag: "G"}, []string{"2.1"}},
		{"not rated", projections.ActionFilter{Rag: "none"}, []string{"1.10"}},
		{"lead, folded", projections.ActionFilter{Lead: "  SAM best "}, []string{"1.2", "1.10"}},
		{"lead, second of two", projections.ActionFilter{Lead: "mary jones"}, []string{"1.10"}},
		{"lead, in the cell as written", projections.ActionFilter{Lead: "muldoon"}, []string{"2.1"}},
		{"lead, former lead still in the cell", projections.ActionFilter{Lead: "Jude Nash"}, []string{"1.2"}},
		{"lead, nobody", projections.ActionFilter{Lead: "Nobody"}, []string{}},
		{"flagged", projections.ActionFilter{Flagged: true}, []string{"1.10"}},
		{"overdue on 2024-07-01", projections.ActionFilter{OverdueOn: mustDate(t, "2024-07-01")}, []string{"1.2"}},
		{"overdue on 2024-10-01: G is not overdue", projections.ActionFilter{OverdueOn: mustDate(t, "2024-10-01")}, []string{"1.2", "1.10"}},
		{"overdue ignores withdrawn", projections.ActionFilter{OverdueOn: mustDate(t, "2024-10-01"), IncludeWithdrawn: true}, []string{"1.2", "1.10"}},
		{"combined", projections.ActionFilter{Priority: "1", Rag: "A", Lead: "sam best"}, []string{"1.2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.f.Plan = plan
			got, err := db.ListActions(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if r := refs(got); !reflect.DeepEqual(r, tc.want) {
				t.Errorf("got %v, want %v", r, tc.want)
			}
		})
	}
	_, err := db.ListActions(ctx, projections.ActionFilter{Plan: plan, Rag: "X"})
	wantCode(t, err, domain.EINVALID, "rag")
	_, err = db.ListActions(ctx, projections.ActionFilter{Plan: "bcp-x"})
	wantCode(t, err, domain.ENOTFOUND, "plan")
	_, err = db.ListActions(ctx, projections.ActionFilter{})
	wantCode(t, err, domain.EINVALID, "plan")
}

func TestListEvents(t *testing.T) {
	s := fixture(t)
	db := open(t, "rm.db")
	apply(t, db, s.events)
	ctx := context.Background()

	all, next, err := db.ListEvents(ctx, projections.EventFilter{Plan: plan, PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(s.events) || next != "" {
		t.Fatalf("%d events (next %q), want %d", len(all), next, len(s.events))
	}
	// Paging: every page in order, nothing missed or repeated.
	var paged []*pb.HistoryEntry
	token, pages := "", 0
	for {
		page, next, err := db.ListEvents(ctx, projections.EventFilter{Plan: plan, PageSize: 4, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(page) > 4 || (next != "" && len(page) != 4) {
			t.Fatalf("page of %d, next %q", len(page), next)
		}
		paged = append(paged, page...)
		if next == "" {
			break
		}
		token = next
	}
	if len(paged) != len(all) || pages != (len(all)+3)/4 {
		t.Fatalf("paged %d in %d pages, want %d", len(paged), pages, len(all))
	}
	for i := range all {
		if paged[i].Sequence != all[i].Sequence {
			t.Fatalf("page order differs at %d", i)
		}
	}
	seqs := func(f projections.EventFilter) []uint64 {
		t.Helper()
		f.Plan = plan
		es, _, err := db.ListEvents(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		out := []uint64{}
		for _, e := range es {
			out = append(out, e.Sequence)
		}
		return out
	}
	if got, want := seqs(projections.EventFilter{Types: []string{"deadline_moved"}}), []uint64{s.seqs["move12"], s.seqs["base21"], s.seqs["move21"]}; !reflect.DeepEqual(got, want) {
		t.Errorf("deadline_moved: %v, want %v", got, want)
	}
	if got, want := seqs(projections.EventFilter{Types: []string{"rag_changed", "kpi_value_corrected"}, Actor: "u-qa"}), []uint64{s.seqs["rag12"], s.seqs["k2fix"]}; !reflect.DeepEqual(got, want) {
		t.Errorf("types + actor id: %v, want %v", got, want)
	}
	if got, want := seqs(projections.EventFilter{Actor: "quinn qa"}), []uint64{s.seqs["rag12"], s.seqs["move21"], s.seqs["re110"], s.seqs["k2fix"], s.seqs["fix110"], s.seqs["target1"]}; !reflect.DeepEqual(got, want) {
		t.Errorf("actor name: %v, want %v", got, want)
	}
	if got, want := seqs(projections.EventFilter{AggregateType: "kpi", AggregateID: kpi2}), []uint64{s.seqs["k2"], s.seqs["k2jan"], s.seqs["k2fix"]}; !reflect.DeepEqual(got, want) {
		t.Errorf("aggregate: %v, want %v", got, want)
	}
	// Since is inclusive, Until exclusive, both on recorded_at.
	rec := func(label string) time.Time { return s.events[indexOf(s, label)].Envelope.RecordedAt }
	if got, want := seqs(projections.EventFilter{Since: rec("move12"), Until: rec("move21")}), []uint64{s.seqs["move12"], s.seqs["base21"]}; !reflect.DeepEqual(got, want) {
		t.Errorf("since/until: %v, want %v", got, want)
	}
	if got := seqs(projections.EventFilter{Types: []string{"survey_opened"}}); !reflect.DeepEqual(got, []uint64{s.seqs["future"]}) {
		t.Errorf("unknown type: %v", got)
	}

	// Readable KPI and token history; never a token hash.
	for _, e := range all {
		switch e.EventId {
		case "evt-k2fix":
			if e.Subject != "EHCPs issued within 20 weeks" || e.Before != "41.6% %" || e.After != "41.6%" || e.Reason != "Typo in the return." {
				t.Errorf("kpi correction: %v", e)
			}
		case "evt-k1feb":
			if e.Subject != "No. of complaints" || e.After != "9" || e.Summary != "Value for Feb-24 recorded: 9" {
				t.Errorf("kpi value: %v", e)
			}
		case "evt-rev2":
			if e.Summary != "Token revoked: Sam Best (lead)" || e.Reason != "Left the partnership." || e.After != "revoked" {
				t.Errorf("token revoked: %v", e)
			}
		case "evt-tok1":
			if !strings.HasPrefix(e.Summary, "Token issued to Pat Officer") {
				t.Errorf("token issued: %v", e)
			}
		case "evt-target1":
			if e.Subject != "No. of complaints" || e.Before != "0" || e.After != "5" || e.Summary != "Target 0 → 5" || e.Reason != "Zero is not realistic." {
				t.Errorf("kpi target: %v", e)
			}
		case "evt-close1":
			if e.After != "A 2, G 1, not rated 1" || e.Summary != `Reporting period "March 2024" closed on 2024-03-31` {
				t.Errorf("period closed: %v", e)
			}
		case "evt-p1rev":
			if e.Before != "SEND Leadership, Management and Governance" || e.After != "Leadership and governance" {
				t.Errorf("priority revised: %v", e)
			}
		case "evt-unhook1":
			if e.Before != "https://dash.example.org/hook" || e.Summary != "Webhook removed: https://dash.example.org/hook" {
				t.Errorf("webhook removed: %v", e)
			}
		case "evt-future":
			if e.Type != "survey_opened" || !strings.Contains(e.Summary, "survey_opened") {
				t.Errorf("unknown: %v", e)
			}
		}
		for _, h := range []string{hashOf("secret-1"), hashOf("secret-2")} {
			for _, f := range []string{e.Before, e.After, e.Reason, e.Commentary, e.Summary, e.Subject} {
				if strings.Contains(f, h) {
					t.Errorf("%s: a token hash in the history", e.Type)
				}
			}
		}
	}

	_, _, err = db.ListEvents(ctx, projections.EventFilter{Plan: plan, PageToken: "not-a-token"})
	wantCode(t, err, domain.EINVALID, "page_token")
	_, _, err = db.ListEvents(ctx, projections.EventFilter{Plan: "bcp-x"})
	wantCode(t, err, domain.ENOTFOUND, "plan")
	def, next, err := db.ListEvents(ctx, projections.EventFilter{})
	if err != nil || len(def) != len(all) || next != "" {
		t.Errorf("default page: %d %q %v", len(def), next, err)
	}
}

func TestKpisPlanTokens(t *testing.T) {
	s := fixture(t)
	db := open(t, "rm.db")
	apply(t, db, s.events)
	ctx := context.Background()

	kpis, err := db.ListKpis(ctx, plan, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(kpis) != 2 || kpis[0].Name != "No. of complaints" || kpis[1].Name != "EHCPs issued within 20 weeks" {
		t.Fatalf("kpis %v", kpis)
	}
	k := kpis[0]
	if k.Id != kpi1 || k.Priority != "1" || k.Direction != "down" || k.Target != "5" || k.National != "n/a" || k.Version != s.seqs["target1"] {
		t.Errorf("kpi 1: %v", k)
	}
	if len(k.Values) != 2 || k.Values[0].Period != "Jan-24" || k.Values[0].Value != "12" || k.Values[1].Period != "Feb-24" || k.Values[1].Corrected {
		t.Errorf("kpi 1 values: %v", k.Values)
	}
	if v := kpis[1].Values; len(v) != 1 || v[0].Value != "41.6%" || !v[0].Corrected {
		t.Errorf("kpi 2 values: %v", v)
	}
	only2, err := db.ListKpis(ctx, plan, "2")
	if err != nil || len(only2) != 1 || only2[0].Id != kpi2 {
		t.Errorf("priority 2: %v %v", only2, err)
	}
	_, err = db.ListKpis(ctx, "bcp-x", "")
	wantCode(t, err, domain.ENOTFOUND, "plan")

	p, err := db.GetPlan(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	if p.Title != "BCP SEND Improvement Plan 2023-26" || p.Actions != 3 || p.Withdrawn != 1 || p.Flagged != 1 || p.Kpis != 2 {
		t.Errorf("plan counts: actions %d withdrawn %d flagged %d kpis %d", p.Actions, p.Withdrawn, p.Flagged, p.Kpis)
	}
	if want := map[string]uint32{"A": 1, "G": 1, "": 1}; !reflect.DeepEqual(p.RagCounts, want) {
		t.Errorf("rag counts %v", p.RagCounts)
	}
	if len(p.Priorities) != 2 || p.Priorities[0].Number != "1" || p.Priorities[0].Actions != 2 || p.Priorities[1].Actions != 1 || p.Priorities[1].Title != "Timeliness of EHC plans" {
		t.Errorf("priorities %v", p.Priorities)
	}
	if len(p.RagScheme) != 2 || p.RagScheme[0].Code != "R" || p.RagScheme[0].Direction != "↓" {
		t.Errorf("scheme %v", p.RagScheme)
	}
	if p.Version != s.seqs["export"] || p.Sequence != s.seq {
		t.Errorf("version %d sequence %d, want %d %d", p.Version, p.Sequence, s.seqs["export"], s.seq)
	}
	if p.Priorities[0].Title != "Leadership and governance" {
		t.Errorf("revised priority: %q", p.Priorities[0].Title)
	}
	_, err = db.GetPlan(ctx, "bcp-x")
	wantCode(t, err, domain.ENOTFOUND, "plan")
	if ok, err := db.PlanExists(ctx, plan); !ok || err != nil {
		t.Errorf("PlanExists %v %v", ok, err)
	}
	if ok, err := db.PlanExists(ctx, "bcp-x"); ok || err != nil {
		t.Errorf("PlanExists(bcp-x) %v %v", ok, err)
	}

	tok, err := db.TokenByID(ctx, "tok-1")
	if err != nil {
		t.Fatal(err)
	}
	if want := (projections.Token{ID: "tok-1", Principal: "u-ppmo", Name: "Pat Officer", Role: domain.RoleEditor, Plan: plan,
		Hash: hashOf("secret-1"), ExpiresAt: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}); tok != want {
		t.Errorf("token %+v", tok)
	}
	tok2, err := db.TokenByID(ctx, "tok-2")
	if err != nil || !tok2.Revoked || tok2.LeadName != "Sam Best" || tok2.Role != domain.RoleLead || !tok2.ExpiresAt.IsZero() {
		t.Errorf("token 2 %+v %v", tok2, err)
	}
	_, err = db.TokenByID(ctx, "nope")
	wantCode(t, err, domain.ENOTFOUND, "")
}

// TestIdempotent: redelivered and overlapping batches never double an
// event.
func TestIdempotent(t *testing.T) {
	s := fixture(t)
	ref := open(t, "ref.db")
	apply(t, ref, s.events)
	want := dump(t, ref)

	apply(t, ref, s.events) // the same batch again
	sameDump(t, "same batch twice", dump(t, ref), want)

	db := open(t, "overlap.db")
	n := len(s.events)
	apply(t, db, s.events[:10])
	apply(t, db, s.events[5:20])
	apply(t, db, s.events[3:8])
	apply(t, db, s.events[15:])
	apply(t, db, s.events[n-1:])
	sameDump(t, "overlapping batches", dump(t, db), want)

	// A batch out of order, with a duplicate inside it.
	shuffled := open(t, "shuffled.db")
	var batch []projections.Event
	for i := n - 1; i >= 0; i-- {
		batch = append(batch, s.events[i])
	}
	batch = append(batch, s.events[4])
	apply(t, shuffled, batch)
	sameDump(t, "reversed batch", dump(t, shuffled), want)

	if cp, err := db.Checkpoint(context.Background()); err != nil || cp != s.seq {
		t.Errorf("checkpoint %d %v, want %d", cp, err, s.seq)
	}
}

// TestRebuildIdentity: however the events are batched, the read model is
// the same.
func TestRebuildIdentity(t *testing.T) {
	s := fixture(t)
	a := open(t, "a.db")
	apply(t, a, s.events)
	want := dump(t, a)
	for _, n := range []int{1, 2, 7} {
		b := open(t, "b.db")
		applyIn(t, b, s.events, n)
		sameDump(t, "batches of "+string(rune('0'+n)), dump(t, b), want)
	}
	if !strings.Contains(want, "## actions (") || !strings.Contains(want, "## schema_version (") || !strings.Contains(want, "## checkpoint (") {
		t.Errorf("dump misses tables")
	}
}

// TestReopen: a fresh cache (states rebuilt from the events table) gives
// the same rows as a warm one.
func TestReopen(t *testing.T) {
	s := fixture(t)
	ref := open(t, "ref.db")
	apply(t, ref, s.events)
	want := dump(t, ref)

	path := filepath.Join(t.TempDir(), "reopen.db")
	for _, cut := range []int{5, 17, 24} {
		db, err := projections.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		apply(t, db, s.events[:cut])
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	db, err := projections.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if cp, _ := db.Checkpoint(context.Background()); cp != s.events[23].Envelope.Sequence {
		t.Errorf("checkpoint after reopen %d", cp)
	}
	applyIn(t, db, s.events, 3)
	sameDump(t, "reopened", dump(t, db), want)
}

// TestCrashSafety: a batch that fails midway leaves the file exactly as it
// was, and the batch applies afterwards.
func TestCrashSafety(t *testing.T) {
	s := fixture(t)
	ref := open(t, "ref.db")
	apply(t, ref, s.events)
	want := dump(t, ref)

	db := open(t, "crash.db")
	ctx := context.Background()
	k := indexOf(s, "rag12") // actions and KPIs exist and are cached
	apply(t, db, s.events[:k])
	before := dump(t, db)
	cp0, _ := db.Checkpoint(ctx)

	// A later event of the batch reuses an event id: the insert fails after
	// several events (touching cached aggregates) have been written.
	bad := s.events[k+6]
	bad.Envelope.EventID = s.events[k].Envelope.EventID
	batch := append(append([]projections.Event{}, s.events[k:k+6]...), bad)
	if err := db.Apply(ctx, batch); err == nil {
		t.Fatal("a duplicate event id applied")
	}
	sameDump(t, "after a failed batch", dump(t, db), before)
	if cp, _ := db.Checkpoint(ctx); cp != cp0 {
		t.Fatalf("checkpoint moved to %d", cp)
	}

	// A cancelled context.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := db.Apply(cctx, s.events[k:]); err == nil {
		t.Fatal("applied with a cancelled context")
	}
	sameDump(t, "after a cancelled batch", dump(t, db), before)

	// An event without a sequence fails the batch.
	nos := s.events[k+2]
	nos.Envelope.Sequence = 0
	if err := db.Apply(ctx, []projections.Event{s.events[k], nos}); err == nil {
		t.Fatal("an event without a sequence applied")
	}
	sameDump(t, "after a batch without sequence", dump(t, db), before)

	apply(t, db, s.events[k:])
	sameDump(t, "re-applied", dump(t, db), want)
}

func TestWaitFor(t *testing.T) {
	s := fixture(t)
	db := open(t, "rm.db")
	ctx := context.Background()
	target := s.seq

	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			errs <- db.WaitFor(wctx, target)
		}()
	}
	time.Sleep(20 * time.Millisecond)
	go func() {
		for i := 0; i < len(s.events); i += 5 {
			if err := db.Apply(ctx, s.events[i:min(i+5, len(s.events))]); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := db.WaitFor(ctx, target); err != nil {
		t.Fatal(err)
	}

	tctx, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := db.WaitFor(tctx, target+100)
	de := wantCode(t, err, domain.ETIMEOUT, "")
	if !strings.Contains(de.Message, fmt.Sprintf("reached sequence %d,", target)) || !strings.Contains(de.Message, fmt.Sprint(target+100)) {
		t.Errorf("message %q should name the sequence reached (%d) and wanted (%d)", de.Message, target, target+100)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("WaitFor did not honour its context")
	}
}

func TestSchemaVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.db")
	db, err := projections.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	// Reopening a current file is fine.
	db, err = projections.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`UPDATE schema_version SET version = ?`, projections.SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	_, err = projections.Open(path)
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("opened a newer schema: %v", err)
	}
}

// TestReadersDuringWrites: queries run on the read pool while batches
// apply, and always see whole batches.
func TestReadersDuringWrites(t *testing.T) {
	s := fixture(t)
	db := open(t, "rm.db")
	ctx := context.Background()
	apply(t, db, s.events[:1])
	done := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				p, err := db.GetPlan(ctx, plan)
				if err != nil {
					t.Error(err)
					return
				}
				if p.Sequence < 1 {
					t.Error("plan read before its batch")
					return
				}
			}
		}()
	}
	applyIn(t, db, s.events, 2)
	close(done)
	wg.Wait()
}

// TestAnotherWriter: if another handle moves the file on, this handle's
// cached states are stale; Apply notices (the checkpoint is not the one it
// committed) and rebuilds them from the events table.
func TestAnotherWriter(t *testing.T) {
	s := fixture(t)
	ref := open(t, "ref.db")
	apply(t, ref, s.events)
	want := dump(t, ref)

	path := filepath.Join(t.TempDir(), "shared.db")
	a, err := projections.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := projections.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	k := indexOf(s, "rag12")
	apply(t, a, s.events[:k])        // a caches 1.2 at action_added
	apply(t, b, s.events[k:k+8])     // b moves 1.2 on
	applyIn(t, a, s.events[k+8:], 4) // a must not fold onto its stale 1.2
	sameDump(t, "two writers", dump(t, a), want)
}
