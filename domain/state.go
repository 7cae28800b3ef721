package domain

import "time"

// State is the state of one aggregate, folded from its events by Evolve.
// Version is the stream sequence of the aggregate's last event (0: none).
type State interface {
	AggregateType() AggregateType
	Version() uint64
	Exists() bool
}

// NewState returns the empty state of an aggregate of type t.
func NewState(t AggregateType) State {
	switch t {
	case AggPlan:
		return PlanState{}
	case AggPriority:
		return PriorityState{}
	case AggAction:
		return ActionState{}
	case AggKpi:
		return KpiState{}
	case AggToken:
		return TokenState{}
	case AggWebhook:
		return WebhookState{}
	}
	return nil
}

// PlanState is a plan's own aggregate.
type PlanState struct {
	version  uint64
	slug     string
	title    string
	scheme   []RagSchemeRow
	periods  []ReportingPeriodClosed
	versions []PlanVersionPublished
}

func (PlanState) AggregateType() AggregateType { return AggPlan }
func (s PlanState) Version() uint64            { return s.version }
func (s PlanState) Exists() bool               { return s.slug != "" }
func (s PlanState) Slug() string               { return s.slug }
func (s PlanState) Title() string              { return s.title }

// RagScheme returns the plan's published RAG table, as imported.
func (s PlanState) RagScheme() []RagSchemeRow { return s.scheme }

// Periods returns the closed reporting periods, oldest first.
func (s PlanState) Periods() []ReportingPeriodClosed { return s.periods }

// Versions returns the published plan versions, oldest first.
func (s PlanState) Versions() []PlanVersionPublished { return s.versions }

// PriorityState is a priority area.
type PriorityState struct {
	version uint64
	area    PriorityAreaAdded
}

func (PriorityState) AggregateType() AggregateType { return AggPriority }
func (s PriorityState) Version() uint64            { return s.version }
func (s PriorityState) Exists() bool               { return s.area.Number != "" }

// Area returns the priority area's fields.
func (s PriorityState) Area() PriorityAreaAdded { return s.area }

// ActionState is one action of the plan.
type ActionState struct {
	version          uint64
	added            ActionAdded // as first added
	origin, text     string
	success          string
	leads            []Lead
	deadline         Date
	originalDeadline Date
	rag              RAG
	progress, impact string
	flags            []Flag
	withdrawn        bool
	withdrawnReason  string
	moves            int
	lastChanged      time.Time
}

func (ActionState) AggregateType() AggregateType { return AggAction }
func (s ActionState) Version() uint64            { return s.version }
func (s ActionState) Exists() bool               { return s.added.Ref != "" }
func (s ActionState) Ref() string                { return s.added.Ref }
func (s ActionState) Priority() string           { return s.added.Priority }
func (s ActionState) Origin() string             { return s.origin }
func (s ActionState) Text() string               { return s.text }
func (s ActionState) SuccessMeasures() string    { return s.success }
func (s ActionState) Leads() []Lead              { return s.leads }
func (s ActionState) LeadsRaw() string           { return s.added.LeadsRaw }
func (s ActionState) Deadline() Date             { return s.deadline }
func (s ActionState) OriginalDeadline() Date     { return s.originalDeadline }
func (s ActionState) DeadlineRaw() string        { return s.added.DeadlineRaw }
func (s ActionState) Milestones() []Milestone    { return s.added.Milestones }
func (s ActionState) Rag() RAG                   { return s.rag }
func (s ActionState) Trend() string              { return s.added.Trend }
func (s ActionState) Progress() string           { return s.progress }
func (s ActionState) Impact() string             { return s.impact }
func (s ActionState) Flags() []Flag              { return s.flags }
func (s ActionState) Withdrawn() bool            { return s.withdrawn }
func (s ActionState) WithdrawnReason() string    { return s.withdrawnReason }
func (s ActionState) DeadlineMoves() int         { return s.moves }

// LastChanged is the business time of the action's last event.
func (s ActionState) LastChanged() time.Time { return s.lastChanged }

// Added returns the action as it was first added.
func (s ActionState) Added() ActionAdded { return s.added }

// IsLedBy reports whether a lead with this name (space folded, case
// ignored) leads the action.
func (s ActionState) IsLedBy(name string) bool {
	n := foldName(name)
	if n == "" {
		return false
	}
	for _, l := range s.leads {
		if foldName(l.Name) == n {
			return true
		}
	}
	return false
}

// KpiState is one indicator with its values by period.
type KpiState struct {
	version uint64
	defined KpiDefined        // as first defined
	def     KpiDefined        // with the current target
	periods []string          // in the order first recorded
	values  map[string]string // period → value
	first   map[string]string // period → value as first recorded
	history map[string][]KpiValueCorrected
}

func (KpiState) AggregateType() AggregateType { return AggKpi }
func (s KpiState) Version() uint64            { return s.version }
func (s KpiState) Exists() bool               { return s.def.Name != "" }

// Definition returns the indicator's definition with its current target.
func (s KpiState) Definition() KpiDefined { return s.def }

// Periods returns the periods with a value, in the order first recorded.
func (s KpiState) Periods() []string { return s.periods }

// Value returns the value recorded for period.
func (s KpiState) Value(period string) (string, bool) { v, ok := s.values[period]; return v, ok }

// Corrections returns the corrections of period's value, oldest first.
func (s KpiState) Corrections(period string) []KpiValueCorrected { return s.history[period] }

// TokenState is an issued bearer token.
type TokenState struct {
	version uint64
	issued  TokenIssued
	revoked bool
}

func (TokenState) AggregateType() AggregateType { return AggToken }
func (s TokenState) Version() uint64            { return s.version }
func (s TokenState) Exists() bool               { return s.issued.TokenID != "" }
func (s TokenState) Issued() TokenIssued        { return s.issued }
func (s TokenState) Revoked() bool              { return s.revoked }

// WebhookState is a registered webhook.
type WebhookState struct {
	version    uint64
	registered WebhookRegistered
	removed    bool
}

func (WebhookState) AggregateType() AggregateType    { return AggWebhook }
func (s WebhookState) Version() uint64               { return s.version }
func (s WebhookState) Exists() bool                  { return s.registered.WebhookID != "" && !s.removed }
func (s WebhookState) Registered() WebhookRegistered { return s.registered }
