package projections

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sendtrail/sendtrail/domain"
	"github.com/sendtrail/sendtrail/eventpb"
	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
)

// Explanation is ExplainAction's answer.
type Explanation = pb.ExplainActionResponse

// Pages of ExplainAction.
const (
	DefaultExplainPage = 500
	MaxExplainPage     = 5000
)

// ExplainAction tells an action's story as of at: one plain-English line
// per event, in stream order, built from the events' readable history
// (and, for the action's addition, its stored bytes), a page at a time,
// and a closing line saying where the action stands.
func (db *DB) ExplainAction(ctx context.Context, plan, ref string, at AsOf, pageSize int, pageToken string) (*Explanation, error) {
	var after uint64
	if pageToken != "" {
		var err error
		if after, err = decodePageToken(pageToken); err != nil {
			return nil, err
		}
	}
	switch {
	case pageSize <= 0:
		pageSize = DefaultExplainPage
	case pageSize > MaxExplainPage:
		pageSize = MaxExplainPage
	}
	var out *Explanation
	err := db.report(ctx, plan, at, func(tx *sql.Tx, c cutoff) error {
		v, err := oneAction(ctx, tx, plan, ref, c)
		if err != nil {
			return err
		}
		where, args := "aggregate_type = 'action' AND aggregate_id = ? AND sequence > ?", []any{v.id, int64(after)}
		switch {
		case c.now:
		case c.business:
			where, args = where+" AND occurred_at < ?", append(args, fmtTime(c.beforeTime()))
		default:
			where, args = where+" AND sequence <= ?", append(args, int64(c.seq))
		}
		rows, err := tx.QueryContext(ctx, `SELECT sequence, type, occurred_at, recorded_at, actor_id, actor_name, actor_role,
	"before", "after", reason, reason_category, commentary, summary, CASE WHEN type = 'action_added' THEN raw END
FROM events WHERE `+where+` ORDER BY sequence LIMIT ?`, append(args, pageSize+1)...)
		if err != nil {
			return fmt.Errorf("projections: explain %s %s: %w", plan, ref, err)
		}
		defer rows.Close()
		out = &Explanation{Ref: ref, Text: v.text, Lines: []*pb.ExplanationLine{}}
		for rows.Next() {
			if len(out.Lines) == pageSize {
				out.NextPageToken = encodePageToken(out.Lines[pageSize-1].Sequence)
				break
			}
			var (
				seq   int64
				e     explainEvent
				actor pb.Actor
				raw   []byte
			)
			if err := rows.Scan(&seq, &e.typ, &e.occurred, &e.recorded, &actor.Id, &actor.DisplayName, &actor.Role,
				&e.before, &e.after, &e.reason, &e.category, &e.commentary, &e.summary, &raw); err != nil {
				return fmt.Errorf("projections: explain %s %s: %w", plan, ref, err)
			}
			if raw != nil {
				env, err := eventpb.Unmarshal(raw, uint64(seq))
				if err != nil {
					return fmt.Errorf("projections: explain %s %s: %w", plan, ref, err)
				}
				if a, ok := env.Event.(domain.ActionAdded); ok {
					e.added = &a
				}
			}
			e.actor = &actor
			line := &pb.ExplanationLine{Sequence: uint64(seq), Type: e.typ, Actor: &actor, Text: e.sentence()}
			line.OccurredAt, _ = ts(e.occurred)
			line.RecordedAt, _ = ts(e.recorded)
			out.Lines = append(out.Lines, line)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("projections: explain %s %s: %w", plan, ref, err)
		}
		cond, cargs := moveCutoff(c)
		moves, err := queryMoves(ctx, tx, 0, `m.plan = ? AND m.action_id = ?`+cond, append([]any{plan, v.id}, cargs...)...)
		if err != nil {
			return err
		}
		out.Summary = standing(v, trailOf(v, moves), c)
		return nil
	})
	return out, err
}

type explainEvent struct {
	typ, occurred, recorded                              string
	before, after, reason, category, commentary, summary string
	actor                                                *pb.Actor
	added                                                *domain.ActionAdded
}

// longDate is how the plan's readers write dates: "14 Mar 2024".
func longDate(d domain.Date) string {
	if d.IsZero() {
		return "no date"
	}
	return d.Time().Format("2 Jan 2006")
}

// dateWord reads a history column's date ("2024-03-31", or "not set").
func dateWord(s string) string {
	d, err := domain.ParseDate(s)
	if err != nil || d.IsZero() {
		return s
	}
	return longDate(d)
}

func dayOf(ts string) domain.Date {
	t, err := parseTime(ts)
	if err != nil || t.IsZero() {
		return domain.Date{}
	}
	return domain.DateOf(t.UTC())
}

// ragWord names a code as the plan's scheme does, briefly.
func ragWord(code string) string {
	switch code {
	case "", notRated:
		return "not yet rated"
	case "R":
		return "R (high risk)"
	case "A":
		return "A (significant risk)"
	case "P":
		return "P (on track)"
	case "G":
		return "G (actioned)"
	case "C":
		return "C (completed)"
	case "NS":
		return "NS (not started)"
	}
	return code
}

// because appends a reason or commentary after a colon, its first word in
// lower case when it is an ordinary capitalised word ("Restructure
// delayed" → "restructure delayed"; "DfE agreed" stays).
func because(s string) string {
	s = strings.TrimRight(strings.TrimSpace(s), ".")
	if s == "" {
		return ""
	}
	first, size := utf8.DecodeRuneInString(s)
	word, _, _ := strings.Cut(s[size:], " ")
	lower := word != ""
	for _, r := range word {
		if !unicode.IsLower(r) {
			lower = false
			break
		}
	}
	if unicode.IsUpper(first) && lower {
		s = string(unicode.ToLower(first)) + s[size:]
	}
	return ": " + s
}

