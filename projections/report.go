package projections

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sendtrail/sendtrail/domain"
	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
)

// The reports: deadline trails, silent slips, slip analysis, the RAG
// summary, reporting periods and plan versions (and, in their own files,
// ExplainAction and the KPI scorecard). Each answers from one read-only
// snapshot, from the current rows when the point asked for covers the whole
// plan and from the selective fold (asof.go) otherwise.

// report runs f on one snapshot with at resolved for plan.
func (db *DB) report(ctx context.Context, plan string, at AsOf, f func(tx *sql.Tx, c cutoff) error) error {
	tx, err := db.readTx(ctx)
	if err != nil {
		return fmt.Errorf("projections: report: %w", err)
	}
	defer tx.Rollback()
	c, err := resolve(ctx, tx, plan, at)
	if err != nil {
		return err
	}
	return f(tx, c)
}

// --- deadline moves ---

type moveRow struct {
	m        *pb.DeadlineMove
	actionID string
	refSort  string
	occurred int64
}

const moveCols = `m.sequence, m.action_id, m.ref, m.ref_sort, m.priority, m.origin, m.from_date, m.to_date, m.days, m.category,
	m.slip, m.baseline, m.reason, m.occurred_at, m.occurred, m.recorded_at, m.actor_id, m.actor_name, m.actor_role, m.leads`

// queryMoves returns the moves matching where (on deadline_moves m), in
// the order decided (at most limit of them; 0: all), with the leads when
// each was recorded.
func queryMoves(ctx context.Context, q querier, limit int, where string, args ...any) ([]moveRow, error) {
	query := `SELECT ` + moveCols + ` FROM deadline_moves m WHERE ` + where + ` ORDER BY m.occurred, m.sequence`
	if limit > 0 {
		query, args = query+` LIMIT ?`, append(args, limit)
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("projections: deadline moves: %w", err)
	}
	defer rows.Close()
	var out []moveRow
	for rows.Next() {
		var (
			r        moveRow
			m        pb.DeadlineMove
			seq      int64
			days     int64
			occ, rec string
			actor    pb.Actor
			leads    string
		)
		if err := rows.Scan(&seq, &r.actionID, &m.Ref, &r.refSort, &m.Priority, &m.Origin, &m.From, &m.To, &days, &m.ReasonCategory,
			&m.Slip, &m.Baseline, &m.Reason, &occ, &r.occurred, &rec, &actor.Id, &actor.DisplayName, &actor.Role, &leads); err != nil {
			return nil, fmt.Errorf("projections: deadline moves: %w", err)
		}
		if err := json.Unmarshal([]byte(leads), &m.Leads); err != nil {
			return nil, fmt.Errorf("projections: deadline move %d: leads: %w", seq, err)
		}
		m.Sequence, m.Days, m.Actor = uint64(seq), int32(days), &actor
		if m.OccurredAt, err = ts(occ); err != nil {
			return nil, err
		}
		if m.RecordedAt, err = ts(rec); err != nil {
			return nil, err
		}
		r.m = &m
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projections: deadline moves: %w", err)
	}
	return out, nil
}

// moveCutoff is the condition keeping the moves that count at c.
func moveCutoff(c cutoff) (string, []any) {
	if c.now {
		return "", nil
	}
	cond, arg := c.sqlFilter("m.")
	return " AND " + cond, []any{arg}
}

// --- GetDeadlineTrail ---

// DeadlineTrail returns an action's deadline trail as of at.
func (db *DB) DeadlineTrail(ctx context.Context, plan, ref string, at AsOf) (*pb.DeadlineTrail, error) {
	var out *pb.DeadlineTrail
	err := db.report(ctx, plan, at, func(tx *sql.Tx, c cutoff) error {
		v, err := oneAction(ctx, tx, plan, ref, c)
		if err != nil {
			return err
		}
		cond, args := moveCutoff(c)
		moves, err := queryMoves(ctx, tx, 0, `m.plan = ? AND m.action_id = ?`+cond, append([]any{plan, v.id}, args...)...)
		if err != nil {
			return err
		}
		out = trailOf(v, moves)
		return nil
	})
	return out, err
}

// oneAction reads one action as of c.
func oneAction(ctx context.Context, tx *sql.Tx, plan, ref string, c cutoff) (actionView, error) {
	if c.now {
		id, err := actionID(ctx, tx, plan, ref)
		if err != nil {
			return actionView{}, err
		}
		vs, err := currentActionViews(ctx, tx, plan, id)
		if err != nil {
			return actionView{}, err
		}
		if len(vs) != 1 {
			return actionView{}, noAction(plan, ref)
		}
		return vs[0], nil
	}
	s, err := actionAt(ctx, tx, plan, ref, c)
	if err != nil {
		return actionView{}, err
	}
	return viewOf(domain.ActionID(plan, ref), s), nil
}

