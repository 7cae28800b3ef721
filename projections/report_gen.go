package projections

import (
	"fmt"
	"time"

	"github.com/sendtrail/sendtrail/domain"
	"github.com/sendtrail/sendtrail/eventpb"
)

// HistoryOptions shape a generated plan history (GenerateHistory).
type HistoryOptions struct {
	Plan    string // slug; default "bench-plan"
	Actions int    // default 150
	Kpis    int    // default 50
	// Late is the share of events back-dated: decided up to three weeks
	// before the latest decision already recorded for their aggregate.
	Late float64
	// Months of business time the history spans; default 36.
	Months int
	// Corrections is the chance that an indicator event corrects a value
	// already recorded (once every period has its value); default 1/400.
	Corrections float64
	Seed        uint64
}

// GenerateHistory returns a deterministic, valid history of n events for
// one plan, decided by domain.Decide as the command side would: the plan
// created on 12 April 2024 with its published RAG table, 8 priority areas,
// the actions (some imported without a valid deadline, a few not started)
// and indicators, then the traffic of a plan in use over the months: RAG
// changes, progress and impact, deadline moves in every reason category
// (re-baselining included, and baselines set for the actions that had no
// deadline), lead changes, revisions, withdrawals and reinstatements, an
// indicator value per period with occasional corrections and target
// changes, a reporting period closed at the end of every month and a plan
// version published every quarter. Sequences are 1..n; recorded times
// ascend with the sequence.
func GenerateHistory(n int, o HistoryOptions) ([]Event, error) {
	g := newHistoryGen(o)
	if err := g.run(n); err != nil {
		return nil, err
	}
	return g.out, nil
}

type historyGen struct {
	o          HistoryOptions
	out        []Event
	seq        uint64
	rng        uint64
	clock      time.Time // business time of the latest decision
	recorded   time.Time
	states     map[aggKey]domain.State
	refs       []string
	kpis       []string
	kpiNext    map[string]int      // indicator id → next period index to record
	kpiPeriods map[string][]string // indicator id → periods recorded
	month      int
	periods    []string
	actors     []domain.Actor
	leads      []domain.Lead
}

func newHistoryGen(o HistoryOptions) *historyGen {
	if o.Plan == "" {
		o.Plan = "bench-plan"
	}
	if o.Actions <= 0 {
		o.Actions = 150
	}
	if o.Kpis <= 0 {
		o.Kpis = 50
	}
	if o.Months <= 0 {
		o.Months = 36
	}
	if o.Corrections <= 0 {
		o.Corrections = 1.0 / 400
	}
	g := &historyGen{o: o, rng: 0x9e3779b97f4a7c15 ^ o.Seed, clock: time.Date(2024, 4, 12, 9, 0, 0, 0, time.UTC),
		states: map[aggKey]domain.State{}, kpiNext: map[string]int{}, kpiPeriods: map[string][]string{}}
	g.recorded = g.clock
	names := []string{"Mary Diffey", "Sam Best", "Julia Coleman", "Jeanette Yorke", "Rachel Gravett", "Sharon Muldoon",
		"Elaine Hurl", "Suzanne Green", "Jude Nash", "Sarah Langdale", "Tanya Smith", "Kelly Ward", "Neil Goddard",
		"Anna Fletcher", "Chris Shaw", "Priya Patel", "Owen Hughes", "Lucy Grant", "Dan Price", "Amira Khan"}
	for i, n := range names {
		g.leads = append(g.leads, domain.Lead{Name: n, Role: []string{"SEND Service Manager", "Head of Service", "Director"}[i%3],
			Organisation: []string{"BCP Council", "NHS Dorset"}[i%2]})
	}
	g.actors = []domain.Actor{
		{ID: "u-ppmo", DisplayName: "Pat Officer", Role: domain.RoleEditor},
		{ID: "u-qa", DisplayName: "Quinn QA", Role: domain.RoleEditor},
		{ID: "u-lead", DisplayName: "Mary Diffey", Role: domain.RoleLead},
	}
	return g
}

