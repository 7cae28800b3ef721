package projections

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/sendtrail/sendtrail/domain"
	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
)

// The reports agree with answers computed the slow, obvious way from the
// events, at dates across a history with back-dated decisions.
func TestReportsAgreeWithTheEvents(t *testing.T) {
	ctx := context.Background()
	db, events := openHistory(t, 4000, HistoryOptions{Actions: 24, Kpis: 6, Late: 0.05, Months: 8, Seed: 11, Corrections: 0.1})
	const plan = "bench-plan"
	first := domain.DateOf(events[0].Envelope.OccurredAt)
	silentSeen, correctionsSeen := 0, 0
	defer func() {
		if silentSeen == 0 || correctionsSeen == 0 {
			t.Errorf("the history proves little: %d silent slips, %d corrections seen", silentSeen, correctionsSeen)
		}
	}()
	for _, day := range []int{0, 20, 45, 90, 150, 230, 400} {
		d := domain.DateOf(first.Time().AddDate(0, 0, day))
		at := AsOf{Date: d}
		c := cutoff{business: true, before: endOfDay(d), at: at}
		states := bruteForce(t, events, c)

		// RAG summary: counts of actions not withdrawn.
		sum, err := db.RagSummary(ctx, plan, at)
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		want := map[string]uint32{}
		var actions uint32
		for _, s := range states {
			if a, ok := s.(domain.ActionState); ok && a.Exists() && !a.Withdrawn() {
				want[a.Rag().String()]++
				actions++
			}
		}
		if sum.Actions != actions || sum.NotRated.Count != want[""] {
			t.Fatalf("%s: summary has %d actions, %d not rated; want %d, %d", d, sum.Actions, sum.NotRated.Count, actions, want[""])
		}
		for _, r := range sum.Rows {
			if r.Count != want[r.Code] {
				t.Fatalf("%s: %s counts %d, want %d", d, r.Code, r.Count, want[r.Code])
			}
		}

		// Moves that count: decided by the end of d.
		type mv struct {
			id       string
			e        domain.DeadlineMoved
			occurred time.Time
		}
		var moves []mv
		for _, ev := range events {
			if m, ok := ev.Envelope.Event.(domain.DeadlineMoved); ok && c.includes(ev.Envelope.Sequence, ev.Envelope.OccurredAt) {
				moves = append(moves, mv{ev.Envelope.AggregateID, m, ev.Envelope.OccurredAt})
			}
		}

		// Silent slips on d.
		slips, err := db.SilentSlips(ctx, plan, d, AsOf{}, "", "")
		if err != nil {
			t.Fatal(err)
		}
		var wantSilent []string
		for k, s := range states {
			a, ok := s.(domain.ActionState)
			if !ok || !a.Exists() || a.Withdrawn() || a.Deadline().IsZero() || !a.Deadline().Before(d) || a.Rag().Closed() {
				continue
			}
			explained := false
			for _, m := range moves {
				if m.id == k.id && !domain.DateOf(m.occurred).Before(a.Deadline()) {
					explained = true
				}
			}
			if !explained {
				wantSilent = append(wantSilent, a.Ref())
			}
		}
		silentSeen += len(slips)
		var gotSilent []string
		for _, s := range slips {
			gotSilent = append(gotSilent, s.Ref)
			if s.DaysOverdue <= 0 {
				t.Fatalf("%s: %s is %d days overdue", d, s.Ref, s.DaysOverdue)
			}
		}
		slices.Sort(wantSilent)
		slices.Sort(gotSilent)
		if !slices.Equal(gotSilent, wantSilent) {
			t.Fatalf("%s: silent slips %v, want %v", d, gotSilent, wantSilent)
		}
		for i := 1; i < len(slips); i++ {
			if slips[i].DaysOverdue > slips[i-1].DaysOverdue {
				t.Fatalf("%s: silent slips not most overdue first", d)
			}
		}

		// Slip analysis: totals over every move that is not a baseline.
		an, err := db.DeadlineSlips(ctx, SlipFilter{Plan: plan, AsOf: at, PageSize: 7})
		if err != nil {
			t.Fatal(err)
		}
		var n, slipsN, reb uint32
		var daysSlipped, daysReb int32
		perAction := map[string]int{}
		for _, m := range moves {
			if m.e.From.IsZero() {
				continue
			}
			n++
			days := int32(m.e.From.DaysUntil(m.e.To))
			if m.e.Category.IsSlip() {
				slipsN++
				daysSlipped += days
				perAction[m.id]++
			} else {
				reb++
				daysReb += days
			}
		}
		tot := an.Total
		if tot.Moves != n || tot.Slips != slipsN || tot.DaysSlipped != daysSlipped || tot.Rebaselined != reb || tot.DaysRebaselined != daysReb {
			t.Fatalf("%s: totals %+v; want moves %d slips %d days %d rebaselined %d (%d days)", d, tot, n, slipsN, daysSlipped, reb, daysReb)
		}
		var byPri, byCat uint32
		for _, p := range an.ByPriority {
			byPri += p.Moves
		}
		for _, p := range an.ByCategory {
			byCat += p.Moves
		}
		if byPri != n || byCat != n {
			t.Fatalf("%s: by priority %d, by category %d, want %d", d, byPri, byCat, n)
		}
		repeat := 0
		for _, k := range perAction {
			if k >= 2 {
				repeat++
			}
		}
		if len(an.RepeatSlippers) != repeat {
			t.Fatalf("%s: %d repeat slippers, want %d", d, len(an.RepeatSlippers), repeat)
		}
		// Paging returns every move once.
		seen := 0
		for page := an; ; {
			seen += len(page.Moves)
			if page.NextPageToken == "" {
				break
			}
			if page, err = db.DeadlineSlips(ctx, SlipFilter{Plan: plan, AsOf: at, PageSize: 7, PageToken: page.NextPageToken}); err != nil {
				t.Fatal(err)
			}
		}
		if uint32(seen) != n {
			t.Fatalf("%s: pages held %d moves, want %d", d, seen, n)
		}

		// Deadline trails of the actions moved.
		for k, s := range states {
			a, ok := s.(domain.ActionState)
			if !ok || !a.Exists() || a.DeadlineMoves() == 0 {
				continue
			}
			tr, err := db.DeadlineTrail(ctx, plan, a.Ref(), at)
			if err != nil {
				t.Fatal(err)
			}
			var sl int32
			for _, m := range moves {
				if m.id == k.id && m.e.Category.IsSlip() && !m.e.From.IsZero() {
					sl += int32(m.e.From.DaysUntil(m.e.To))
				}
			}
			if tr.Deadline != a.Deadline().String() || tr.OriginalDeadline != a.OriginalDeadline().String() ||
				tr.MoveCount != uint32(a.DeadlineMoves()) || tr.DaysSlipped != sl {
				t.Fatalf("%s: trail of %s: %s (orig %s), %d moves, %d days; want %s (orig %s), %d, %d", d, a.Ref(),
					tr.Deadline, tr.OriginalDeadline, tr.MoveCount, tr.DaysSlipped, a.Deadline(), a.OriginalDeadline(), a.DeadlineMoves(), sl)
			}
		}

		// Scorecard: the values each indicator held.
		sc, err := db.KpiScorecard(ctx, plan, "", at)
		if err != nil {
			t.Fatal(err)
		}
		nk := 0
		for _, s := range states {
			if k, ok := s.(domain.KpiState); ok && k.Exists() {
				nk++
				var got *pb.KpiScore
				for _, x := range sc {
					if x.Name == k.Definition().Name {
						got = x
					}
				}
				if got == nil || len(got.Series) != len(k.Periods()) {
					t.Fatalf("%s: indicator %s missing or has the wrong series", d, k.Definition().Name)
				}
				for i, p := range k.Periods() {
					v, _ := k.Value(p)
					correctionsSeen += len(k.Corrections(p))
					if got.Series[i].Period != p || got.Series[i].Value != v || len(got.Series[i].Corrections) != len(k.Corrections(p)) {
						t.Fatalf("%s: %s %s = %q (%d corrections), want %q (%d)", d, k.Definition().Name, p, got.Series[i].Value,
							len(got.Series[i].Corrections), v, len(k.Corrections(p)))
					}
				}
				if got.Target != k.Definition().Target {
					t.Fatalf("%s: target %q, want %q", d, got.Target, k.Definition().Target)
				}
			}
		}
		if len(sc) != nk {
			t.Fatalf("%s: %d indicators, want %d", d, len(sc), nk)
		}

		// Explain: one line per event of the action that counts.
		for k, s := range states {
			a, ok := s.(domain.ActionState)
			if !ok || !a.Exists() {
				continue
			}
			ex, err := db.ExplainAction(ctx, plan, a.Ref(), at, 0, "")
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, ev := range events {
				if ev.Envelope.AggregateID == k.id && c.includes(ev.Envelope.Sequence, ev.Envelope.OccurredAt) {
					n++
				}
			}
			if len(ex.Lines) != n || !strings.HasPrefix(ex.Summary, "As of") {
				t.Fatalf("%s: explain %s: %d lines, want %d; summary %q", d, a.Ref(), len(ex.Lines), n, ex.Summary)
			}
			break
		}
	}
}