func leadsPB(ls []domain.Lead) []*pb.Lead {
	out := make([]*pb.Lead, 0, len(ls))
	for _, l := range ls {
		out = append(out, &pb.Lead{Name: l.Name, Role: l.Role, Organisation: l.Organisation})
	}
	return out
}

const rebaselined = "rebaselined"

func trailOf(v actionView, moves []moveRow) *pb.DeadlineTrail {
	t := &pb.DeadlineTrail{Ref: v.ref, Priority: v.priority, Text: v.text, Leads: leadsPB(v.leads), DeadlineRaw: v.deadlineRaw,
		OriginalDeadline: v.original.String(), BaselineDeadline: v.original.String(), Deadline: v.deadline.String(),
		MoveCount: uint32(v.moves), Rag: v.rag.String(), Withdrawn: v.withdrawn, Moves: []*pb.DeadlineMove{}}
	for _, r := range moves {
		m := r.m
		t.Moves = append(t.Moves, m)
		switch {
		case m.Slip:
			t.SlipCount++
			t.DaysSlipped += m.Days
		case !m.Baseline && m.ReasonCategory == rebaselined:
			t.RebaselinedCount++
			t.DaysRebaselined += m.Days
			t.BaselineDeadline = m.To
		}
	}
	return t
}

// --- ListSilentSlips ---

// SilentSlips lists the actions whose deadline had passed on the day on,
// not rated G or C, not withdrawn, with no deadline move decided since the
// deadline in force: the slips no one explained. The plan is read as of at
// (default: the end of on, business time). priority and lead filter.
func (db *DB) SilentSlips(ctx context.Context, plan string, on domain.Date, at AsOf, priority, lead string) ([]*pb.SilentSlip, error) {
	if on.IsZero() {
		return nil, domain.Invalid("on", "a date is required")
	}
	if at.IsNow() {
		at = AsOf{Date: on}
	}
	out := []*pb.SilentSlip{}
	err := db.report(ctx, plan, at, func(tx *sql.Tx, c cutoff) error {
		views, _, err := planViews(ctx, tx, plan, c)
		if err != nil {
			return err
		}
		cond, args := moveCutoff(c)
		rows, err := tx.QueryContext(ctx, `SELECT m.action_id, max(m.occurred) FROM deadline_moves m WHERE m.plan = ?`+cond+` GROUP BY m.action_id`,
			append([]any{plan}, args...)...)
		if err != nil {
			return fmt.Errorf("projections: silent slips: %w", err)
		}
		lastMoved := map[string]domain.Date{}
		for rows.Next() {
			var (
				id  string
				occ int64
			)
			if err := rows.Scan(&id, &occ); err != nil {
				rows.Close()
				return fmt.Errorf("projections: silent slips: %w", err)
			}
			lastMoved[id] = domain.DateOf(time.UnixMicro(occ).UTC())
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("projections: silent slips: %w", err)
		}
		for _, v := range views {
			if !v.overdue(on) || (priority != "" && v.priority != priority) || (lead != "" && !v.ledBy(lead)) {
				continue
			}
			last, moved := lastMoved[v.id]
			if moved && !last.Before(v.deadline) {
				continue // a move was decided after the deadline in force passed
			}
			s := &pb.SilentSlip{Ref: v.ref, Priority: v.priority, Text: v.text, Leads: leadsPB(v.leads), LeadsRaw: v.leadsRaw,
				Deadline: v.deadline.String(), DaysOverdue: int32(v.deadline.DaysUntil(on)), Rag: v.rag.String(), EarlierMoves: uint32(v.moves)}
			if moved {
				s.LastMoved = last.String()
			}
			out = append(out, s)
		}
		return nil
	})
	slices.SortStableFunc(out, func(a, b *pb.SilentSlip) int { return cmp.Compare(b.DaysOverdue, a.DaysOverdue) })
	return out, err
}

// --- ListDeadlineSlips ---

// SlipFilter selects deadline moves. Filters combine with AND; zero values
// do not filter.
type SlipFilter struct {
	Plan     string // required
	Priority string
	Lead     string // a lead of the action when the move was recorded
	Origin   string // contained in the action's origin, case ignored
	Category string // a reason category
	MinDays  int    // moves of at least this many days (0: any)
	From, To domain.Date
	AsOf     AsOf
	PageSize int
	// PageToken is from a previous answer.
	PageToken string
}

// SlipAnalysis is ListDeadlineSlips' answer.
type SlipAnalysis = pb.ListDeadlineSlipsResponse

