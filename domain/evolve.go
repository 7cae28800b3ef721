package domain

import "strings"

// Evolve returns the state after env's event. Events of another aggregate
// type, or unknown to this code, leave the state unchanged except for its
// version, so that an older reader never chokes on a newer stream.
func Evolve(s State, env Envelope) State {
	switch st := s.(type) {
	case PlanState:
		return st.evolve(env)
	case PriorityState:
		return st.evolve(env)
	case ActionState:
		return st.evolve(env)
	case KpiState:
		return st.evolve(env)
	case TokenState:
		return st.evolve(env)
	case WebhookState:
		return st.evolve(env)
	}
	return s
}

func (s PlanState) evolve(env Envelope) PlanState {
	s.version = env.Sequence
	switch e := env.Event.(type) {
	case PlanCreated:
		s.slug, s.title, s.scheme = e.Slug, e.Title, e.RagScheme
	case ReportingPeriodClosed:
		s.periods = append(s.periods[:len(s.periods):len(s.periods)], e)
	case PlanVersionPublished:
		s.versions = append(s.versions[:len(s.versions):len(s.versions)], e)
	}
	return s
}

func (s PriorityState) evolve(env Envelope) PriorityState {
	s.version = env.Sequence
	switch e := env.Event.(type) {
	case PriorityAreaAdded:
		s.area = e
	case PriorityAreaRevised:
		s.area = PriorityAreaAdded(e)
	}
	return s
}

func (s ActionState) evolve(env Envelope) ActionState {
	s.version = env.Sequence
	s.lastChanged = env.OccurredAt
	switch e := env.Event.(type) {
	case ActionAdded:
		s.added = e
		s.origin, s.text, s.success = e.Origin, e.Text, e.SuccessMeasures
		s.leads = e.Leads
		s.deadline, s.originalDeadline = e.Deadline, e.Deadline
		s.rag = e.Rag
		s.progress, s.impact = e.Progress, e.Impact
		s.flags = e.Flags
	case ActionRevised:
		s.origin, s.text, s.success = e.Origin, e.Text, e.SuccessMeasures
		s.flags = withoutFlag(s.flags, "origin")
	case RagChanged:
		s.rag = e.To
		s.flags = withoutFlag(s.flags, "rag")
	case DeadlineMoved:
		s.deadline = e.To
		if s.originalDeadline.IsZero() && e.From.IsZero() {
			// A flagged deadline set for the first time is the baseline,
			// not a move of one.
			s.originalDeadline = e.To
		} else {
			s.moves++
		}
		s.flags = withoutFlag(s.flags, "deadline")
	case LeadsReassigned:
		s.leads = e.To
		s.flags = withoutFlag(s.flags, "leads")
	case ProgressRecorded:
		s.progress = e.Text
	case ImpactRecorded:
		s.impact = e.Text
	case ActionWithdrawn:
		s.withdrawn, s.withdrawnReason = true, e.Reason
	case ActionReinstated:
		s.withdrawn, s.withdrawnReason = false, ""
	case FlagResolved:
		s.flags = withoutFlag(s.flags, e.Field)
	}
	return s
}

func withoutFlag(flags []Flag, field string) []Flag {
	var out []Flag
	for _, f := range flags {
		if f.Field != field {
			out = append(out, f)
		}
	}
	return out
}

func (s KpiState) evolve(env Envelope) KpiState {
	s.version = env.Sequence
	switch e := env.Event.(type) {
	case KpiDefined:
		s.def, s.defined = e, e
	case KpiValueRecorded:
		s.values = cloneMap(s.values)
		if _, ok := s.values[e.Period]; !ok {
			s.periods = append(s.periods[:len(s.periods):len(s.periods)], e.Period)
			s.first = cloneMap(s.first)
			s.first[e.Period] = e.Value
		}
		s.values[e.Period] = e.Value
	case KpiValueCorrected:
		s.values = cloneMap(s.values)
		s.values[e.Period] = e.New
		h := make(map[string][]KpiValueCorrected, len(s.history)+1)
		for k, v := range s.history {
			h[k] = v
		}
		h[e.Period] = append(h[e.Period][:len(h[e.Period]):len(h[e.Period])], e)
		s.history = h
	case KpiTargetChanged:
		s.def.Target = e.To
	}
	return s
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (s TokenState) evolve(env Envelope) TokenState {
	s.version = env.Sequence
	switch e := env.Event.(type) {
	case TokenIssued:
		s.issued = e
	case TokenRevoked:
		s.revoked = true
	}
	return s
}

func (s WebhookState) evolve(env Envelope) WebhookState {
	s.version = env.Sequence
	switch e := env.Event.(type) {
	case WebhookRegistered:
		s.registered, s.removed = e, false
	case WebhookRemoved:
		s.removed = true
	}
	return s
}

func foldName(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }
