package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/sendtrail/sendtrail/domain"
	"github.com/sendtrail/sendtrail/eventpb"
)

// AsOf names a point in a plan's history. The zero value means now.
//
// By business time (the default) the plan as of a date is the fold, with
// domain.Evolve and in stream order, of the events that occurred on or
// before that day (UTC), whenever they were recorded. By recorded time, and
// by sequence, it is the fold of the stream as it stood then.
type AsOf struct {
	// Date: as it stood at the end of this day (UTC).
	Date domain.Date
	// Recorded: Date reads recorded time instead of business time.
	Recorded bool
	// Sequence: as it stood once this stream sequence was written.
	Sequence uint64
	// Version: a published plan version; as it stood at the end of that
	// version's date, business time.
	Version string
}

// IsNow reports whether a names no past point.
func (a AsOf) IsNow() bool { return a.Date.IsZero() && a.Sequence == 0 && a.Version == "" }

// String describes a for messages: "2024-03-31", "2024-03-31 (recorded)",
// "sequence 812", "version 1.2".
func (a AsOf) String() string {
	switch {
	case a.Version != "":
		return "version " + a.Version
	case a.Sequence != 0:
		return fmt.Sprintf("sequence %d", a.Sequence)
	case a.Recorded:
		return a.Date.String() + " (recorded time)"
	case !a.Date.IsZero():
		return a.Date.String()
	}
	return "now"
}

// Validate checks that at most one point is named.
func (a AsOf) Validate() error {
	n := 0
	for _, set := range []bool{!a.Date.IsZero(), a.Sequence != 0, a.Version != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		return domain.Invalid("asOf", "give one of a date, a sequence or a plan version, not %d", n)
	}
	if a.Recorded && a.Date.IsZero() {
		return domain.Invalid("asOf.basis", "recorded time needs a date")
	}
	return nil
}

// Groups: which part of an aggregate's state an event sets. For a
// last-writer group only the last event (in stream order) among those that
// count changes the folded state: every event of the group overwrites what
// the earlier ones set, and nothing else reads it (see domain/evolve.go).
// Every other group is folded in full. An event type not named here is
// folded in full, so a new type can never be dropped by mistake.
// TestSelectiveFoldIsEvolve checks that the selective fold equals the full
// fold on random histories.
const (
	grpActionAdded    = 1  // full
	grpActionTexts    = 2  // last: ActionRevised
	grpActionRag      = 3  // last: RagChanged
	grpActionDeadline = 4  // full: DeadlineMoved (moves are counted)
	grpActionLeads    = 5  // last: LeadsReassigned
	grpActionProgress = 6  // last: ProgressRecorded
	grpActionImpact   = 7  // last: ImpactRecorded
	grpActionStatus   = 8  // last: ActionWithdrawn, ActionReinstated
	grpActionFlag     = 9  // full: FlagResolved
	grpKpiDefined     = 11 // full
	grpKpiValue       = 12 // full: KpiValueRecorded
	grpKpiCorrected   = 13 // full: KpiValueCorrected (history is kept)
	grpKpiTarget      = 14 // last: KpiTargetChanged
	grpPriority       = 21 // last: PriorityAreaAdded, PriorityAreaRevised (each sets the whole area)
	grpPlanCreated    = 31 // full
	grpPlanPeriod     = 32 // full: ReportingPeriodClosed
	grpPlanVersion    = 33 // full: PlanVersionPublished
	grpOther          = 99 // full
)

// allGroups lists every group groupOf returns.
var allGroups = []int{grpActionAdded, grpActionTexts, grpActionRag, grpActionDeadline, grpActionLeads, grpActionProgress,
	grpActionImpact, grpActionStatus, grpActionFlag, grpKpiDefined, grpKpiValue, grpKpiCorrected, grpKpiTarget,
	grpPriority, grpPlanCreated, grpPlanPeriod, grpPlanVersion, grpOther}

// lastWriterGroups are the groups folded from their last event only, with
// the aggregate type they belong to.
var lastWriterGroups = []struct {
	t   domain.AggregateType
	grp int
}{
	{domain.AggAction, grpActionTexts}, {domain.AggAction, grpActionRag}, {domain.AggAction, grpActionLeads},
	{domain.AggAction, grpActionProgress}, {domain.AggAction, grpActionImpact}, {domain.AggAction, grpActionStatus},
	{domain.AggKpi, grpKpiTarget}, {domain.AggPriority, grpPriority},
}

func isLastWriter(grp int) bool {
	for _, g := range lastWriterGroups {
		if g.grp == grp {
			return true
		}
	}
	return false
}

