package domain

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits on free text, so that one request cannot bloat the audit log.
const (
	MaxText   = 20000 // characters in an action's texts, progress, impact
	MaxReason = 4000  // characters in a reason or commentary
	MaxShort  = 500   // characters in a title, name, period or value
)

// EPRECONDITION: the aggregate is not in a state that allows the command
// (e.g. the action is withdrawn).
const EPRECONDITION = "failed_precondition"

// Decide returns the events cmd produces on s, or an *Error. A command that
// would change nothing returns no events and no error.
//
// Errors: EINVALID names the field at fault; ENOTFOUND when the aggregate does
// not exist; EEXISTS when adding something that exists with other content;
// EPRECONDITION when the action is withdrawn.
func Decide(s State, cmd Command) ([]Event, error) {
	if s == nil || s.AggregateType() != cmd.AggregateType() {
		return nil, Errorf(EINTERNAL, "command %T on the wrong aggregate", cmd)
	}
	switch st := s.(type) {
	case PlanState:
		return st.decide(cmd)
	case PriorityState:
		return st.decide(cmd)
	case ActionState:
		return st.decide(cmd)
	case KpiState:
		return st.decide(cmd)
	case TokenState:
		return st.decide(cmd)
	case WebhookState:
		return st.decide(cmd)
	}
	return nil, Errorf(EINTERNAL, "no rules for %T", s)
}

func checkText(field, s string, max int, required bool) error {
	if required && strings.TrimSpace(s) == "" {
		return Invalid(field, "is required")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return Invalid(field, "is %d characters long; at most %d are allowed", n, max)
	}
	if !utf8.ValidString(s) {
		return Invalid(field, "is not valid UTF-8")
	}
	return nil
}

func checkReason(field, s string) error {
	if strings.TrimSpace(s) == "" {
		return Invalid(field, "a reason is required")
	}
	return checkText(field, s, MaxReason, true)
}

func (s PlanState) decide(cmd Command) ([]Event, error) {
	switch c := cmd.(type) {
	case CreatePlan:
		if err := ValidateSlug(c.Slug); err != nil {
			return nil, err
		}
		if c.Slug == ReservedSlug {
			return nil, Invalid("plan", "%q is reserved; choose another slug", c.Slug)
		}
		if err := checkText("title", c.Title, MaxShort, true); err != nil {
			return nil, err
		}
		if s.Exists() {
			if s.title == c.Title {
				return nil, nil
			}
			return nil, &Error{Code: EEXISTS, Field: "plan", Message: fmt.Sprintf("plan %s exists already with the title %q", c.Slug, s.title)}
		}
		for i, r := range c.RagScheme {
			if _, err := ParseRAG(r.Code); err != nil || r.Code == "" {
				return nil, Invalid(fmt.Sprintf("ragScheme[%d].code", i), "%q is not one of the scheme's codes R, A, P, G, C, NS", r.Code)
			}
		}
		return []Event{PlanCreated(c)}, nil
	}
	if !s.Exists() {
		return nil, &Error{Code: ENOTFOUND, Field: "plan", Message: "no such plan"}
	}
	switch c := cmd.(type) {
	case ClosePeriod:
		if err := checkText("label", c.Label, MaxShort, true); err != nil {
			return nil, err
		}
		d, err := parseDateField("date", c.Date, true)
		if err != nil {
			return nil, err
		}
		for _, p := range s.periods {
			if p.Label == c.Label {
				return nil, &Error{Code: EEXISTS, Field: "label", Message: fmt.Sprintf("period %q is closed already", c.Label)}
			}
		}
		return []Event{ReportingPeriodClosed{Label: c.Label, Date: d, RagCounts: c.RagCounts}}, nil
	case PublishPlanVersion:
		if err := checkText("version", c.Version, MaxShort, true); err != nil {
			return nil, err
		}
		if err := checkText("note", c.Note, MaxReason, false); err != nil {
			return nil, err
		}
		d, err := parseDateField("date", c.Date, true)
		if err != nil {
			return nil, err
		}
		for _, v := range s.versions {
			if v.Version == c.Version {
				if v.Note == c.Note && v.Date == d {
					return nil, nil
				}
				return nil, &Error{Code: EEXISTS, Field: "version", Message: fmt.Sprintf("version %q is published already", c.Version)}
			}
		}
		return []Event{PlanVersionPublished{Version: c.Version, Note: c.Note, Date: d}}, nil
	case RecordExport:
		return []Event{EvidenceExported(c)}, nil
	}
	return nil, Errorf(EINTERNAL, "plan cannot handle %T", cmd)
}

func parseDateField(field, s string, required bool) (Date, error) {
	if strings.TrimSpace(s) == "" {
		if required {
			return Date{}, Invalid(field, "a date is required (YYYY-MM-DD)")
		}
		return Date{}, nil
	}
	d, err := ParseDate(strings.TrimSpace(s))
	if err != nil {
		e := err.(*Error)
		e.Field = field
		return Date{}, e
	}
	return d, nil
}