func (g *historyGen) next() uint64 { // xorshift: deterministic, no dependency
	g.rng ^= g.rng << 13
	g.rng ^= g.rng >> 7
	g.rng ^= g.rng << 17
	return g.rng
}

func (g *historyGen) intn(n int) int { return int(g.next() % uint64(n)) }

// do decides cmd on the aggregate and appends its events, decided at the
// business time "at" (zero: the clock).
func (g *historyGen) do(t domain.AggregateType, id string, cmd domain.Command, at time.Time) error {
	k := aggKey{t, id}
	st, ok := g.states[k]
	if !ok {
		st = domain.NewState(t)
	}
	evs, err := domain.Decide(st, cmd)
	if err != nil {
		return fmt.Errorf("generate %T: %w", cmd, err)
	}
	if at.IsZero() {
		at = g.clock
	}
	for _, e := range evs {
		g.seq++
		g.recorded = g.recorded.Add(time.Duration(1+g.intn(90)) * time.Second)
		if g.recorded.Before(at) {
			g.recorded = at.Add(time.Duration(g.intn(3600)) * time.Second)
		}
		env := domain.Envelope{
			EventID: fmt.Sprintf("gen-%012d", g.seq), Plan: g.o.Plan, AggregateType: t, AggregateID: id,
			OccurredAt: at, RecordedAt: g.recorded, Actor: g.actors[g.intn(len(g.actors))],
			CorrelationID: fmt.Sprintf("cmd-%012d", g.seq), SchemaVersion: domain.SchemaVersion, Sequence: g.seq, Event: e,
		}
		raw, err := eventpb.Marshal(env)
		if err != nil {
			return err
		}
		g.out = append(g.out, Event{Envelope: env, Raw: raw, Subject: eventpb.Subject(env)})
		st = domain.Evolve(st, env)
	}
	g.states[k] = st
	return nil
}

func (g *historyGen) action(id string) domain.ActionState {
	s, _ := g.states[aggKey{domain.AggAction, id}].(domain.ActionState)
	return s
}

