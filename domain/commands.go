package domain

import "time"

// Command is a request to change one aggregate. Fields that have rules
// (codes, dates, categories) are carried as the caller wrote them and checked
// by Decide, so that every refusal names the field.
type Command interface {
	AggregateType() AggregateType
}

// CreatePlan starts a plan.
type CreatePlan struct {
	Slug, Title string
	RagScheme   []RagSchemeRow
}

// AddPriorityArea adds a priority area.
type AddPriorityArea struct{ Number, Title, Summary, ParentCarerVoice string }

// AddAction adds an action. Import fills the raw fields and flags; the API
// fills Deadline as "YYYY-MM-DD" and Rag as a code.
type AddAction struct {
	Ref, Priority, Origin, Text string
	Leads                       []Lead
	LeadsRaw                    string
	Deadline                    string // YYYY-MM-DD or empty
	DeadlineRaw                 string
	Milestones                  []Milestone
	Rag                         string
	RagRaw                      string
	Trend                       string
	SuccessMeasures             string
	Progress, Impact            string
	Flags                       []Flag
}

// ReviseAction changes an action's descriptive texts.
type ReviseAction struct{ Origin, Text, SuccessMeasures string }

// ChangeRag rates an action.
type ChangeRag struct{ Rag, Commentary string }

// MoveDeadline moves an action's deadline; category and reason are required.
type MoveDeadline struct{ Deadline, Category, Reason string }

// ReassignLeads changes who leads an action; a reason is required.
type ReassignLeads struct {
	Leads  []Lead
	Reason string
}

// RecordProgress records progress to date.
type RecordProgress struct{ Text string }

// RecordImpact records impact to date.
type RecordImpact struct{ Text string }

// WithdrawAction withdraws an action; a reason is required.
type WithdrawAction struct{ Reason string }

// ReinstateAction brings a withdrawn action back; a reason is required.
type ReinstateAction struct{ Reason string }

// ResolveFlag clears an import flag on an action.
type ResolveFlag struct{ Field, Note string }

// DefineKpi defines an indicator.
type DefineKpi struct{ Priority, Name, Direction, Target, National string }

// RecordKpiValue records a value for a period that has none yet. Recording
// the same value again changes nothing; a different value needs
// CorrectKpiValue.
type RecordKpiValue struct{ Period, Value string }

// CorrectKpiValue corrects a recorded value; a reason is required.
type CorrectKpiValue struct{ Period, Value, Reason string }

// ChangeKpiTarget changes an indicator's target; a reason is required.
type ChangeKpiTarget struct{ Target, Reason string }

// ClosePeriod records the board's snapshot. RagCounts is supplied by the
// caller from the current plan.
type ClosePeriod struct {
	Label     string
	Date      string
	RagCounts map[string]int
}

// PublishPlanVersion adds a row to the plan's version-control table.
type PublishPlanVersion struct{ Version, Note, Date string }

// IssueToken records a new token.
type IssueToken struct {
	TokenID, Principal, Name string
	Role                     string
	Plan                     string
	LeadName                 string
	Hash                     string
	ExpiresAt                time.Time
}

// RevokeToken revokes a token.
type RevokeToken struct{ TokenID, Reason string }

// RegisterWebhook registers a webhook.
type RegisterWebhook struct {
	WebhookID, URL string
	Types          []string
	SecretRef      string
}

// RemoveWebhook removes a webhook.
type RemoveWebhook struct{ WebhookID string }

// RecordExport records an evidence export on the plan.
type RecordExport struct {
	AsOf     time.Time
	TreeSize uint64
	RootHash string
}

func (CreatePlan) AggregateType() AggregateType         { return AggPlan }
func (ClosePeriod) AggregateType() AggregateType        { return AggPlan }
func (PublishPlanVersion) AggregateType() AggregateType { return AggPlan }
func (RecordExport) AggregateType() AggregateType       { return AggPlan }
func (AddPriorityArea) AggregateType() AggregateType    { return AggPriority }
func (AddAction) AggregateType() AggregateType          { return AggAction }
func (ReviseAction) AggregateType() AggregateType       { return AggAction }
func (ChangeRag) AggregateType() AggregateType          { return AggAction }
func (MoveDeadline) AggregateType() AggregateType       { return AggAction }
func (ReassignLeads) AggregateType() AggregateType      { return AggAction }
func (RecordProgress) AggregateType() AggregateType     { return AggAction }
func (RecordImpact) AggregateType() AggregateType       { return AggAction }
func (WithdrawAction) AggregateType() AggregateType     { return AggAction }
func (ReinstateAction) AggregateType() AggregateType    { return AggAction }
func (ResolveFlag) AggregateType() AggregateType        { return AggAction }
func (DefineKpi) AggregateType() AggregateType          { return AggKpi }
func (RecordKpiValue) AggregateType() AggregateType     { return AggKpi }
func (CorrectKpiValue) AggregateType() AggregateType    { return AggKpi }
func (ChangeKpiTarget) AggregateType() AggregateType    { return AggKpi }
func (IssueToken) AggregateType() AggregateType         { return AggToken }
func (RevokeToken) AggregateType() AggregateType        { return AggToken }
func (RegisterWebhook) AggregateType() AggregateType    { return AggWebhook }
func (RemoveWebhook) AggregateType() AggregateType      { return AggWebhook }
