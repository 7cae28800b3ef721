package projections

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sendtrail/sendtrail/domain"
)

// history is the readable form of one event, kept in the events table so
// that a QA officer can read an action's trail without decoding anything.
// It never holds a token's hash.
type history struct {
	subjectRef string // the action's ref or the indicator's name
	before     string
	after      string
	reason     string
	category   string
	commentary string
	summary    string
}

const (
	notRated = "not rated"
	notSet   = "not set"
)

func ragText(r domain.RAG) string {
	if !r.IsRated() {
		return notRated
	}
	return r.String()
}

func dateText(d domain.Date) string {
	if d.IsZero() {
		return notSet
	}
	return d.String()
}

func leadsText(ls []domain.Lead) string {
	if len(ls) == 0 {
		return "none"
	}
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = l.String()
	}
	return strings.Join(parts, "; ")
}

func leadNames(ls []domain.Lead) string {
	if len(ls) == 0 {
		return "no one"
	}
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = l.Name
	}
	return strings.Join(parts, ", ")
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func days(n int) string {
	if n == 1 || n == -1 {
		return fmt.Sprintf("%+d day", n)
	}
	return fmt.Sprintf("%+d days", n)
}

// ragCountsText lists counts in the scheme's order, then any other code,
// then the not yet rated.
func ragCountsText(counts map[string]int) string {
	var parts []string
	seen := map[string]bool{}
	for _, r := range domain.RAGCodes() {
		if n, ok := counts[r.String()]; ok {
			parts = append(parts, fmt.Sprintf("%s %d", r, n))
			seen[r.String()] = true
		}
	}
	var other []string
	for k := range counts {
		if k != "" && !seen[k] {
			other = append(other, k)
		}
	}
	sort.Strings(other)
	for _, k := range other {
		parts = append(parts, fmt.Sprintf("%s %d", k, counts[k]))
	}
	if n, ok := counts[""]; ok {
		parts = append(parts, fmt.Sprintf("%s %d", notRated, n))
	}
	return strings.Join(parts, ", ")
}