func (s PriorityState) decide(cmd Command) ([]Event, error) {
	c, ok := cmd.(AddPriorityArea)
	if !ok {
		return nil, Errorf(EINTERNAL, "priority cannot handle %T", cmd)
	}
	if err := checkText("number", c.Number, 20, true); err != nil {
		return nil, err
	}
	if err := checkText("title", c.Title, MaxShort, true); err != nil {
		return nil, err
	}
	for _, fv := range [][2]string{{"summary", c.Summary}, {"parentCarerVoice", c.ParentCarerVoice}} {
		if err := checkText(fv[0], fv[1], MaxText, false); err != nil {
			return nil, err
		}
	}
	if !s.Exists() {
		return []Event{PriorityAreaAdded(c)}, nil
	}
	if s.area == PriorityAreaAdded(c) {
		return nil, nil
	}
	return []Event{PriorityAreaRevised(c)}, nil
}

func (s ActionState) decide(cmd Command) ([]Event, error) {
	if c, ok := cmd.(AddAction); ok {
		return s.decideAdd(c)
	}
	if !s.Exists() {
		return nil, &Error{Code: ENOTFOUND, Field: "ref", Message: "no such action"}
	}
	if _, ok := cmd.(ReinstateAction); !ok && s.withdrawn {
		if _, again := cmd.(WithdrawAction); again {
			return nil, nil
		}
		return nil, &Error{Code: EPRECONDITION, Field: "ref", Message: fmt.Sprintf("action %s is withdrawn (%s); reinstate it before changing it", s.added.Ref, s.withdrawnReason)}
	}
	switch c := cmd.(type) {
	case ReviseAction:
		if err := checkText("text", c.Text, MaxText, true); err != nil {
			return nil, err
		}
		if err := checkText("origin", c.Origin, MaxShort, false); err != nil {
			return nil, err
		}
		if err := checkText("successMeasures", c.SuccessMeasures, MaxText, false); err != nil {
			return nil, err
		}
		if c.Origin == s.origin && c.Text == s.text && c.SuccessMeasures == s.success {
			return nil, nil
		}
		return []Event{ActionRevised{Origin: c.Origin, Text: c.Text, SuccessMeasures: c.SuccessMeasures,
			Before: ActionTexts{Origin: s.origin, Text: s.text, SuccessMeasures: s.success}}}, nil
	case ChangeRag:
		r, err := ParseRAG(c.Rag)
		if err != nil {
			return nil, err
		}
		if !r.IsRated() {
			return nil, Invalid("rag", "a RAG code is required (R, A, P, G, C or NS)")
		}
		if err := checkText("commentary", c.Commentary, MaxReason, false); err != nil {
			return nil, err
		}
		if r == s.rag {
			return nil, nil
		}
		return []Event{RagChanged{From: s.rag, To: r, Commentary: strings.TrimSpace(c.Commentary)}}, nil
	case MoveDeadline:
		to, err := parseDateField("deadline", c.Deadline, true)
		if err != nil {
			return nil, err
		}
		cat, err := ParseReasonCategory(c.Category)
		if err != nil {
			return nil, err
		}
		if err := checkReason("reason", c.Reason); err != nil {
			return nil, err
		}
		if to == s.deadline {
			return nil, nil
		}
		return []Event{DeadlineMoved{From: s.deadline, To: to, Category: cat, Reason: strings.TrimSpace(c.Reason)}}, nil
	case ReassignLeads:
		if len(c.Leads) == 0 {
			return nil, Invalid("leads", "at least one lead is required")
		}
		leads := make([]Lead, len(c.Leads))
		for i, l := range c.Leads {
			nl, err := NewLead(l.Name, l.Role, l.Organisation)
			if err != nil {
				return nil, Invalid(fmt.Sprintf("leads[%d].name", i), "a lead needs a name")
			}
			leads[i] = nl
		}
		if err := checkReason("reason", c.Reason); err != nil {
			return nil, err
		}
		if leadsEqual(leads, s.leads) {
			return nil, nil
		}
		return []Event{LeadsReassigned{From: s.leads, To: leads, Reason: strings.TrimSpace(c.Reason)}}, nil
	case RecordProgress:
		if err := checkText("text", c.Text, MaxText, true); err != nil {
			return nil, err
		}
		if c.Text == s.progress {
			return nil, nil
		}
		return []Event{ProgressRecorded{Before: s.progress, Text: c.Text}}, nil
	case RecordImpact:
		if err := checkText("text", c.Text, MaxText, true); err != nil {
			return nil, err
		}
		if c.Text == s.impact {
			return nil, nil
		}
		return []Event{ImpactRecorded{Before: s.impact, Text: c.Text}}, nil
	case WithdrawAction:
		if err := checkReason("reason", c.Reason); err != nil {
			return nil, err
		}
		return []Event{ActionWithdrawn{Reason: strings.TrimSpace(c.Reason)}}, nil
	case ReinstateAction:
		if err := checkReason("reason", c.Reason); err != nil {
			return nil, err
		}
		if !s.withdrawn {
			return nil, nil
		}
		return []Event{ActionReinstated{Reason: strings.TrimSpace(c.Reason)}}, nil
	case ResolveFlag:
		if err := checkText("note", c.Note, MaxReason, false); err != nil {
			return nil, err
		}
		for _, f := range s.flags {
			if f.Field == c.Field {
				return []Event{FlagResolved{Field: c.Field, Note: c.Note}}, nil
			}
		}
		return nil, nil
	}
	return nil, Errorf(EINTERNAL, "action cannot handle %T", cmd)
}