// DeadlineSlips lists the deadline moves matching f (baselines never), a
// page at a time, with totals over every match by priority, lead and
// category, and the actions that slipped twice or more.
func (db *DB) DeadlineSlips(ctx context.Context, f SlipFilter) (*SlipAnalysis, error) {
	where := []string{"m.plan = ?", "m.baseline = 0"}
	args := []any{f.Plan}
	if f.Priority != "" {
		where, args = append(where, "m.priority = ?"), append(args, f.Priority)
	}
	category := ""
	if f.Category != "" {
		c, err := domain.ParseReasonCategory(f.Category)
		if err != nil {
			return nil, err
		}
		category = c.String()
		where, args = append(where, "m.category = ?"), append(args, category)
	}
	if o := fold(f.Origin); o != "" {
		where, args = append(where, "instr(m.origin_folded, ?) > 0"), append(args, o)
	}
	if l := fold(f.Lead); l != "" {
		where, args = append(where, "instr(m.leads_folded, ?) > 0"), append(args, "\x1f"+l+"\x1f")
	}
	if f.MinDays != 0 {
		where, args = append(where, "m.days >= ?"), append(args, f.MinDays)
	}
	if !f.From.IsZero() {
		where, args = append(where, "m.occurred >= ?"), append(args, f.From.Time().UnixMicro())
	}
	if !f.To.IsZero() {
		where, args = append(where, "m.occurred < ?"), append(args, endOfDay(f.To))
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		return nil, domain.Invalid("to", "%s is before from (%s)", f.To, f.From)
	}
	var afterOcc, afterSeq int64 = math.MinInt64, 0
	if f.PageToken != "" {
		var err error
		if afterOcc, afterSeq, err = decodeSlipToken(f.PageToken); err != nil {
			return nil, err
		}
	}
	size := f.PageSize
	switch {
	case size <= 0:
		size = DefaultPageSize
	case size > MaxPageSize:
		size = MaxPageSize
	}
	var out *SlipAnalysis
	err := db.report(ctx, f.Plan, f.AsOf, func(tx *sql.Tx, c cutoff) error {
		if ok, err := planExists(ctx, tx, f.Plan); err != nil {
			return err
		} else if !ok {
			return noPlan(f.Plan)
		}
		cond, cargs := moveCutoff(c)
		w, a := strings.Join(where, " AND ")+cond, append(slices.Clip(args), cargs...)
		var (
			groups, byLead []slipGroup
			err            error
		)
		if c.now && slipRollup && f.Lead == "" && f.Origin == "" && f.MinDays == 0 && f.From.IsZero() && f.To.IsZero() {
			groups, byLead, err = rollupGroups(ctx, tx, f.Plan, f.Priority, category)
		} else {
			groups, byLead, err = slipGroups(ctx, tx, w, a)
		}
		if err != nil {
			return err
		}
		if out, err = slipTotals(ctx, tx, groups, byLead); err != nil {
			return err
		}
		page, err := queryMoves(ctx, tx, size+1, w+" AND (m.occurred, m.sequence) > (?, ?)", append(slices.Clip(a), afterOcc, afterSeq)...)
		if err != nil {
			return err
		}
		for i, r := range page {
			if i == size {
				last := page[size-1]
				out.NextPageToken = encodeSlipToken(last.occurred, int64(last.m.Sequence))
				break
			}
			out.Moves = append(out.Moves, r.m)
		}
		return nil
	})
	return out, err
}

// slipGroup is the moves of one action in one priority and category, or
// of one action with one lead (rollup) or one set of leads (scan).
type slipGroup struct {
	priority, category, action         string
	lead                               string   // rollup lead rows: the lead's name
	leads                              []string // scan rows: the moves' leads
	moves, slips, daysSlipped, daysReb int32
	first, last                        int64 // sequences of the first and last slips (0: none)
}