func groupOf(e domain.Event) int {
	switch e.(type) {
	case domain.ActionAdded:
		return grpActionAdded
	case domain.ActionRevised:
		return grpActionTexts
	case domain.RagChanged:
		return grpActionRag
	case domain.DeadlineMoved:
		return grpActionDeadline
	case domain.LeadsReassigned:
		return grpActionLeads
	case domain.ProgressRecorded:
		return grpActionProgress
	case domain.ImpactRecorded:
		return grpActionImpact
	case domain.ActionWithdrawn, domain.ActionReinstated:
		return grpActionStatus
	case domain.FlagResolved:
		return grpActionFlag
	case domain.KpiDefined:
		return grpKpiDefined
	case domain.KpiValueRecorded:
		return grpKpiValue
	case domain.KpiValueCorrected:
		return grpKpiCorrected
	case domain.KpiTargetChanged:
		return grpKpiTarget
	case domain.PriorityAreaAdded, domain.PriorityAreaRevised:
		return grpPriority
	case domain.PlanCreated:
		return grpPlanCreated
	case domain.ReportingPeriodClosed:
		return grpPlanPeriod
	case domain.PlanVersionPublished:
		return grpPlanVersion
	}
	return grpOther
}

// cutoff is an AsOf resolved against the read model: the events that count
// are those with sequence <= seq (prefix), or with occurred (µs) < before
// (business time).
type cutoff struct {
	now      bool
	business bool
	seq      uint64
	before   int64
	// bound (stream-position cutoffs) is the latest business time of the
	// plan's events up to seq, or later: every event that counts occurred
	// at or before it.
	bound int64
	at    AsOf
}

// beforeTime is the first instant after the cutoff's day (business time).
func (c cutoff) beforeTime() time.Time { return time.UnixMicro(c.before).UTC() }

// includes reports whether an event counts.
func (c cutoff) includes(seq uint64, occurred time.Time) bool {
	switch {
	case c.now:
		return true
	case c.business:
		return occurred.UnixMicro() < c.before
	}
	return seq <= c.seq
}

// sqlFilter is the condition (and its argument) that keeps the events
// that count, on a table with sequence and occurred (µs) columns.
func (c cutoff) sqlFilter(prefix string) (string, any) {
	if c.business {
		return prefix + "occurred < ?", c.before
	}
	return prefix + "sequence <= ?", int64(c.seq)
}

// endOfDay is the first microsecond after d (UTC).
func endOfDay(d domain.Date) int64 { return d.Time().AddDate(0, 0, 1).UnixMicro() }

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// resolve turns at into a cutoff for plan. The cutoff is "now" when it
// covers every event of the plan, so that the current tables answer.
func resolve(ctx context.Context, q querier, plan string, at AsOf) (cutoff, error) {
	if err := at.Validate(); err != nil {
		return cutoff{}, err
	}
	c := cutoff{at: at}
	switch {
	case at.IsNow():
		c.now = true
		return c, nil
	case at.Version != "":
		var date string
		switch err := q.QueryRowContext(ctx, `SELECT date FROM plan_versions WHERE plan = ? AND version = ?`, plan, at.Version).Scan(&date); {
		case errors.Is(err, sql.ErrNoRows):
			if ok, err := planExists(ctx, q, plan); err != nil {
				return cutoff{}, err
			} else if !ok {
				return cutoff{}, noPlan(plan)
			}
			return cutoff{}, &domain.Error{Code: domain.ENOTFOUND, Field: "asOf.planVersion", Message: fmt.Sprintf("plan %s has published no version %q", plan, at.Version)}
		case err != nil:
			return cutoff{}, fmt.Errorf("projections: version %s of %s: %w", at.Version, plan, err)
		}
		d, err := domain.ParseDate(date)
		if err != nil {
			return cutoff{}, err
		}
		c.business, c.before = true, endOfDay(d)
	case at.Sequence != 0:
		c.seq = at.Sequence
	case at.Recorded:
		seq, err := lastRecordedBefore(ctx, q, fmtTime(at.Date.Time().AddDate(0, 0, 1)))
		if err != nil {
			return cutoff{}, err
		}
		c.seq = seq
	default:
		c.business, c.before = true, endOfDay(at.Date)
	}
	if !c.business {
		c.bound = math.MinInt64
		var b int64
		switch err := q.QueryRowContext(ctx, `SELECT max_occurred FROM asof_clock WHERE plan = ? AND block <= ? ORDER BY block DESC LIMIT 1`,
			plan, int64(c.seq)>>clockBlock).Scan(&b); {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return cutoff{}, fmt.Errorf("projections: as of: %w", err)
		default:
			c.bound = b
		}
	}
	// Does the cutoff cover the whole plan? Then the current rows answer.
	if c.business {
		var maxOcc sql.NullInt64
		if err := q.QueryRowContext(ctx, `SELECT max(max_occurred) FROM asof_aggregates WHERE plan = ?`, plan).Scan(&maxOcc); err != nil {
			return cutoff{}, fmt.Errorf("projections: as of: %w", err)
		}
		c.now = maxOcc.Valid && maxOcc.Int64 < c.before
	} else {
		var last sql.NullInt64
		if err := q.QueryRowContext(ctx, `SELECT max(sequence) FROM events WHERE plan = ?`, plan).Scan(&last); err != nil {
			return cutoff{}, fmt.Errorf("projections: as of: %w", err)
		}
		c.now = last.Valid && uint64(last.Int64) <= c.seq
	}
	return c, nil
}