func (s ActionState) decideAdd(c AddAction) ([]Event, error) {
	if err := ValidateRef(c.Ref); err != nil {
		return nil, err
	}
	if err := checkText("priority", c.Priority, 20, true); err != nil {
		return nil, err
	}
	if err := checkText("text", c.Text, MaxText, true); err != nil {
		return nil, err
	}
	for _, fv := range [][2]string{{"origin", c.Origin}, {"leadsRaw", c.LeadsRaw}, {"deadlineRaw", c.DeadlineRaw}, {"ragRaw", c.RagRaw}, {"trend", c.Trend}} {
		if err := checkText(fv[0], fv[1], MaxShort*4, false); err != nil {
			return nil, err
		}
	}
	for _, fv := range [][2]string{{"successMeasures", c.SuccessMeasures}, {"progress", c.Progress}, {"impact", c.Impact}} {
		if err := checkText(fv[0], fv[1], MaxText, false); err != nil {
			return nil, err
		}
	}
	d, err := parseDateField("deadline", c.Deadline, false)
	if err != nil {
		return nil, err
	}
	r, err := ParseRAG(c.Rag)
	if err != nil {
		return nil, err
	}
	leads := make([]Lead, 0, len(c.Leads))
	for i, l := range c.Leads {
		nl, err := NewLead(l.Name, l.Role, l.Organisation)
		if err != nil {
			return nil, Invalid(fmt.Sprintf("leads[%d].name", i), "a lead needs a name")
		}
		leads = append(leads, nl)
	}
	e := ActionAdded{
		Ref: c.Ref, Priority: c.Priority, Origin: c.Origin, Text: c.Text,
		Leads: leads, LeadsRaw: c.LeadsRaw, Deadline: d, DeadlineRaw: c.DeadlineRaw,
		Milestones: c.Milestones, Rag: r, RagRaw: c.RagRaw, Trend: c.Trend,
		SuccessMeasures: c.SuccessMeasures, Progress: c.Progress, Impact: c.Impact, Flags: c.Flags,
	}
	if s.Exists() {
		if diff := diffAdded(s.added, e); diff != "" {
			return nil, &Error{Code: EEXISTS, Field: "ref", Message: fmt.Sprintf("action %s exists already and differs in %s", c.Ref, diff)}
		}
		return nil, nil
	}
	return []Event{e}, nil
}

// diffAdded names the first field in which two ActionAdded differ, or "".
func diffAdded(a, b ActionAdded) string {
	switch {
	case a.Priority != b.Priority:
		return "priority"
	case a.Origin != b.Origin:
		return "origin"
	case a.Text != b.Text:
		return "text"
	case !leadsEqual(a.Leads, b.Leads) || a.LeadsRaw != b.LeadsRaw:
		return "leads"
	case a.Deadline != b.Deadline || a.DeadlineRaw != b.DeadlineRaw || fmt.Sprint(a.Milestones) != fmt.Sprint(b.Milestones):
		return "deadline"
	case a.Rag != b.Rag || a.RagRaw != b.RagRaw || a.Trend != b.Trend:
		return "rag"
	case a.SuccessMeasures != b.SuccessMeasures:
		return "successMeasures"
	case a.Progress != b.Progress:
		return "progress"
	case a.Impact != b.Impact:
		return "impact"
	case fmt.Sprint(a.Flags) != fmt.Sprint(b.Flags):
		return "flags"
	}
	return ""
}

