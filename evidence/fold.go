package evidence

import (
	"sort"
	"time"

	"github.com/sendtrail/sendtrail/domain"
)

// view is a plan as the events up to some leaf make it: every aggregate's
// state folded with the domain's own Evolve, exactly as the read model and
// the command handler fold them. The exporter and the verifier build it
// the same way, so the verifier's spreadsheets are re-derived, not read.
type view struct {
	plan      domain.PlanState
	planID    string
	priority  map[string]domain.PriorityState
	actions   map[string]domain.ActionState
	kpis      map[string]domain.KpiState
	kpiOrder  []string // kpi ids in the order defined
	others    map[string]domain.State
	leaves    uint64
	firstSeq  uint64
	lastSeq   uint64
	firstTime time.Time // recorded time of the first event
	lastTime  time.Time // recorded time of the last event
	byType    map[string]int
}

func newView() *view {
	return &view{
		priority: map[string]domain.PriorityState{},
		actions:  map[string]domain.ActionState{},
		kpis:     map[string]domain.KpiState{},
		others:   map[string]domain.State{},
		byType:   map[string]int{},
	}
}

// step is one event applied to the view, with the aggregate's state
// before and after it.
type step struct {
	leaf       uint64
	env        domain.Envelope
	prev, next domain.State
}

// apply folds the next event (leaf v.leaves) into the view.
func (v *view) apply(env domain.Envelope) step {
	st := step{leaf: v.leaves, env: env}
	if v.leaves == 0 {
		v.firstSeq, v.firstTime = env.Sequence, env.RecordedAt
	}
	v.leaves++
	v.lastSeq = env.Sequence
	if env.RecordedAt.After(v.lastTime) {
		v.lastTime = env.RecordedAt
	}
	if env.Event == nil {
		v.byType["unknown"]++
		return st
	}
	v.byType[env.Event.Type()]++
	id := env.AggregateID
	switch env.AggregateType {
	case domain.AggPlan:
		st.prev = v.plan
		v.plan = domain.Evolve(v.plan, env).(domain.PlanState)
		v.planID = id
		st.next = v.plan
	case domain.AggPriority:
		st.prev = v.priority[id]
		v.priority[id] = domain.Evolve(v.priority[id], env).(domain.PriorityState)
		st.next = v.priority[id]
	case domain.AggAction:
		st.prev = v.actions[id]
		v.actions[id] = domain.Evolve(v.actions[id], env).(domain.ActionState)
		st.next = v.actions[id]
	case domain.AggKpi:
		prev, ok := v.kpis[id]
		st.prev = prev
		next := domain.Evolve(prev, env).(domain.KpiState)
		if !ok && next.Exists() {
			v.kpiOrder = append(v.kpiOrder, id)
		}
		v.kpis[id] = next
		st.next = next
	default:
		key := string(env.AggregateType) + "/" + id
		prev := v.others[key]
		if prev == nil {
			prev = domain.NewState(env.AggregateType)
		}
		if prev != nil {
			st.prev = prev
			st.next = domain.Evolve(prev, env)
			v.others[key] = st.next
		}
	}
	return st
}

// sortedActions returns the actions that exist, in ref order
// (1.2 < 1.10 < 2.1).
func (v *view) sortedActions() []domain.ActionState {
	out := make([]domain.ActionState, 0, len(v.actions))
	for _, a := range v.actions {
		if a.Exists() {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		ki, kj := naturalKey(out[i].Ref()), naturalKey(out[j].Ref())
		if ki != kj {
			return ki < kj
		}
		return out[i].Ref() < out[j].Ref()
	})
	return out
}

// sortedPriorities returns the priority areas in number order.
func (v *view) sortedPriorities() []domain.PriorityAreaAdded {
	var out []domain.PriorityAreaAdded
	for _, p := range v.priority {
		if p.Exists() {
			out = append(out, p.Area())
		}
	}
	sort.Slice(out, func(i, j int) bool { return naturalKey(out[i].Number) < naturalKey(out[j].Number) })
	return out
}

// sortedKpis returns the indicators in the order they were defined.
func (v *view) sortedKpis() []domain.KpiState {
	out := make([]domain.KpiState, 0, len(v.kpiOrder))
	for _, id := range v.kpiOrder {
		out = append(out, v.kpis[id])
	}
	return out
}

// priorityTitle names a priority area by number ("3. Early help").
func (v *view) priorityTitle(number string) string {
	for _, p := range v.priority {
		if a := p.Area(); p.Exists() && a.Number == number {
			return a.Number + ". " + a.Title
		}
	}
	return number
}

// naturalKey orders refs and numbers naturally: runs of digits compare as
// numbers, so 1.2 < 1.10 < 2.1 and 4.1a < 4.1b < 4.2.
func naturalKey(s string) string { return domain.NaturalKey(s) }

// ragRank orders ratings from worst to best for direction of travel; 0
// for not started and not rated, which have no direction.
func ragRank(r domain.RAG) int {
	switch r {
	case domain.RagRed:
		return 1
	case domain.RagAmber:
		return 2
	case domain.RagPurple:
		return 3
	case domain.RagGreen:
		return 4
	case domain.RagDone:
		return 5
	}
	return 0
}

// ragDirection says whether a change of rating is an improvement.
func ragDirection(from, to domain.RAG) string {
	f, t := ragRank(from), ragRank(to)
	switch {
	case f == 0 || t == 0:
		return "changed"
	case t > f:
		return "improved"
	case t < f:
		return "worsened"
	}
	return "unchanged"
}

// ragCounts counts the live (not withdrawn) actions by code ("" = not yet
// rated).
func (v *view) ragCounts() (map[string]int, int) {
	counts := map[string]int{}
	total := 0
	for _, a := range v.actions {
		if a.Exists() && !a.Withdrawn() {
			counts[a.Rag().String()]++
			total++
		}
	}
	return counts, total
}

// overdue reports whether an action is overdue on day: a deadline before
// it, not completed or actioned, not withdrawn.
func overdue(a domain.ActionState, day domain.Date) bool {
	d := a.Deadline()
	return !a.Withdrawn() && !d.IsZero() && d.Before(day) && !a.Rag().Closed()
}
