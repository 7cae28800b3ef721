package domain

import "time"

// AggregateType names the kind of aggregate an event belongs to; it is the
// third token of the event's NATS subject.
type AggregateType string

// The aggregate types.
const (
	AggPlan     AggregateType = "plan"
	AggPriority AggregateType = "priority"
	AggAction   AggregateType = "action"
	AggKpi      AggregateType = "kpi"
	AggToken    AggregateType = "token"
	AggWebhook  AggregateType = "webhook"
)

// Role is a principal's role on a plan.
type Role string

// The roles of DESIGN.md.
const (
	RoleAdmin     Role = "admin"
	RoleEditor    Role = "editor"
	RoleLead      Role = "lead"
	RoleViewer    Role = "viewer"
	RoleInspector Role = "inspector"
	RoleService   Role = "service"
)

// ParseRole parses a role name.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleAdmin, RoleEditor, RoleLead, RoleViewer, RoleInspector, RoleService:
		return r, nil
	}
	return "", Invalid("role", "%q is not a role (want admin, editor, lead, viewer, inspector or service)", s)
}

// Actor is the authenticated principal behind an event, never a name the
// client typed.
type Actor struct {
	ID          string
	DisplayName string
	Role        Role
}

// Envelope carries an event with its metadata. Sequence is the event's
// position in the stream; it is assigned by the store, not serialised.
type Envelope struct {
	EventID       string
	Plan          string
	AggregateType AggregateType
	AggregateID   string
	OccurredAt    time.Time // business time: when the board decided
	RecordedAt    time.Time // system time: when sendtrail recorded it
	Actor         Actor
	CorrelationID string // the command id; also the JetStream Nats-Msg-Id
	SchemaVersion int
	Sequence      uint64
	Event         Event
}

// SchemaVersion is the version of the event schema this code writes.
const SchemaVersion = 1

// Event is one fact. Type returns the snake_case name used as the last token
// of the NATS subject ("rag_changed").
type Event interface {
	Type() string
}

// Flag marks an imported value that could not be taken as it was written: the
// raw text is kept and the flag is visible until resolved.
type Flag struct {
	Field   string // "deadline", "rag", "origin"
	Raw     string // the text as written
	Message string // why it was flagged
}

// Milestone is one dated line of a multi-line deadline cell.
type Milestone struct {
	Date Date
	Text string
}

// --- plan ---

// PlanCreated starts a plan. RagScheme is the plan's own RAG table as
// published (descriptions and the counts it printed), kept so that reports
// can say where the published counts disagree with the actions.
type PlanCreated struct {
	Slug      string
	Title     string
	RagScheme []RagSchemeRow
}

// RagSchemeRow is a row of a plan's published RAG table, as written.
type RagSchemeRow struct {
	Code, Description, Count, Percent, Direction string
}

// PriorityAreaAdded adds one of the plan's priority areas.
type PriorityAreaAdded struct {
	Number           string
	Title            string
	Summary          string
	ParentCarerVoice string
}

// PriorityAreaRevised changes a priority area's texts.
type PriorityAreaRevised struct {
	Number           string
	Title            string
	Summary          string
	ParentCarerVoice string
}

// ReportingPeriodClosed records the board's snapshot of RAG counts that the
// next direction of travel compares against.
type ReportingPeriodClosed struct {
	Label     string
	Date      Date
	RagCounts map[string]int // code ("" = not yet rated) → count
}

// PlanVersionPublished is a row of the plan's version-control table.
type PlanVersionPublished struct {
	Version string
	Note    string
	Date    Date
}

// --- action ---

// ActionAdded adds an action to the plan.
type ActionAdded struct {
	Ref             string
	Priority        string
	Origin          string
	Text            string
	Leads           []Lead
	LeadsRaw        string
	Deadline        Date
	DeadlineRaw     string
	Milestones      []Milestone
	Rag             RAG
	RagRaw          string
	Trend           string // direction of travel written in the RAG column (↑ ↓ ↔ ▲)
	SuccessMeasures string
	Progress        string
	Impact          string
	Flags           []Flag
}

// ActionRevised changes an action's descriptive texts.
type ActionRevised struct {
	Origin, Text, SuccessMeasures string
	Before                        ActionTexts
}