func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimRight(string(r[:n-1]), " ") + "…"
}

func names(ls []domain.Lead) string {
	var ns []string
	for _, l := range ls {
		ns = append(ns, l.Name)
	}
	switch len(ns) {
	case 0:
		return "no one"
	case 1:
		return ns[0]
	}
	return strings.Join(ns[:len(ns)-1], ", ") + " and " + ns[len(ns)-1]
}

// sentence tells the event: "On 14 Mar 2024 Mary Diffey (editor) moved the
// deadline from 31 Mar 2024 to 30 Jun 2024 (+91 days, capacity):
// restructure delayed". When it was recorded on a later day than decided,
// both days are shown.
func (e explainEvent) sentence() string {
	when := "On " + longDate(dayOf(e.occurred))
	if rec := dayOf(e.recorded); rec != dayOf(e.occurred) {
		when += " (recorded " + longDate(rec) + ")"
	}
	who := e.actor.GetDisplayName()
	if who == "" {
		who = e.actor.GetId()
	}
	if e.actor.GetRole() != "" {
		who += " (" + e.actor.GetRole() + ")"
	}
	return when + " " + who + " " + e.what()
}

func (e explainEvent) what() string {
	switch e.typ {
	case "action_added":
		a := e.added
		if a == nil {
			return "added the action to the plan"
		}
		var parts []string
		if a.Priority != "" {
			parts = append(parts, "priority "+a.Priority)
		}
		switch {
		case !a.Deadline.IsZero():
			parts = append(parts, "due "+longDate(a.Deadline))
		case a.DeadlineRaw != "":
			parts = append(parts, fmt.Sprintf("deadline %q not a date, flagged for review", a.DeadlineRaw))
		default:
			parts = append(parts, "no deadline")
		}
		parts = append(parts, ragWord(a.Rag.String()))
		s := "added the action to the plan (" + strings.Join(parts, ", ") + ")"
		if len(a.Leads) > 0 {
			s += ", led by " + names(a.Leads)
		}
		return s
	case "action_revised":
		what := "the action"
		if i := strings.Index(e.summary, "("); i >= 0 {
			what = "the action's " + strings.TrimSuffix(e.summary[i+1:], ")")
		}
		return "revised " + what
	case "rag_changed":
		if e.before == notRated {
			return "rated the action " + ragWord(e.after) + because(e.commentary)
		}
		return "changed the RAG rating from " + ragWord(e.before) + " to " + ragWord(e.after) + because(e.commentary)
	case "deadline_moved":
		if e.before == notSet {
			return fmt.Sprintf("set the first deadline, %s (the baseline, not a move; %s)%s", dateWord(e.after), e.category, because(e.reason))
		}
		from, _ := domain.ParseDate(e.before)
		to, _ := domain.ParseDate(e.after)
		n := from.DaysUntil(to)
		if e.category == rebaselined {
			return fmt.Sprintf("re-baselined the deadline from %s to %s (%s, agreed with the DfE/NHS England adviser: not slippage)%s",
				longDate(from), longDate(to), days(n), because(e.reason))
		}
		return fmt.Sprintf("moved the deadline from %s to %s (%s, %s)%s", longDate(from), longDate(to), days(n), e.category, because(e.reason))
	case "leads_reassigned":
		return "reassigned the action " + strings.TrimPrefix(e.summary, "Leads reassigned ") + because(e.reason)
	case "progress_recorded":
		return "recorded progress: " + clip(e.after, 200)
	case "impact_recorded":
		return "recorded impact: " + clip(e.after, 200)
	case "action_withdrawn":
		return "withdrew the action" + because(e.reason)
	case "action_reinstated":
		return "reinstated the action" + because(e.reason)
	case "flag_resolved":
		s := strings.ToLower(strings.TrimPrefix(e.summary, "Flag on "))
		s = "resolved the import flag on the " + strings.TrimSuffix(s, " resolved")
		if e.before != "" {
			s += " (" + e.before + ")"
		}
		return s + because(e.reason)
	}
	return "recorded: " + e.summary
}

// standing is the closing line: where the action stands.
func standing(v actionView, t *pb.DeadlineTrail, c cutoff) string {
	when := "Now"
	if !c.at.IsNow() {
		when = "As of " + c.at.String()
		if !c.at.Date.IsZero() && !c.at.Recorded {
			when = "As of " + longDate(c.at.Date)
		}
	}
	if v.withdrawn {
		return when + " the action is withdrawn"
	}
	s := when + " it is " + ragWord(v.rag.String())
	switch {
	case v.deadline.IsZero():
		s += ", with no deadline set"
	default:
		s += ", due " + longDate(v.deadline)
	}
	if t.MoveCount > 0 {
		times := "times"
		if t.MoveCount == 1 {
			times = "time"
		}
		s += fmt.Sprintf(" (originally %s; moved %d %s, %d days slipped", longDate(v.original), t.MoveCount, times, t.DaysSlipped)
		if t.RebaselinedCount > 0 {
			s += fmt.Sprintf(", %s re-baselined", strings.TrimPrefix(days(int(t.DaysRebaselined)), "+"))
		}
		s += ")"
	}
	return s + ", led by " + names(v.leads)
}