// slipGroups scans the moves matching where, grouped in SQL: by
// priority, category and action, and by leads and action.
func slipGroups(ctx context.Context, tx *sql.Tx, where string, args []any) (groups, byLeads []slipGroup, err error) {
	rows, err := tx.QueryContext(ctx, `SELECT m.priority, m.category, m.action_id,
	count(*), coalesce(sum(m.slip), 0), coalesce(sum(CASE WHEN m.slip = 1 THEN m.days END), 0),
	coalesce(sum(CASE WHEN m.slip = 0 THEN m.days END), 0),
	coalesce(min(CASE WHEN m.slip = 1 THEN m.sequence END), 0), coalesce(max(CASE WHEN m.slip = 1 THEN m.sequence END), 0)
FROM deadline_moves m WHERE `+where+` GROUP BY m.priority, m.category, m.action_id`, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("projections: slip totals: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var g slipGroup
		if err := rows.Scan(&g.priority, &g.category, &g.action, &g.moves, &g.slips, &g.daysSlipped, &g.daysReb, &g.first, &g.last); err != nil {
			return nil, nil, fmt.Errorf("projections: slip totals: %w", err)
		}
		groups = append(groups, g)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	lrows, err := tx.QueryContext(ctx, `SELECT m.leads, m.action_id, count(*), coalesce(sum(m.slip), 0),
	coalesce(sum(CASE WHEN m.slip = 1 THEN m.days END), 0), coalesce(sum(CASE WHEN m.slip = 0 THEN m.days END), 0)
FROM deadline_moves m WHERE `+where+` GROUP BY m.leads, m.action_id`, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("projections: slip totals: %w", err)
	}
	defer lrows.Close()
	leadSets := map[string][]string{} // the same leads, read once
	for lrows.Next() {
		var (
			g         slipGroup
			leadsJSON string
		)
		if err := lrows.Scan(&leadsJSON, &g.action, &g.moves, &g.slips, &g.daysSlipped, &g.daysReb); err != nil {
			return nil, nil, fmt.Errorf("projections: slip totals: %w", err)
		}
		leads, ok := leadSets[leadsJSON]
		if !ok {
			if err := json.Unmarshal([]byte(leadsJSON), &leads); err != nil {
				return nil, nil, fmt.Errorf("projections: slip totals: leads: %w", err)
			}
			leadSets[leadsJSON] = leads
		}
		g.leads = leads
		byLeads = append(byLeads, g)
	}
	return groups, byLeads, lrows.Err()
}

// rollupGroups reads the running totals of the plan's moves (optionally of
// one priority or category): a row per action (and priority and category),
// and per lead and action.
func rollupGroups(ctx context.Context, tx *sql.Tx, plan, priority, category string) (moves, byLead []slipGroup, err error) {
	where, args := "plan = ?", []any{plan}
	if priority != "" {
		where, args = where+" AND priority = ?", append(args, priority)
	}
	if category != "" {
		where, args = where+" AND category = ?", append(args, category)
	}
	rows, err := tx.QueryContext(ctx, `SELECT priority, category, action_id, moves, slips, days_slipped, days_rebaselined, first_slip, last_slip
FROM slip_rollup WHERE lead = '' AND `+where, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("projections: slip totals: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var g slipGroup
		if err := rows.Scan(&g.priority, &g.category, &g.action, &g.moves, &g.slips, &g.daysSlipped, &g.daysReb, &g.first, &g.last); err != nil {
			return nil, nil, fmt.Errorf("projections: slip totals: %w", err)
		}
		moves = append(moves, g)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	lrows, err := tx.QueryContext(ctx, `SELECT min(lead_name), action_id, sum(moves), sum(slips), sum(days_slipped), sum(days_rebaselined)
FROM slip_rollup WHERE lead <> '' AND `+where+` GROUP BY lead, action_id`, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("projections: slip totals: %w", err)
	}
	defer lrows.Close()
	for lrows.Next() {
		var g slipGroup
		if err := lrows.Scan(&g.lead, &g.action, &g.moves, &g.slips, &g.daysSlipped, &g.daysReb); err != nil {
			return nil, nil, fmt.Errorf("projections: slip totals: %w", err)
		}
		byLead = append(byLead, g)
	}
	return moves, byLead, lrows.Err()
}

// slipper is an action that slipped, as totalled.
type slipper struct {
	r           *pb.RepeatSlipper
	order       string
	first, last int64
}

// slipRollup lets tests compare the rollup with a scan of the moves.
var slipRollup = true

// slipTotals totals the moves (groups) by priority and category, and by
// lead (byLeadGroups), and finds the actions that slipped twice or more.
func slipTotals(ctx context.Context, tx *sql.Tx, groups, byLeadGroups []slipGroup) (*SlipAnalysis, error) {
	type acc struct {
		t       *pb.SlipTotal
		actions map[string]bool
	}
	newAcc := func(key string) *acc { return &acc{t: &pb.SlipTotal{Key: key}, actions: map[string]bool{}} }
	add := func(a *acc, g slipGroup) {
		a.t.Moves += uint32(g.moves)
		a.t.Slips += uint32(g.slips)
		a.t.DaysSlipped += g.daysSlipped
		a.t.Rebaselined += uint32(g.moves - g.slips)
		a.t.DaysRebaselined += g.daysReb
		if !a.actions[g.action] {
			a.actions[g.action] = true
			a.t.Actions++
		}
	}
	addLead := func(m map[string]*acc, name string, g slipGroup) {
		k := fold(name)
		a := m[k]
		if a == nil {
			a = newAcc(name)
			m[k] = a
		}
		if name < a.t.Key {
			a.t.Key = name // one spelling, whatever the order of the rows
		}
		add(a, g)
	}
	total := newAcc("")
	byPriority, byCategory, byLead := map[string]*acc{}, map[string]*acc{}, map[string]*acc{}
	slippers := map[string]*slipper{}
	for _, g := range groups {
		add(total, g)
		for _, x := range []struct {
			m   map[string]*acc
			key string
		}{{byPriority, g.priority}, {byCategory, g.category}} {
			a := x.m[x.key]
			if a == nil {
				a = newAcc(x.key)
				x.m[x.key] = a
			}
			add(a, g)
		}
		if g.slips == 0 {
			continue
		}
		s := slippers[g.action]
		if s == nil {
			s = &slipper{r: &pb.RepeatSlipper{Priority: g.priority}, first: g.first}
			slippers[g.action] = s
		}
		s.r.Slips += uint32(g.slips)
		s.r.DaysSlipped += g.daysSlipped
		s.first, s.last = min(s.first, g.first), max(s.last, g.last) // in stream order, as the deadline is folded
	}
	for _, g := range byLeadGroups {
		if g.leads == nil {
			addLead(byLead, g.lead, g)
		}
		for _, name := range g.leads {
			addLead(byLead, name, g)
		}
	}
	out := &SlipAnalysis{Moves: []*pb.DeadlineMove{}, Total: total.t}
	for _, p := range byPriority {
		out.ByPriority = append(out.ByPriority, p.t)
	}
	slices.SortFunc(out.ByPriority, func(a, b *pb.SlipTotal) int {
		return cmp.Or(strings.Compare(sortKey(a.Key), sortKey(b.Key)), strings.Compare(a.Key, b.Key))
	})
	for _, rc := range domain.ReasonCategories() {
		if c := byCategory[rc.String()]; c != nil {
			out.ByCategory = append(out.ByCategory, c.t)
		}
	}
	for _, l := range byLead {
		out.ByLead = append(out.ByLead, l.t)
	}
	slices.SortFunc(out.ByLead, func(a, b *pb.SlipTotal) int {
		return cmp.Or(cmp.Compare(b.DaysSlipped, a.DaysSlipped), cmp.Compare(b.Moves, a.Moves), strings.Compare(fold(a.Key), fold(b.Key)))
	})
	// The deadline before the first slip, and after the last with the
	// leads then, read by their sequences.
	var reps []*slipper
	bySeq := map[int64]*slipper{}
	for _, s := range slippers {
		if s.r.Slips >= 2 {
			bySeq[s.first], bySeq[s.last] = s, s
			reps = append(reps, s)
		}
	}
	if err := slipEnds(ctx, tx, bySeq); err != nil {
		return nil, err
	}
	slices.SortFunc(reps, func(a, b *slipper) int {
		return cmp.Or(cmp.Compare(b.r.Slips, a.r.Slips), cmp.Compare(b.r.DaysSlipped, a.r.DaysSlipped), strings.Compare(a.order, b.order))
	})
	for _, s := range reps {
		out.RepeatSlippers = append(out.RepeatSlippers, s.r)
	}
	return out, nil
}

// slipEnds reads the repeat slippers' first and last slips.
func slipEnds(ctx context.Context, tx *sql.Tx, bySeq map[int64]*slipper) error {
	if len(bySeq) == 0 {
		return nil
	}
	seqs := make([]any, 0, len(bySeq))
	for s := range bySeq {
		seqs = append(seqs, s)
	}
	rows, err := tx.QueryContext(ctx, `SELECT sequence, ref, ref_sort, from_date, to_date, leads FROM deadline_moves WHERE sequence IN (?`+strings.Repeat(", ?", len(seqs)-1)+`)`, seqs...)
	if err != nil {
		return fmt.Errorf("projections: repeat slippers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			seq                         int64
			ref, order, from, to, leads string
		)
		if err := rows.Scan(&seq, &ref, &order, &from, &to, &leads); err != nil {
			return fmt.Errorf("projections: repeat slippers: %w", err)
		}
		s := bySeq[seq]
		if s == nil {
			continue
		}
		s.r.Ref, s.order = ref, order
		if seq == s.first {
			s.r.FirstDeadline = from
		}
		if seq == s.last {
			s.r.LastDeadline = to
			if err := json.Unmarshal([]byte(leads), &s.r.Leads); err != nil {
				return fmt.Errorf("projections: repeat slippers: %w", err)
			}
		}
	}
	return rows.Err()
}

// Slip page tokens: base64url of a version byte, the last move's business
// time (µs) and its sequence.
const slipTokenV1 = 1

func encodeSlipToken(occurred, seq int64) string {
	b := make([]byte, 17)
	b[0] = slipTokenV1
	binary.BigEndian.PutUint64(b[1:], uint64(occurred))
	binary.BigEndian.PutUint64(b[9:], uint64(seq))
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeSlipToken(s string) (int64, int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 17 || b[0] != slipTokenV1 {
		return 0, 0, domain.Invalid("page_token", "%q is not a page token from a previous response", s)
	}
	return int64(binary.BigEndian.Uint64(b[1:])), int64(binary.BigEndian.Uint64(b[9:])), nil
}

// --- the plan aggregate: scheme, periods, versions ---

// planMeta is what the reports read of the plan aggregate.
type planMeta struct {
	scheme   []domain.RagSchemeRow
	periods  []domain.ReportingPeriodClosed
	versions []domain.PlanVersionPublished
	created  time.Time // business time the plan was created
}

func planMetaAt(ctx context.Context, tx *sql.Tx, plan string, c cutoff, f *folded) (planMeta, error) {
	var m planMeta
	var scheme, created string
	if err := tx.QueryRowContext(ctx, `SELECT rag_scheme, created_at FROM plans WHERE slug = ?`, plan).Scan(&scheme, &created); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return m, noPlan(plan)
		}
		return m, fmt.Errorf("projections: plan %s: %w", plan, err)
	}
	var err error
	if m.created, err = parseTime(created); err != nil {
		return m, err
	}
	if !c.now {
		ps := f.plan(plan)
		m.scheme, m.periods, m.versions = ps.RagScheme(), ps.Periods(), ps.Versions()
		return m, nil
	}
	var rows []schemeJSONRow
	if err := json.Unmarshal([]byte(scheme), &rows); err != nil {
		return m, fmt.Errorf("projections: plan %s: rag scheme: %w", plan, err)
	}
	for _, r := range rows {
		m.scheme = append(m.scheme, domain.RagSchemeRow(r))
	}
	prs, err := tx.QueryContext(ctx, `SELECT label, date, rag_counts FROM reporting_periods WHERE plan = ? ORDER BY position`, plan)
	if err != nil {
		return m, fmt.Errorf("projections: periods of %s: %w", plan, err)
	}
	defer prs.Close()
	for prs.Next() {
		var (
			p            domain.ReportingPeriodClosed
			date, counts string
		)
		if err := prs.Scan(&p.Label, &date, &counts); err != nil {
			return m, fmt.Errorf("projections: periods of %s: %w", plan, err)
		}
		p.Date, _ = domain.ParseDate(date)
		if err := json.Unmarshal([]byte(counts), &p.RagCounts); err != nil {
			return m, fmt.Errorf("projections: periods of %s: %w", plan, err)
		}
		m.periods = append(m.periods, p)
	}
	if err := prs.Err(); err != nil {
		return m, err
	}
	vrs, err := tx.QueryContext(ctx, `SELECT version, note, date FROM plan_versions WHERE plan = ? ORDER BY position`, plan)
	if err != nil {
		return m, fmt.Errorf("projections: versions of %s: %w", plan, err)
	}
	defer vrs.Close()
	for vrs.Next() {
		var (
			v    domain.PlanVersionPublished
			date string
		)
		if err := vrs.Scan(&v.Version, &v.Note, &date); err != nil {
			return m, fmt.Errorf("projections: versions of %s: %w", plan, err)
		}
		v.Date, _ = domain.ParseDate(date)
		m.versions = append(m.versions, v)
	}
	return m, vrs.Err()
}

// eventMeta is who recorded a plan event, and when.
type eventMeta struct {
	seq                uint64
	actor              *pb.Actor
	occurred, recorded string
}

// planEventMeta returns the metadata of the plan's events of type typ that
// count at c, in stream order: one per period or version the plan holds.
func planEventMeta(ctx context.Context, tx *sql.Tx, plan, typ string, c cutoff) ([]eventMeta, error) {
	rows, err := tx.QueryContext(ctx, `SELECT sequence, occurred_at, recorded_at, actor_id, actor_name, actor_role FROM events
WHERE plan = ? AND type = ? AND aggregate_type = 'plan' ORDER BY sequence`, plan, typ)
	if err != nil {
		return nil, fmt.Errorf("projections: %s of %s: %w", typ, plan, err)
	}
	defer rows.Close()
	var out []eventMeta
	for rows.Next() {
		var (
			m   eventMeta
			seq int64
			a   pb.Actor
		)
		if err := rows.Scan(&seq, &m.occurred, &m.recorded, &a.Id, &a.DisplayName, &a.Role); err != nil {
			return nil, fmt.Errorf("projections: %s of %s: %w", typ, plan, err)
		}
		occ, err := parseTime(m.occurred)
		if err != nil {
			return nil, err
		}
		if !c.includes(uint64(seq), occ) {
			continue
		}
		m.seq, m.actor = uint64(seq), &a
		out = append(out, m)
	}
	return out, rows.Err()
}

func periodsPB(ps []domain.ReportingPeriodClosed, meta []eventMeta) []*pb.ReportingPeriod {
	out := []*pb.ReportingPeriod{}
	for i, p := range ps {
		r := &pb.ReportingPeriod{Label: p.Label, Date: p.Date.String(), RagCounts: map[string]uint32{}}
		for k, n := range p.RagCounts {
			r.RagCounts[k] = uint32(n)
			r.Actions += uint32(n)
		}
		if i < len(meta) {
			r.Actor, r.Sequence = meta[i].actor, meta[i].seq
			r.OccurredAt, _ = ts(meta[i].occurred)
			r.RecordedAt, _ = ts(meta[i].recorded)
		}
		out = append(out, r)
	}
	return out
}

// ReportingPeriods lists the plan's closed reporting periods as of at,
// oldest first.
func (db *DB) ReportingPeriods(ctx context.Context, plan string, at AsOf) ([]*pb.ReportingPeriod, error) {
	var out []*pb.ReportingPeriod
	err := db.report(ctx, plan, at, func(tx *sql.Tx, c cutoff) error {
		m, meta, err := periodsAt(ctx, tx, plan, c)
		if err != nil {
			return err
		}
		out = periodsPB(m.periods, meta)
		return nil
	})
	return out, err
}

func periodsAt(ctx context.Context, tx *sql.Tx, plan string, c cutoff) (planMeta, []eventMeta, error) {
	var f *folded
	if !c.now {
		var err error
		if f, err = foldAsOf(ctx, tx, plan, c, plan, domain.AggPlan); err != nil {
			return planMeta{}, nil, err
		}
		if !f.plan(plan).Exists() {
			if ok, err := planExists(ctx, tx, plan); err != nil || !ok {
				return planMeta{}, nil, cmp.Or(err, noPlan(plan))
			}
			return planMeta{}, nil, planNotYet(ctx, tx, plan, c)
		}
	}
	m, err := planMetaAt(ctx, tx, plan, c, f)
	if err != nil {
		return m, nil, err
	}
	meta, err := planEventMeta(ctx, tx, plan, "reporting_period_closed", c)
	return m, meta, err
}

// PlanVersions lists the plan's version-control table as of at, oldest
// first.
func (db *DB) PlanVersions(ctx context.Context, plan string, at AsOf) ([]*pb.PlanVersion, error) {
	out := []*pb.PlanVersion{}
	err := db.report(ctx, plan, at, func(tx *sql.Tx, c cutoff) error {
		m, _, err := periodsAt(ctx, tx, plan, c)
		if err != nil {
			return err
		}
		meta, err := planEventMeta(ctx, tx, plan, "plan_version_published", c)
		if err != nil {
			return err
		}
		for i, v := range m.versions {
			r := &pb.PlanVersion{Version: v.Version, Note: v.Note, Date: v.Date.String()}
			if i < len(meta) {
				r.Actor, r.Sequence = meta[i].actor, meta[i].seq
				r.OccurredAt, _ = ts(meta[i].occurred)
				r.RecordedAt, _ = ts(meta[i].recorded)
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// --- GetRagSummary ---

// RagCountsAt counts the plan's actions (not withdrawn) by RAG code as they
// stood at the end of date (business time): every code of the scheme and
// "" (not yet rated), zeros included. It is the snapshot ClosePeriod
// records.
func (db *DB) RagCountsAt(ctx context.Context, plan string, date domain.Date) (map[string]int, error) {
	counts := map[string]int{"": 0}
	for _, r := range domain.RAGCodes() {
		counts[r.String()] = 0
	}
	err := db.report(ctx, plan, AsOf{Date: date}, func(tx *sql.Tx, c cutoff) error {
		views, _, err := planViews(ctx, tx, plan, c)
		if err != nil {
			return err
		}
		for _, v := range views {
			if !v.withdrawn {
				counts[v.rag.String()]++
			}
		}
		return nil
	})
	return counts, err
}

// RagSummary returns the plan's RAG table as of at.
func (db *DB) RagSummary(ctx context.Context, plan string, at AsOf) (*pb.RagSummary, error) {
	var out *pb.RagSummary
	err := db.report(ctx, plan, at, func(tx *sql.Tx, c cutoff) error {
		views, f, err := planViews(ctx, tx, plan, c)
		if err != nil {
			return err
		}
		m, err := planMetaAt(ctx, tx, plan, c, f)
		if err != nil {
			return err
		}
		meta, err := planEventMeta(ctx, tx, plan, "reporting_period_closed", c)
		if err != nil {
			return err
		}
		out = &pb.RagSummary{}
		counts := map[string]uint32{}
		for _, v := range views {
			switch {
			case v.withdrawn:
				out.Withdrawn++
			default:
				out.Actions++
				counts[v.rag.String()]++
				if v.flagged {
					out.Flagged++
				}
			}
		}
		var prev *pb.ReportingPeriod
		if ps := periodsPB(m.periods, meta); len(ps) > 0 {
			prev = ps[len(ps)-1]
			out.ComparedWith = prev
		}
		published := map[string]domain.RagSchemeRow{}
		for _, r := range m.scheme {
			published[strings.ToUpper(strings.TrimSpace(r.Code))] = r
		}
		row := func(code, description string) *pb.RagSummaryRow {
			r := &pb.RagSummaryRow{Code: code, Description: description, Count: counts[code]}
			if out.Actions > 0 {
				r.Percent = float64(r.Count) * 100 / float64(out.Actions)
			}
			r.PercentText = fmt.Sprintf("%.0f%%", math.Round(r.Percent))
			if p, ok := published[code]; ok && code != "" {
				r.PublishedCount, r.PublishedPercent, r.PublishedDirection = p.Count, p.Percent, p.Direction
				if p.Description != "" {
					r.Description = p.Description
				}
			}
			if prev != nil {
				r.PreviousCount = prev.RagCounts[code]
				if prev.Actions > 0 {
					r.PreviousPercent = float64(r.PreviousCount) * 100 / float64(prev.Actions)
				}
				// Counts are compared, as a board reads the table: a
				// withdrawn action changes the base of the percentages,
				// not the direction of a code no action moved into or
				// out of.
				switch {
				case r.Count > r.PreviousCount:
					r.Direction = "↑"
				case r.Count < r.PreviousCount:
					r.Direction = "↓"
				default:
					r.Direction = "↔"
				}
			}
			return r
		}
		for _, code := range domain.RAGCodes() {
			out.Rows = append(out.Rows, row(code.String(), code.Description()))
		}
		out.NotRated = row("", domain.NotRated.Description())
		out.Discrepancies, err = discrepancies(ctx, tx, plan, m)
		return err
	})
	return out, err
}

// discrepancies sets the plan's published RAG table against its actions as
// imported (their ratings when added with the plan).
func discrepancies(ctx context.Context, tx *sql.Tx, plan string, m planMeta) ([]string, error) {
	if len(m.scheme) == 0 {
		return nil, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT rag, count(*) FROM action_first_rag WHERE plan = ? AND occurred <= ? GROUP BY rag`,
		plan, m.created.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("projections: rag summary of %s: %w", plan, err)
	}
	defer rows.Close()
	imported, total := map[string]int{}, 0
	for rows.Next() {
		var (
			rag string
			n   int
		)
		if err := rows.Scan(&rag, &n); err != nil {
			return nil, fmt.Errorf("projections: rag summary of %s: %w", plan, err)
		}
		imported[rag], total = n, total+n
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var (
		out                []string
		pubParts, actParts []string
		pubTotal, mismatch int
	)
	for _, r := range m.scheme {
		code := strings.ToUpper(strings.TrimSpace(r.Code))
		n, err := strconv.Atoi(strings.TrimSpace(r.Count))
		if err != nil {
			out = append(out, fmt.Sprintf("%s: the published table's count %q is not a number.", code, r.Count))
			continue
		}
		pubTotal += n
		pubParts = append(pubParts, fmt.Sprintf("%s %d", code, n))
		actParts = append(actParts, fmt.Sprintf("%s %d", code, imported[code]))
		if n != imported[code] {
			mismatch++
			out = append(out, fmt.Sprintf("%s: the published table counts %d, the actions as imported carry %d.", code, n, imported[code]))
		}
	}
	if pubTotal != total && pubTotal > 0 {
		out = append(out, fmt.Sprintf("The published table counts %d actions; %d were imported.", pubTotal, total))
	}
	if mismatch == 0 && pubTotal == total {
		return nil, nil
	}
	head := fmt.Sprintf("The plan's published RAG table disagrees with its actions as imported: it counts %s, the actions carry %s",
		strings.Join(pubParts, ", "), strings.Join(actParts, ", "))
	if n := imported[""]; n > 0 {
		head += fmt.Sprintf(" and %d not yet rated", n)
	}
	return append([]string{head + "."}, out...), nil
}