// lastRecordedBefore returns the last stream sequence recorded before t
// (fixed-width text), 0 when none. The stream is in append order and
// recorded_at is the appending server's clock, so recorded_at ascends with
// the sequence: a binary search finds the boundary.
func lastRecordedBefore(ctx context.Context, q querier, t string) (uint64, error) {
	var maxSeq sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT max(sequence) FROM events`).Scan(&maxSeq); err != nil {
		return 0, fmt.Errorf("projections: as of: %w", err)
	}
	lo, hi := int64(0), maxSeq.Int64+1 // lo: recorded before t (or 0); hi: at or after t (or past the end)
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		var (
			seq int64
			rec string
		)
		err := q.QueryRowContext(ctx, `SELECT sequence, recorded_at FROM events WHERE sequence >= ? ORDER BY sequence LIMIT 1`, mid).Scan(&seq, &rec)
		switch {
		case errors.Is(err, sql.ErrNoRows) || (err == nil && seq >= hi):
			hi = mid // no event in [mid, hi)
		case err != nil:
			return 0, fmt.Errorf("projections: as of: %w", err)
		case rec < t:
			lo = seq
		default:
			hi = seq
		}
	}
	return uint64(lo), nil
}

// folded is a plan's aggregates as of a cutoff, each folded with
// domain.Evolve.
type folded struct {
	states map[aggKey]domain.State
	first  map[aggKey]uint64 // sequence of the first event folded: the plan's order of indicators
}

func (f *folded) action(id string) (domain.ActionState, bool) {
	s, ok := f.states[aggKey{domain.AggAction, id}].(domain.ActionState)
	return s, ok && s.Exists()
}

func (f *folded) plan(slug string) domain.PlanState {
	s, _ := f.states[aggKey{domain.AggPlan, slug}].(domain.PlanState)
	return s
}

// foldAsOf folds the aggregates of plan (of the given types, or all; or the one
// aggregate id) as of c. It reads only the events that can change the
// result: for each last-writer group the last event that counts (found
// through the business-time index; back-dated events are checked apart),
// and every event of the other groups.
func foldAsOf(ctx context.Context, q querier, plan string, c cutoff, id string, types ...domain.AggregateType) (*folded, error) {
	where := []string{"a.plan = ?"}
	args := []any{plan}
	if id != "" {
		where, args = append(where, "a.aggregate_id = ?"), append(args, id)
	}
	if len(types) > 0 {
		ph := make([]string, len(types))
		for i, t := range types {
			ph[i], args = "?", append(args, string(t))
		}
		where = append(where, "a.aggregate_type IN ("+strings.Join(ph, ", ")+")")
	}
	var groups, full, lwGroups []string
	for _, g := range lastWriterGroups {
		groups = append(groups, fmt.Sprintf("('%s', %d)", g.t, g.grp))
		lwGroups = append(lwGroups, fmt.Sprint(g.grp))
	}
	for _, g := range allGroups {
		if !isLastWriter(g) {
			full = append(full, fmt.Sprintf("(%d)", g))
		}
	}
	var last, late, all string
	cond, carg := c.sqlFilter("e.")
	if c.business {
		// The last event that counts is the one last in (occurred,
		// sequence) order, unless a back-dated event that counts comes
		// after it in the stream: the last of those is read apart (the
		// larger sequence of the two is the one to fold).
		last = `SELECT (SELECT e.sequence FROM asof_events e WHERE e.agg = g.key AND e.grp = g.grp AND ` + cond + `
	ORDER BY e.occurred DESC, e.sequence DESC LIMIT 1) FROM g`
		late = ` UNION SELECT max(e.sequence) FROM aggs JOIN asof_events e INDEXED BY asof_events_backdated ON e.agg = aggs.key
	WHERE e.late = 1 AND e.grp IN (` + strings.Join(lwGroups, ", ") + `) AND ` + cond + ` GROUP BY e.agg, e.grp`
	} else {
		// The same, among the events that occurred by the bound (all those
		// up to the sequence did): few of the events after the sequence
		// are passed over before one that counts is found.
		last = `SELECT (SELECT e.sequence FROM asof_events e WHERE e.agg = g.key AND e.grp = g.grp AND e.occurred <= ? AND ` + cond + `
	ORDER BY e.occurred DESC, e.sequence DESC LIMIT 1) FROM g`
		late = ` UNION SELECT max(e.sequence) FROM aggs JOIN asof_events e INDEXED BY asof_events_backdated ON e.agg = aggs.key
	WHERE e.late = 1 AND e.grp IN (` + strings.Join(lwGroups, ", ") + `) AND ` + cond + ` GROUP BY e.agg, e.grp`
	}
	all = `SELECT e.sequence FROM aggs JOIN full_groups f JOIN asof_events e ON e.agg = aggs.key AND e.grp = f.grp WHERE ` + cond
	query := `WITH aggs(key, type) AS (SELECT a.key, a.aggregate_type FROM asof_aggregates a WHERE ` + strings.Join(where, " AND ") + `),
	lw(type, grp) AS (VALUES ` + strings.Join(groups, ", ") + `),
	full_groups(grp) AS (VALUES ` + strings.Join(full, ", ") + `),
	g(key, grp) AS (SELECT aggs.key, lw.grp FROM aggs JOIN lw ON lw.type = aggs.type),
	sel(seq) AS (` + last + late + ` UNION ALL ` + all + `)
SELECT ev.sequence, ev.raw FROM sel JOIN events ev ON ev.sequence = sel.seq ORDER BY 1`
	// carg is used by the last-writer, late and full parts in turn.
	if !c.business {
		args = append(args, c.bound)
	}
	args = append(args, carg, carg, carg)
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("projections: as of %s: %w", c.at, err)
	}
	defer rows.Close()
	type stored struct {
		seq uint64
		raw []byte
		env domain.Envelope
		err error
	}
	var evs []stored
	for rows.Next() {
		var (
			seq int64
			raw []byte
		)
		if err := rows.Scan(&seq, &raw); err != nil {
			return nil, fmt.Errorf("projections: as of %s: %w", c.at, err)
		}
		if n := len(evs); n > 0 && evs[n-1].seq == uint64(seq) {
			continue // found twice (as a last writer and back-dated): folded once
		}
		evs = append(evs, stored{seq: uint64(seq), raw: raw})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projections: as of %s: %w", c.at, err)
	}
	// Decoding is most of the work and each event decodes alone: spread it
	// over the processors, then fold in stream order.
	workers := min(runtime.GOMAXPROCS(0), 1+len(evs)/512)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(evs); i += workers {
				evs[i].env, evs[i].err = eventpb.Unmarshal(evs[i].raw, evs[i].seq)
			}
		}()
	}
	wg.Wait()
	f := &folded{states: map[aggKey]domain.State{}, first: map[aggKey]uint64{}}
	for _, e := range evs {
		if e.err != nil {
			return nil, fmt.Errorf("projections: as of %s: sequence %d: %w", c.at, e.seq, e.err)
		}
		env := e.env
		if env.Event == nil {
			continue
		}
		k := aggKey{env.AggregateType, env.AggregateID}
		st, ok := f.states[k]
		if !ok {
			if st = domain.NewState(k.t); st == nil {
				continue
			}
			f.first[k] = e.seq
		}
		f.states[k] = domain.Evolve(st, env)
	}
	return f, nil
}

// planNotYet is the error for a plan that did not exist at the cutoff; it
// says when the plan was created (its import's business time).
func planNotYet(ctx context.Context, q querier, plan string, c cutoff) error {
	var created string
	if err := q.QueryRowContext(ctx, `SELECT created_at FROM plans WHERE slug = ?`, plan).Scan(&created); err == nil {
		if t, err := parseTime(created); err == nil && !t.IsZero() {
			return &domain.Error{Code: domain.ENOTFOUND, Field: "asOf", Message: fmt.Sprintf(
				"plan %s did not exist yet as of %s: it was created (imported) on %s", plan, c.at, t.UTC().Format("2006-01-02"))}
		}
	}
	return notYet("plan "+plan, c)
}

// notYet is the error for a plan or action that did not exist at the
// cutoff.
func notYet(what string, c cutoff) error {
	return &domain.Error{Code: domain.ENOTFOUND, Field: "asOf", Message: fmt.Sprintf("%s did not exist yet as of %s", what, c.at)}
}