func TestParseKpiValue(t *testing.T) {
	for _, c := range []struct {
		in        string
		num       float64
		numeric   bool
		available bool
		percent   bool
		qualified bool
	}{
		{"41.6%", 41.6, true, true, true, false},
		{"41.6% %", 41.6, true, true, true, false},
		{"1,656", 1656, true, true, false, false},
		{"1632", 1632, true, true, false, false},
		{"3.9M", 3.9e6, true, true, false, false},
		{"£1.2m", 1.2e6, true, true, false, false},
		{"11.2", 11.2, true, true, false, false},
		{"0", 0, true, true, false, false},
		{"7.78 (rate)", 7.78, true, true, false, true},
		{"1 (0.10)", 1, true, true, false, true},
		{"389,171", 389171, true, true, false, false},
		{"TBC", 0, false, false, false, false},
		{"Being scoped", 0, false, false, false, false},
		{"Not avail", 0, false, false, false, false},
		{"n/a", 0, false, false, false, false},
		{"-", 0, false, false, false, false},
		{"", 0, false, false, false, false},
		{"HT 1-3 = 29", 0, false, true, false, false},
	} {
		v := ParseKpiValue(c.in)
		if v.Number != c.num || v.Numeric != c.numeric || v.Available != c.available || v.Percent != c.percent || v.Qualified != c.qualified {
			t.Errorf("ParseKpiValue(%q) = %+v", c.in, v)
		}
	}
}