// describe writes the history of env. prev and next are the aggregate's
// states before and after it (nil for an event this code does not know).
func describe(env domain.Envelope, typ string, prev, next domain.State) history {
	var h history
	switch e := env.Event.(type) {
	case nil:
		h.summary = fmt.Sprintf("Event %s (a type this version of sendtrail does not know)", typ)

	// --- plan ---
	case domain.PlanCreated:
		h.after = e.Title
		h.summary = fmt.Sprintf("Plan %s created: %s", e.Slug, e.Title)
	case domain.ReportingPeriodClosed:
		h.after = ragCountsText(e.RagCounts)
		h.summary = fmt.Sprintf("Reporting period %q closed on %s", e.Label, dateText(e.Date))
	case domain.PlanVersionPublished:
		h.after = e.Version
		h.summary = fmt.Sprintf("Plan version %s published on %s", e.Version, dateText(e.Date))
		if e.Note != "" {
			h.summary += ": " + e.Note
		}
	case domain.EvidenceExported:
		h.after = fmt.Sprintf("%d events, Merkle root %s", e.TreeSize, e.RootHash)
		h.summary = fmt.Sprintf("Evidence exported as of %s (%d events)", e.AsOf.UTC().Format(time.RFC3339), e.TreeSize)

	// --- priority ---
	case domain.PriorityAreaAdded:
		h.after = e.Title
		h.summary = fmt.Sprintf("Priority %s added: %s", e.Number, e.Title)
	case domain.PriorityAreaRevised:
		if p, ok := prev.(domain.PriorityState); ok {
			h.before = p.Area().Title
		}
		h.after = e.Title
		h.summary = fmt.Sprintf("Priority %s revised", e.Number)

	// --- action ---
	case domain.ActionAdded:
		h.subjectRef = e.Ref
		deadline := "deadline " + dateText(e.Deadline)
		if e.Deadline.IsZero() && e.DeadlineRaw != "" {
			deadline = fmt.Sprintf("deadline %q (flagged)", e.DeadlineRaw)
		}
		h.after = fmt.Sprintf("%s; RAG %s", deadline, ragText(e.Rag))
		h.summary = fmt.Sprintf("Action %s added", e.Ref)
	case domain.ActionRevised:
		var changed, before, after []string
		add := func(name, b, a string) {
			if a != b {
				changed = append(changed, strings.ToLower(name))
				before = append(before, name+": "+b)
				after = append(after, name+": "+a)
			}
		}
		add("Origin", e.Before.Origin, e.Origin)
		add("Text", e.Before.Text, e.Text)
		add("Success measures", e.Before.SuccessMeasures, e.SuccessMeasures)
		if len(changed) == 1 {
			_, h.before, _ = strings.Cut(before[0], ": ")
			_, h.after, _ = strings.Cut(after[0], ": ")
		} else {
			h.before, h.after = strings.Join(before, "\n"), strings.Join(after, "\n")
		}
		h.summary = "Action revised"
		if len(changed) > 0 {
			h.summary += " (" + strings.Join(changed, ", ") + ")"
		}
	case domain.RagChanged:
		h.before, h.after = ragText(e.From), ragText(e.To)
		h.commentary = e.Commentary
		h.summary = fmt.Sprintf("RAG %s → %s", h.before, h.after)
	case domain.DeadlineMoved:
		h.before, h.after = dateText(e.From), dateText(e.To)
		h.category, h.reason = e.Category.String(), e.Reason
		if e.From.IsZero() {
			h.summary = fmt.Sprintf("Deadline set to %s (%s)", h.after, h.category)
		} else {
			h.summary = fmt.Sprintf("Deadline %s → %s (%s, %s)", h.before, h.after, days(e.From.DaysUntil(e.To)), h.category)
		}
	case domain.LeadsReassigned:
		h.before, h.after = leadsText(e.From), leadsText(e.To)
		h.reason = e.Reason
		h.summary = fmt.Sprintf("Leads reassigned from %s to %s", leadNames(e.From), leadNames(e.To))
	case domain.ProgressRecorded:
		h.before, h.after = e.Before, e.Text
		h.summary = "Progress to date recorded"
	case domain.ImpactRecorded:
		h.before, h.after = e.Before, e.Text
		h.summary = "Impact to date recorded"
	case domain.ActionWithdrawn:
		h.before, h.after = "in plan", "withdrawn"
		h.reason = e.Reason
		h.summary = "Action withdrawn"
	case domain.ActionReinstated:
		h.before, h.after = "withdrawn", "in plan"
		h.reason = e.Reason
		h.summary = "Action reinstated"
	case domain.FlagResolved:
		if p, ok := prev.(domain.ActionState); ok {
			for _, f := range p.Flags() {
				if f.Field == e.Field {
					h.before = fmt.Sprintf("%q: %s", f.Raw, f.Message)
				}
			}
		}
		h.after = "resolved"
		h.reason = e.Note
		h.summary = fmt.Sprintf("Flag on %s resolved", e.Field)

	// --- kpi ---
	case domain.KpiDefined:
		h.subjectRef = e.Name
		h.after = fmt.Sprintf("target %s; national %s; direction %s", orNone(e.Target), orNone(e.National), orNone(e.Direction.String()))
		h.summary = fmt.Sprintf("Indicator defined for priority %s: %s", e.Priority, e.Name)
	case domain.KpiValueRecorded:
		h.after = e.Value
		h.summary = fmt.Sprintf("Value for %s recorded: %s", e.Period, e.Value)
	case domain.KpiValueCorrected:
		h.before, h.after = e.Old, e.New
		h.reason = e.Reason
		h.summary = fmt.Sprintf("Value for %s corrected: %s → %s", e.Period, e.Old, e.New)
	case domain.KpiTargetChanged:
		h.before, h.after = orNone(e.From), orNone(e.To)
		h.reason = e.Reason
		h.summary = fmt.Sprintf("Target %s → %s", h.before, h.after)

	// --- access, webhooks: never a hash or a secret ---
	case domain.TokenIssued:
		h.after = fmt.Sprintf("%s on %s", e.Role, planScope(e.Plan))
		if !e.ExpiresAt.IsZero() {
			h.after += ", expires " + e.ExpiresAt.UTC().Format(time.RFC3339)
		}
		h.summary = fmt.Sprintf("Token issued to %s (%s)", e.Name, e.Role)
		if e.LeadName != "" {
			h.summary = fmt.Sprintf("Token issued to %s (%s, as lead %s)", e.Name, e.Role, e.LeadName)
		}
	case domain.TokenRevoked:
		h.before, h.after = "active", "revoked"
		h.reason = e.Reason
		name := e.TokenID
		if t, ok := next.(domain.TokenState); ok && t.Issued().Name != "" {
			name = fmt.Sprintf("%s (%s)", t.Issued().Name, t.Issued().Role)
		}
		h.summary = "Token revoked: " + name
	case domain.WebhookRegistered:
		h.after = e.URL
		types := "all events"
		if len(e.Types) > 0 {
			types = strings.Join(e.Types, ", ")
		}
		h.summary = fmt.Sprintf("Webhook registered: %s (%s)", e.URL, types)
	case domain.WebhookRemoved:
		if w, ok := prev.(domain.WebhookState); ok {
			h.before = w.Registered().URL
		}
		h.after = "removed"
		h.summary = "Webhook removed: " + orNone(h.before)

	default:
		h.summary = fmt.Sprintf("Event %s", typ)
	}
	// The subject every event of an action or indicator is about.
	switch s := next.(type) {
	case domain.ActionState:
		if h.subjectRef == "" {
			h.subjectRef = s.Ref()
		}
	case domain.KpiState:
		if h.subjectRef == "" {
			h.subjectRef = s.Definition().Name
		}
	}
	return h
}

func planScope(plan string) string {
	if plan == "*" {
		return "every plan"
	}
	return "plan " + plan
}

// Description is the readable form of one event, exactly as the events
// table and the action histories hold it.
type Description struct {
	SubjectRef string // the action's ref or the indicator's name, when there is one
	Before     string
	After      string
	Reason     string
	Category   string // a deadline move's reason category
	Commentary string // a RAG change's commentary
	Summary    string
}

// Describe describes env as the read model does, for subscribers that read
// the stream themselves (Watch, webhooks). typ names an event this code
// does not know; prev and next are the aggregate's states before and after
// the event (nil when unknown: the description then lacks what only the
// state tells, such as an action's ref).
func Describe(env domain.Envelope, typ string, prev, next domain.State) Description {
	h := describe(env, typ, prev, next)
	return Description{SubjectRef: h.subjectRef, Before: h.before, After: h.after, Reason: h.reason,
		Category: h.category, Commentary: h.commentary, Summary: h.summary}
}