func (s KpiState) decide(cmd Command) ([]Event, error) {
	if c, ok := cmd.(DefineKpi); ok {
		if err := checkText("name", c.Name, MaxShort, true); err != nil {
			return nil, err
		}
		if err := checkText("priority", c.Priority, 20, true); err != nil {
			return nil, err
		}
		dir, err := ParseDirection(c.Direction)
		if err != nil {
			return nil, err
		}
		for _, fv := range [][2]string{{"target", c.Target}, {"national", c.National}} {
			if err := checkText(fv[0], fv[1], MaxShort, false); err != nil {
				return nil, err
			}
		}
		e := KpiDefined{Priority: c.Priority, Name: c.Name, Direction: dir, Target: c.Target, National: c.National}
		if s.Exists() {
			// Compared with the definition as first made, so that running
			// an import again after a target change appends nothing.
			if s.defined == e {
				return nil, nil
			}
			return nil, &Error{Code: EEXISTS, Field: "name", Message: fmt.Sprintf("indicator %q exists already with another definition", c.Name)}
		}
		return []Event{e}, nil
	}
	if !s.Exists() {
		return nil, &Error{Code: ENOTFOUND, Field: "kpi", Message: "no such indicator"}
	}
	switch c := cmd.(type) {
	case RecordKpiValue:
		if err := checkText("period", c.Period, MaxShort, true); err != nil {
			return nil, err
		}
		if err := checkText("value", c.Value, MaxShort, true); err != nil {
			return nil, err
		}
		if old, ok := s.values[c.Period]; ok {
			// The same value again, or the value as first recorded (an
			// import run again after a correction), changes nothing.
			if old == c.Value || s.first[c.Period] == c.Value {
				return nil, nil
			}
			return nil, &Error{Code: EPRECONDITION, Field: "period", Message: fmt.Sprintf("%s already has the value %q; correct it with a reason instead", c.Period, old)}
		}
		return []Event{KpiValueRecorded(c)}, nil
	case CorrectKpiValue:
		if err := checkText("value", c.Value, MaxShort, true); err != nil {
			return nil, err
		}
		if err := checkReason("reason", c.Reason); err != nil {
			return nil, err
		}
		old, ok := s.values[c.Period]
		if !ok {
			return nil, &Error{Code: ENOTFOUND, Field: "period", Message: fmt.Sprintf("no value is recorded for %q", c.Period)}
		}
		if old == c.Value {
			return nil, nil
		}
		return []Event{KpiValueCorrected{Period: c.Period, Old: old, New: c.Value, Reason: strings.TrimSpace(c.Reason)}}, nil
	case ChangeKpiTarget:
		if err := checkText("target", c.Target, MaxShort, false); err != nil {
			return nil, err
		}
		if err := checkReason("reason", c.Reason); err != nil {
			return nil, err
		}
		if c.Target == s.def.Target {
			return nil, nil
		}
		return []Event{KpiTargetChanged{From: s.def.Target, To: c.Target, Reason: strings.TrimSpace(c.Reason)}}, nil
	}
	return nil, Errorf(EINTERNAL, "kpi cannot handle %T", cmd)
}

func (s TokenState) decide(cmd Command) ([]Event, error) {
	switch c := cmd.(type) {
	case IssueToken:
		role, err := ParseRole(c.Role)
		if err != nil {
			return nil, err
		}
		if c.Plan != "*" {
			if err := ValidateSlug(c.Plan); err != nil {
				return nil, err
			}
		}
		if err := checkText("name", c.Name, MaxShort, true); err != nil {
			return nil, err
		}
		if role == RoleLead && strings.TrimSpace(c.LeadName) == "" {
			return nil, Invalid("leadName", "a lead token needs the lead's name as the plan writes it")
		}
		if len(c.Hash) != 64 || c.TokenID == "" || c.Principal == "" {
			return nil, Errorf(EINTERNAL, "token without id, principal or hash")
		}
		if s.Exists() {
			return nil, &Error{Code: EEXISTS, Field: "tokenId", Message: "token exists already"}
		}
		return []Event{TokenIssued{TokenID: c.TokenID, Principal: c.Principal, Name: c.Name, Role: role, Plan: c.Plan, LeadName: c.LeadName, Hash: c.Hash, ExpiresAt: c.ExpiresAt}}, nil
	case RevokeToken:
		if !s.Exists() {
			return nil, &Error{Code: ENOTFOUND, Field: "tokenId", Message: "no such token"}
		}
		if s.revoked {
			return nil, nil
		}
		return []Event{TokenRevoked{TokenID: c.TokenID, Reason: c.Reason}}, nil
	}
	return nil, Errorf(EINTERNAL, "token cannot handle %T", cmd)
}

func (s WebhookState) decide(cmd Command) ([]Event, error) {
	switch c := cmd.(type) {
	case RegisterWebhook:
		if s.Exists() {
			return nil, &Error{Code: EEXISTS, Field: "webhookId", Message: "webhook exists already"}
		}
		return []Event{WebhookRegistered(c)}, nil
	case RemoveWebhook:
		if !s.Exists() {
			return nil, nil
		}
		return []Event{WebhookRemoved(c)}, nil
	}
	return nil, Errorf(EINTERNAL, "webhook cannot handle %T", cmd)
}