func (g *historyGen) run(n int) error {
	p := g.o.Plan
	scheme := []domain.RagSchemeRow{
		{Code: "R", Description: "High risk", Count: "2", Percent: "1%", Direction: "↓"},
		{Code: "A", Description: "Significant risk", Count: "30", Percent: "22%", Direction: "↓"},
		{Code: "P", Description: "On track", Count: "96", Percent: "70%", Direction: "↑"},
		{Code: "G", Description: "Actioned – implemented and embedded", Count: "7", Percent: "5%", Direction: "↑"},
		{Code: "C", Description: "Completed and can be removed from plan", Count: "0", Percent: "0%", Direction: "↔"},
		{Code: "NS", Description: "Not started", Count: "3", Percent: "2%", Direction: "↓"},
	}
	if err := g.do(domain.AggPlan, p, domain.CreatePlan{Slug: p, Title: "Generated SEND Improvement Plan", RagScheme: scheme}, time.Time{}); err != nil {
		return err
	}
	for i := 1; i <= 8 && len(g.out) < n; i++ {
		num := fmt.Sprint(i)
		if err := g.do(domain.AggPriority, domain.PriorityID(p, num), domain.AddPriorityArea{Number: num, Title: "Priority " + num,
			Summary: "What the area must achieve."}, time.Time{}); err != nil {
			return err
		}
	}
	for i := 0; i < g.o.Actions && len(g.out) < n; i++ {
		ref := fmt.Sprintf("%d.%d", i%8+1, i/8+1)
		id := domain.ActionID(p, ref)
		g.refs = append(g.refs, id)
		leads := []domain.Lead{g.leads[i%len(g.leads)]}
		if i%5 == 0 {
			leads = append(leads, g.leads[(i+7)%len(g.leads)])
		}
		a := domain.AddAction{Ref: ref, Priority: fmt.Sprint(i%8 + 1), Origin: []string{"WSoA", "Local Authority Senior Management Team Action", "DfE Strategic Direction", "SEND Governance review"}[i%4],
			Text: "Deliver the improvement this action describes, with partners.", Leads: leads, LeadsRaw: leads[0].String(),
			SuccessMeasures: "Measured by the scorecard.", Progress: "Started."}
		if i%20 == 7 {
			a.DeadlineRaw = "31/04/24" // imported without a valid deadline: flagged, set later as a baseline
			a.Flags = []domain.Flag{{Field: "deadline", Raw: "31/04/24", Message: "31 April is not a date"}}
		} else {
			d, _ := domain.NewDate(2024, 4+i%9, 1+i%28)
			a.Deadline, a.DeadlineRaw = d.String(), d.String()
		}
		if i%40 == 3 {
			a.Rag = "NS"
		}
		if err := g.do(domain.AggAction, id, a, time.Time{}); err != nil {
			return err
		}
	}
	for i := 0; i < g.o.Kpis && len(g.out) < n; i++ {
		name := fmt.Sprintf("Indicator %d", i+1)
		id := domain.KpiID(p, name)
		g.kpis = append(g.kpis, id)
		dir := []string{"up", "down", ""}[i%3]
		target := []string{"90%", "0", "n/a", "95%", ""}[i%5]
		national := []string{"85%", "n/a", "7.78 (rate)", "49.2%"}[i%4]
		if err := g.do(domain.AggKpi, id, domain.DefineKpi{Priority: fmt.Sprint(i%8 + 1), Name: name, Direction: dir, Target: target, National: national}, time.Time{}); err != nil {
			return err
		}
	}
	if len(g.refs) == 0 || len(g.kpis) == 0 {
		return nil
	}
	start := g.clock
	remaining := n - len(g.out)
	if remaining <= 0 {
		return nil
	}
	span := time.Duration(g.o.Months) * 30 * 24 * time.Hour
	step := span / time.Duration(remaining)
	cats := domain.ReasonCategories()
	version := 2
	for i := 0; len(g.out) < n; i++ {
		g.clock = start.Add(step * time.Duration(i+1))
		// Month ends: close the period, and each quarter publish a version.
		if m := monthsBetween(start, g.clock); m > g.month {
			g.month = m
			end := domain.DateOf(time.Date(g.clock.Year(), g.clock.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1))
			if err := g.do(domain.AggPlan, p, domain.ClosePeriod{Label: period(m - 1), Date: end.String(), RagCounts: g.ragCounts()}, time.Time{}); err != nil {
				return err
			}
			if m%3 == 0 && len(g.out) < n {
				if err := g.do(domain.AggPlan, p, domain.PublishPlanVersion{Version: fmt.Sprintf("1.%d", version), Note: "Quarterly refresh", Date: end.String()}, time.Time{}); err != nil {
					return err
				}
				version++
			}
			continue
		}
		id := g.refs[g.intn(len(g.refs))]
		st := g.action(id)
		at := time.Time{}
		if g.o.Late > 0 && float64(g.next()%10000) < g.o.Late*10000 {
			at = g.clock.Add(-time.Duration(1+g.intn(21*24)) * time.Hour)
		}
		var (
			t   = domain.AggAction
			cmd domain.Command
		)
		r := g.intn(1000)
		switch {
		case st.Withdrawn():
			if r >= 50 {
				continue
			}
			cmd = domain.ReinstateAction{Reason: "Back in the plan after review."}
		case r < 250:
			codes := []string{"R", "A", "A", "P", "P", "P", "G", "C", "NS"}
			cmd = domain.ChangeRag{Rag: codes[g.intn(len(codes))], Commentary: "Reviewed at the board."}
		case r < 650:
			cmd = domain.RecordProgress{Text: fmt.Sprintf("Progress at event %d: workstream meeting held, actions agreed.", g.seq+1)}
		case r < 800:
			cmd = domain.RecordImpact{Text: fmt.Sprintf("Impact at event %d: families report clearer communication.", g.seq+1)}
		case r < 806 || (st.Deadline().IsZero() && r < 830):
			from := st.Deadline()
			if from.IsZero() {
				from, _ = domain.NewDate(2024, 4, 30)
			}
			cat := cats[g.intn(len(cats))]
			days := []int{14, 30, 31, 61, 91, 92, 183, -7}[g.intn(8)]
			to := domain.DateOf(from.Time().AddDate(0, 0, days))
			cmd = domain.MoveDeadline{Deadline: to.String(), Category: cat.String(), Reason: "Agreed at the board: " + cat.String() + "."}
		case r < 816:
			// Leads change rarely: one in ten of these.
			if g.intn(10) == 0 {
				cmd = domain.ReassignLeads{Leads: []domain.Lead{g.leads[g.intn(len(g.leads))]}, Reason: "Restructure."}
			} else {
				cmd = domain.RecordProgress{Text: fmt.Sprintf("Progress at event %d: reviewed with the lead.", g.seq+1)}
			}
		case r < 821:
			cmd = domain.ReviseAction{Origin: st.Origin(), Text: fmt.Sprintf("Revised action text %d.", g.seq+1), SuccessMeasures: st.SuccessMeasures()}
		case r < 823:
			cmd = domain.WithdrawAction{Reason: "Merged into another action."}
		case r < 826 && len(st.Flags()) > 0:
			cmd = domain.ResolveFlag{Field: st.Flags()[0].Field, Note: "Checked with the lead."}
		case r < 990:
			// An indicator's value for the next period that has ended.
			t = domain.AggKpi
			kid := g.kpis[g.intn(len(g.kpis))]
			id = kid
			if k := g.kpiNext[kid]; k < g.month {
				v := fmt.Sprintf("%d.%d%%", 20+g.intn(70), g.intn(10))
				if g.intn(12) == 0 {
					v = []string{"TBC", "Being scoped", "Not avail"}[g.intn(3)]
				}
				cmd = domain.RecordKpiValue{Period: period(k), Value: v}
				g.kpiNext[kid] = k + 1
				g.kpiPeriods[kid] = append(g.kpiPeriods[kid], period(k))
			} else if ps := g.kpiPeriods[kid]; len(ps) > 0 && float64(g.next()%10000) < g.o.Corrections*10000 {
				cmd = domain.CorrectKpiValue{Period: ps[g.intn(len(ps))], Value: fmt.Sprintf("%d.%d%%", 20+g.intn(70), g.intn(10)), Reason: "Late return from the provider."}
			} else {
				t, id = domain.AggAction, g.refs[g.intn(len(g.refs))]
				cmd = domain.RecordProgress{Text: fmt.Sprintf("Progress at event %d: on track.", g.seq+1)}
			}
		default:
			if g.intn(10) == 0 {
				t = domain.AggKpi
				id = g.kpis[g.intn(len(g.kpis))]
				cmd = domain.ChangeKpiTarget{Target: fmt.Sprintf("%d%%", 80+g.intn(20)), Reason: "Target agreed with the adviser."}
			} else {
				cmd = domain.RecordImpact{Text: fmt.Sprintf("Impact at event %d.", g.seq+1)}
			}
		}
		if cmd == nil {
			continue
		}
		if err := g.do(t, id, cmd, at); err != nil {
			if domain.ErrorCode(err) == domain.EPRECONDITION {
				continue
			}
			return err
		}
	}
	return nil
}

// period is the label of the plan's k-th monthly period: "Apr-24", "May-24", …
func period(k int) string {
	return time.Date(2024, time.Month(4+k), 1, 0, 0, 0, 0, time.UTC).Format("Jan-06")
}

func monthsBetween(a, b time.Time) int {
	return (b.Year()-a.Year())*12 + int(b.Month()) - int(a.Month())
}

func (g *historyGen) ragCounts() map[string]int {
	counts := map[string]int{"": 0}
	for _, r := range domain.RAGCodes() {
		counts[r.String()] = 0
	}
	for _, id := range g.refs {
		if s := g.action(id); s.Exists() && !s.Withdrawn() {
			counts[s.Rag().String()]++
		}
	}
	return counts
}