func TestScore(t *testing.T) {
	v := kpiView{name: "% of new EHCPs issued within 20 weeks", direction: "up", target: "95%", natnl: "49.2%",
		points: []kpiPointView{{"Dec-23", "12.2%"}, {"Jan-24", "TBC"}, {"Feb-24", "52.9%"}, {"Mar-24", "67.1%"}}}
	s := score(v, nil)
	if s.Latest.Period != "Mar-24" || s.Previous.Period != "Feb-24" || s.Movement != "up" || s.Trend != "improved" ||
		s.TargetStatus != "not met" || s.NationalStatus != "better" || !slices.Equal(s.NotAvailable, []string{"Jan-24: TBC"}) {
		t.Errorf("score = %+v", s)
	}
	// Lower is better; a national total is no peer of a local count; a
	// rate is not compared.
	s = score(kpiView{name: "No. of EHCPs", direction: "down", target: "n/a", natnl: "389,171",
		points: []kpiPointView{{"Feb-24", "3877"}, {"Mar-24", "3949"}}}, nil)
	if s.Movement != "up" || s.Trend != "worsened" || s.TargetStatus != "" || s.NationalStatus != "" {
		t.Errorf("EHCPs: %+v", s)
	}
	s = score(kpiView{name: "No. of complaints", direction: "down", target: "0", natnl: "n/a",
		points: []kpiPointView{{"Feb-24", "8"}, {"Mar-24", "16"}}}, nil)
	if s.TargetStatus != "not met" || s.Trend != "worsened" {
		t.Errorf("complaints: %+v", s)
	}
	s = score(kpiView{name: "SALT - Total number of referrals received", direction: "", points: []kpiPointView{{"Feb-24", "102"}, {"Mar-24", "98"}}}, nil)
	if s.Movement != "down" || s.Trend != "" {
		t.Errorf("no direction: %+v", s)
	}
}

func TestBecause(t *testing.T) {
	for in, want := range map[string]string{
		"Restructure delayed":        ": restructure delayed",
		"DfE adviser agreed.":        ": DfE adviser agreed",
		"SEND team short":            ": SEND team short",
		"31/04/24 is not a date":     ": 31/04/24 is not a date",
		"":                           "",
		"I will follow up next week": ": I will follow up next week",
	} {
		if got := because(in); got != want {
			t.Errorf("because(%q) = %q, want %q", in, got, want)
		}
	}
}

// The running totals give the same slip analysis as a scan of the moves.
func TestSlipRollupIsTheScan(t *testing.T) {
	ctx := context.Background()
	db, _ := openHistory(t, 12000, HistoryOptions{Actions: 20, Kpis: 3, Late: 0.05, Months: 10, Seed: 5})
	defer func() { slipRollup = true }()
	for _, f := range []SlipFilter{{}, {Priority: "3"}, {Category: "capacity"}, {Priority: "2", Category: "rebaselined"}, {Priority: "9"}} {
		f.Plan = "bench-plan"
		slipRollup = true
		fast, err := db.DeadlineSlips(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		slipRollup = false
		scan, err := db.DeadlineSlips(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(scan, fast, protocmp.Transform()); d != "" {
			t.Errorf("%+v: rollup differs from the scan (-scan +rollup):\n%s", f, d)
		}
		if f.Priority == "" && f.Category == "" && (fast.Total.Moves < 50 || len(fast.RepeatSlippers) == 0 || len(fast.ByLead) < 3) {
			t.Errorf("the history has too few moves to test: %v", fast.Total)
		}
	}
}