// ActionTexts are an action's descriptive texts.
type ActionTexts struct {
	Origin, Text, SuccessMeasures string
}

// RagChanged rates an action.
type RagChanged struct {
	From, To   RAG
	Commentary string
}

// DeadlineMoved moves an action's deadline.
type DeadlineMoved struct {
	From, To Date
	Category ReasonCategory
	Reason   string
}

// LeadsReassigned changes who leads an action.
type LeadsReassigned struct {
	From, To []Lead
	Reason   string
}

// ProgressRecorded records progress to date.
type ProgressRecorded struct {
	Before, Text string
}

// ImpactRecorded records impact to date.
type ImpactRecorded struct {
	Before, Text string
}

// ActionWithdrawn takes an action out of the plan; nothing changes it again
// until it is reinstated.
type ActionWithdrawn struct{ Reason string }

// ActionReinstated brings a withdrawn action back.
type ActionReinstated struct{ Reason string }

// FlagResolved clears an import flag.
type FlagResolved struct {
	Field string
	Note  string
}

// --- kpi ---

// KpiDefined defines an indicator.
type KpiDefined struct {
	Priority  string
	Name      string
	Direction Direction
	Target    string
	National  string
}

// KpiValueRecorded records an indicator's value for a period. Value is kept
// as written ("41.6%", "TBC", "3.9M").
type KpiValueRecorded struct {
	Period string
	Value  string
}

// KpiValueCorrected corrects a recorded value; the old value is kept.
type KpiValueCorrected struct {
	Period   string
	Old, New string
	Reason   string
}

// KpiTargetChanged changes an indicator's target.
type KpiTargetChanged struct {
	From, To string
	Reason   string
}

// --- access, evidence, webhooks ---

// TokenIssued records a bearer token: its id and hash, never the token.
type TokenIssued struct {
	TokenID   string
	Principal string
	Name      string
	Role      Role
	Plan      string // "*" for every plan
	LeadName  string
	Hash      string // hex SHA-256 of the secret
	ExpiresAt time.Time
}

// TokenRevoked revokes a token.
type TokenRevoked struct {
	TokenID string
	Reason  string
}

// EvidenceExported records an evidence export.
type EvidenceExported struct {
	AsOf     time.Time
	TreeSize uint64
	RootHash string
}

// WebhookRegistered registers a webhook.
type WebhookRegistered struct {
	WebhookID string
	URL       string
	Types     []string
	SecretRef string
}

// WebhookRemoved removes a webhook.
type WebhookRemoved struct{ WebhookID string }

func (PlanCreated) Type() string           { return "plan_created" }
func (PriorityAreaAdded) Type() string     { return "priority_area_added" }
func (PriorityAreaRevised) Type() string   { return "priority_area_revised" }
func (ReportingPeriodClosed) Type() string { return "reporting_period_closed" }
func (PlanVersionPublished) Type() string  { return "plan_version_published" }
func (ActionAdded) Type() string           { return "action_added" }
func (ActionRevised) Type() string         { return "action_revised" }
func (RagChanged) Type() string            { return "rag_changed" }
func (DeadlineMoved) Type() string         { return "deadline_moved" }
func (LeadsReassigned) Type() string       { return "leads_reassigned" }
func (ProgressRecorded) Type() string      { return "progress_recorded" }
func (ImpactRecorded) Type() string        { return "impact_recorded" }
func (ActionWithdrawn) Type() string       { return "action_withdrawn" }
func (ActionReinstated) Type() string      { return "action_reinstated" }
func (FlagResolved) Type() string          { return "flag_resolved" }
func (KpiDefined) Type() string            { return "kpi_defined" }
func (KpiValueRecorded) Type() string      { return "kpi_value_recorded" }
func (KpiValueCorrected) Type() string     { return "kpi_value_corrected" }
func (KpiTargetChanged) Type() string      { return "kpi_target_changed" }
func (TokenIssued) Type() string           { return "token_issued" }
func (TokenRevoked) Type() string          { return "token_revoked" }
func (EvidenceExported) Type() string      { return "evidence_exported" }
func (WebhookRegistered) Type() string     { return "webhook_registered" }
func (WebhookRemoved) Type() string        { return "webhook_removed" }
