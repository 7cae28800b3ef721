package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"

	"github.com/sendtrail/sendtrail/domain"
)

// The reports extension keeps what "as of" queries and the reports need to
// answer fast on a long history, in the same transaction as the core rows:
//
//   - asof_aggregates and asof_events index every event of a plan's
//     aggregates by group (which part of the state it sets) and business
//     time, so that the state of any aggregate as of any point is folded by
//     domain.Evolve from a few events instead of all of them (see asof.go);
//   - deadline_moves holds every deadline move
//     with its days, category and the action's priority, origin and leads
//     when it was recorded, for trails and slip analysis, and slip_rollup
//     its running totals by priority, category, action and lead;
//   - kpi_corrections holds every correction of an indicator's value with
//     who made it and when, for the scorecard;
//   - action_first_rag holds each action's rating as first added, to set
//     against the plan's published RAG table.
//
// Everything here is a function of the events in stream order, so a
// rebuilt read model is identical.
func init() { registerBuiltin(func() Extension { return &reportExt{} }) }

const reportSchema = `
CREATE TABLE IF NOT EXISTS asof_aggregates (
	key            INTEGER PRIMARY KEY,    -- assigned in order of first event
	plan           TEXT    NOT NULL,
	aggregate_type TEXT    NOT NULL,
	aggregate_id   TEXT    NOT NULL,
	max_occurred   INTEGER NOT NULL,       -- latest business time of its events (µs since 1970)
	UNIQUE (aggregate_type, aggregate_id)
);
CREATE INDEX IF NOT EXISTS asof_aggregates_by_plan ON asof_aggregates (plan, aggregate_type);

CREATE TABLE IF NOT EXISTS asof_events (
	agg      INTEGER NOT NULL,             -- asof_aggregates.key
	grp      INTEGER NOT NULL,             -- the part of the state the event sets (asof.go)
	occurred INTEGER NOT NULL,             -- business time, µs since 1970
	sequence INTEGER NOT NULL,
	late     INTEGER NOT NULL,             -- 1: occurred before an earlier event of the aggregate (back-dated)
	PRIMARY KEY (agg, grp, occurred, sequence)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS asof_events_backdated ON asof_events (agg, grp, sequence) WHERE late = 1;

-- The latest business time of a plan's events up to the end of each block
-- of 1024 stream sequences: a bound that lets a stream-position cutoff
-- use asof_events' business-time order.
CREATE TABLE IF NOT EXISTS asof_clock (
	plan         TEXT    NOT NULL,
	block        INTEGER NOT NULL,         -- sequence >> 10
	max_occurred INTEGER NOT NULL,         -- µs since 1970
	PRIMARY KEY (plan, block)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS deadline_moves (
	sequence      INTEGER PRIMARY KEY,
	plan          TEXT    NOT NULL,
	action_id     TEXT    NOT NULL,
	ref           TEXT    NOT NULL,
	ref_sort      TEXT    NOT NULL,
	priority      TEXT    NOT NULL,
	origin        TEXT    NOT NULL,        -- when the move was recorded
	origin_folded TEXT    NOT NULL,
	leads         TEXT    NOT NULL,        -- JSON: the lead names when the move was recorded
	leads_folded  TEXT    NOT NULL,        -- the same folded, each between \x1f, for filtering
	from_date     TEXT    NOT NULL,        -- "" when no deadline was set
	to_date       TEXT    NOT NULL,
	days          INTEGER NOT NULL,        -- from → to; 0 for a baseline
	category      TEXT    NOT NULL,
	slip          INTEGER NOT NULL,        -- 1: slippage (not a baseline, not rebaselined)
	baseline      INTEGER NOT NULL,        -- 1: the first deadline of an action that had none
	reason        TEXT    NOT NULL,
	occurred_at   TEXT    NOT NULL,
	occurred      INTEGER NOT NULL,        -- µs since 1970
	recorded_at   TEXT    NOT NULL,
	actor_id      TEXT    NOT NULL,
	actor_name    TEXT    NOT NULL,
	actor_role    TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS deadline_moves_by_plan ON deadline_moves (plan, occurred, sequence);
CREATE INDEX IF NOT EXISTS deadline_moves_last ON deadline_moves (plan, action_id, occurred);


-- Totals of the moves that are not baselines, kept as they are applied,
-- so that the plan's slip analysis (unfiltered, or by priority or reason
-- category) reads a row per action rather than every move. lead = '' rows
-- count each move once; the others count it for each of its leads.
CREATE TABLE IF NOT EXISTS slip_rollup (
	plan             TEXT    NOT NULL,
	lead             TEXT    NOT NULL,     -- folded lead name, or ''
	priority         TEXT    NOT NULL,
	category         TEXT    NOT NULL,
	action_id        TEXT    NOT NULL,
	lead_name        TEXT    NOT NULL,     -- a spelling of the lead's name
	ref              TEXT    NOT NULL,
	ref_sort         TEXT    NOT NULL,
	moves            INTEGER NOT NULL,
	slips            INTEGER NOT NULL,
	days_slipped     INTEGER NOT NULL,
	days_rebaselined INTEGER NOT NULL,
	first_slip       INTEGER NOT NULL,     -- sequence of the first slip (0: none)
	last_slip        INTEGER NOT NULL,     -- sequence of the last slip
	PRIMARY KEY (plan, lead, priority, category, action_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS kpi_corrections (
	sequence    INTEGER PRIMARY KEY,
	plan        TEXT    NOT NULL,
	kpi_id      TEXT    NOT NULL,
	period      TEXT    NOT NULL,
	old_value   TEXT    NOT NULL,
	new_value   TEXT    NOT NULL,
	reason      TEXT    NOT NULL,
	occurred_at TEXT    NOT NULL,
	occurred    INTEGER NOT NULL,          -- µs since 1970
	recorded_at TEXT    NOT NULL,
	actor_id    TEXT    NOT NULL,
	actor_name  TEXT    NOT NULL,
	actor_role  TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS kpi_corrections_by_plan ON kpi_corrections (plan, sequence);

CREATE TABLE IF NOT EXISTS action_first_rag (
	action_id TEXT    PRIMARY KEY,
	plan      TEXT    NOT NULL,
	rag       TEXT    NOT NULL,            -- "" = not yet rated
	occurred  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS action_first_rag_by_plan ON action_first_rag (plan);
`

// aggInfo is an aggregate's row of asof_aggregates, cached.
type aggInfo struct {
	key   int64
	max   int64
	dirty bool
}

type reportExt struct {
	aggs  map[aggKey]*aggInfo
	tx    *sql.Tx
	stmts map[string]*sql.Stmt
	// clocks holds each plan's latest business time, and the blocks of
	// asof_clock this batch changed.
	clocks map[string]*planClock
	// actions holds the actions' states as of the last event applied,
	// folded with domain.Evolve; an action not in it is folded from the
	// events table on its first move.
	actions map[string]domain.ActionState
}

type planClock struct {
	max    int64
	blocks map[int64]int64 // block → the latest business time at its last event in this batch
}

// clockBlock is the size of asof_clock's blocks, as a shift.
const clockBlock = 10

// maxCachedActions bounds the action states kept; past it they are dropped.
const maxCachedActions = 20000

func (*reportExt) Name() string   { return "reports" }
func (*reportExt) Schema() string { return reportSchema }

const (
	sqlFindAgg   = `SELECT key, max_occurred FROM asof_aggregates WHERE aggregate_type = ? AND aggregate_id = ?`
	sqlInsertAgg = `INSERT INTO asof_aggregates (plan, aggregate_type, aggregate_id, max_occurred) VALUES (?, ?, ?, ?)`
	sqlUpdateAgg = `UPDATE asof_aggregates SET max_occurred = ? WHERE key = ?`
	sqlInsertEv  = `INSERT INTO asof_events (agg, grp, occurred, sequence, late) VALUES (?, ?, ?, ?, ?)`
	sqlClock     = `INSERT INTO asof_clock (plan, block, max_occurred) VALUES (?, ?, ?)
ON CONFLICT (plan, block) DO UPDATE SET max_occurred = max(max_occurred, excluded.max_occurred)`
	sqlLastClock  = `SELECT max_occurred FROM asof_clock WHERE plan = ? ORDER BY block DESC LIMIT 1`
	sqlInsertMove = `INSERT INTO deadline_moves (sequence, plan, action_id, ref, ref_sort, priority, origin, origin_folded, leads, leads_folded,
	from_date, to_date, days, category, slip, baseline, reason, occurred_at, occurred, recorded_at, actor_id, actor_name, actor_role)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlCorrection = `INSERT INTO kpi_corrections (sequence, plan, kpi_id, period, old_value, new_value, reason,
	occurred_at, occurred, recorded_at, actor_id, actor_name, actor_role) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlRollup = `INSERT INTO slip_rollup (plan, lead, priority, category, action_id, lead_name, ref, ref_sort,
	moves, slips, days_slipped, days_rebaselined, first_slip, last_slip) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)
ON CONFLICT (plan, lead, priority, category, action_id) DO UPDATE SET
	lead_name = min(lead_name, excluded.lead_name), moves = moves + 1, slips = slips + excluded.slips,
	days_slipped = days_slipped + excluded.days_slipped, days_rebaselined = days_rebaselined + excluded.days_rebaselined,
	first_slip = CASE WHEN excluded.first_slip > 0 AND (first_slip = 0 OR excluded.first_slip < first_slip) THEN excluded.first_slip ELSE first_slip END,
	last_slip = max(last_slip, excluded.last_slip)`
	sqlFirstRag = `INSERT INTO action_first_rag (action_id, plan, rag, occurred) VALUES (?, ?, ?, ?) ON CONFLICT (action_id) DO NOTHING`
)

// stmt returns the statement prepared on this batch's transaction.
func (e *reportExt) stmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	if e.tx != tx {
		e.closeStmts()
		e.tx = tx
	}
	if s, ok := e.stmts[query]; ok {
		return s, nil
	}
	s, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if e.stmts == nil {
		e.stmts = map[string]*sql.Stmt{}
	}
	e.stmts[query] = s
	return s, nil
}

func (e *reportExt) exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	s, err := e.stmt(ctx, tx, query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

func (e *reportExt) closeStmts() {
	for _, s := range e.stmts {
		s.Close()
	}
	e.stmts, e.tx = nil, nil
}

// indexed reports whether events of aggregate type t belong to a plan's
// content (tokens and webhooks do not).
func indexed(t domain.AggregateType) bool {
	switch t {
	case domain.AggPlan, domain.AggPriority, domain.AggAction, domain.AggKpi:
		return true
	}
	return false
}

func (e *reportExt) Apply(ctx context.Context, tx *sql.Tx, ev *Event) error {
	env := ev.Envelope
	if env.Event == nil || !indexed(env.AggregateType) {
		return nil // unknown types change no state; tokens and webhooks are no plan content
	}
	info, err := e.agg(ctx, tx, env)
	if err != nil {
		return err
	}
	o := env.OccurredAt.UnixMicro()
	clock, err := e.clock(ctx, tx, env.Plan)
	if err != nil {
		return err
	}
	clock.max = max(clock.max, o)
	clock.blocks[int64(env.Sequence)>>clockBlock] = clock.max
	late := o < info.max
	if o > info.max {
		info.max, info.dirty = o, true
	}
	if _, err := e.exec(ctx, tx, sqlInsertEv, info.key, groupOf(env.Event), o, int64(env.Sequence), late); err != nil {
		return fmt.Errorf("asof event: %w", err)
	}
	if env.AggregateType == domain.AggAction {
		if st, ok := e.actions[env.AggregateID]; ok {
			e.actions[env.AggregateID] = domain.Evolve(st, env).(domain.ActionState)
		}
	}
	switch x := env.Event.(type) {
	case domain.DeadlineMoved:
		return e.move(ctx, tx, env, x)
	case domain.ActionAdded:
		if _, err := e.exec(ctx, tx, sqlFirstRag, env.AggregateID, env.Plan, x.Rag.String(), o); err != nil {
			return fmt.Errorf("first rag: %w", err)
		}
	case domain.KpiValueCorrected:
		if _, err := e.exec(ctx, tx, sqlCorrection, int64(env.Sequence), env.Plan, env.AggregateID, x.Period, x.Old, x.New, x.Reason,
			fmtTime(env.OccurredAt), o, fmtTime(env.RecordedAt), env.Actor.ID, env.Actor.DisplayName, string(env.Actor.Role)); err != nil {
			return fmt.Errorf("kpi correction: %w", err)
		}
	}
	return nil
}

// clock returns plan's clock, read on first use.
func (e *reportExt) clock(ctx context.Context, tx *sql.Tx, plan string) (*planClock, error) {
	if c, ok := e.clocks[plan]; ok {
		return c, nil
	}
	if e.clocks == nil {
		e.clocks = map[string]*planClock{}
	}
	s, err := e.stmt(ctx, tx, sqlLastClock)
	if err != nil {
		return nil, err
	}
	c := &planClock{max: math.MinInt64, blocks: map[int64]int64{}}
	switch err := s.QueryRowContext(ctx, plan).Scan(&c.max); {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return nil, fmt.Errorf("asof clock: %w", err)
	}
	e.clocks[plan] = c
	return c, nil
}

func (e *reportExt) agg(ctx context.Context, tx *sql.Tx, env domain.Envelope) (*aggInfo, error) {
	k := aggKey{env.AggregateType, env.AggregateID}
	if info, ok := e.aggs[k]; ok {
		return info, nil
	}
	if e.aggs == nil {
		e.aggs = map[aggKey]*aggInfo{}
	}
	s, err := e.stmt(ctx, tx, sqlFindAgg)
	if err != nil {
		return nil, err
	}
	info := &aggInfo{}
	switch err := s.QueryRowContext(ctx, string(k.t), k.id).Scan(&info.key, &info.max); {
	case errors.Is(err, sql.ErrNoRows):
		o := env.OccurredAt.UnixMicro()
		res, err := e.exec(ctx, tx, sqlInsertAgg, env.Plan, string(k.t), k.id, o)
		if err != nil {
			return nil, fmt.Errorf("asof aggregate: %w", err)
		}
		if info.key, err = res.LastInsertId(); err != nil {
			return nil, err
		}
		info.max = o
	case err != nil:
		return nil, fmt.Errorf("asof aggregate: %w", err)
	}
	e.aggs[k] = info
	return info, nil
}

func (e *reportExt) move(ctx context.Context, tx *sql.Tx, env domain.Envelope, m domain.DeadlineMoved) error {
	// The action as it stands with this move (the core rows are written at
	// the end of the batch): kept, or folded from its events through the
	// index this extension has just written.
	a, ok := e.actions[env.AggregateID]
	if !ok {
		c := cutoff{seq: env.Sequence, bound: e.clocks[env.Plan].max, at: AsOf{Sequence: env.Sequence}}
		f, err := foldAsOf(ctx, tx, env.Plan, c, env.AggregateID, domain.AggAction)
		if err != nil {
			return fmt.Errorf("deadline move: %w", err)
		}
		a, _ = f.states[aggKey{domain.AggAction, env.AggregateID}].(domain.ActionState)
		if e.actions == nil || len(e.actions) >= maxCachedActions {
			e.actions = map[string]domain.ActionState{}
		}
		e.actions[env.AggregateID] = a
	}
	if !a.Exists() {
		return nil // a move of an action never added: no state, nothing to report
	}
	baseline := m.From.IsZero()
	days := 0
	if !baseline {
		days = m.From.DaysUntil(m.To)
	}
	slip := !baseline && m.Category.IsSlip()
	seq := int64(env.Sequence)
	names, folded := []string{}, "\x1f"
	seen := map[string]bool{}
	for _, l := range a.Leads() {
		if n := fold(l.Name); !seen[n] { // a lead named twice counts once
			names, seen[n], folded = append(names, l.Name), true, folded+n+"\x1f"
		}
	}
	if _, err := e.exec(ctx, tx, sqlInsertMove, seq, env.Plan, env.AggregateID, a.Ref(), sortKey(a.Ref()), a.Priority(), a.Origin(), fold(a.Origin()), mustJSON(names), folded,
		m.From.String(), m.To.String(), days, m.Category.String(), slip, baseline, m.Reason,
		fmtTime(env.OccurredAt), env.OccurredAt.UnixMicro(), fmtTime(env.RecordedAt),
		env.Actor.ID, env.Actor.DisplayName, string(env.Actor.Role)); err != nil {
		return fmt.Errorf("deadline move: %w", err)
	}
	if baseline {
		return nil
	}
	var slips, slipped, rebased, first int
	if slip {
		slips, slipped, first = 1, days, int(seq)
	} else {
		rebased = days
	}
	for _, l := range append([]string{""}, names...) {
		if _, err := e.exec(ctx, tx, sqlRollup, env.Plan, fold(l), a.Priority(), m.Category.String(), env.AggregateID, l,
			a.Ref(), sortKey(a.Ref()), slips, slipped, rebased, first, first); err != nil {
			return fmt.Errorf("slip rollup: %w", err)
		}
	}
	return nil
}

func (e *reportExt) Commit(ctx context.Context, tx *sql.Tx, last uint64) error {
	defer e.closeStmts()
	for _, info := range e.aggs {
		if !info.dirty {
			continue
		}
		if _, err := e.exec(ctx, tx, sqlUpdateAgg, info.max, info.key); err != nil {
			return fmt.Errorf("asof aggregate: %w", err)
		}
		info.dirty = false
	}
	for plan, c := range e.clocks {
		for block, m := range c.blocks {
			if _, err := e.exec(ctx, tx, sqlClock, plan, block, m); err != nil {
				return fmt.Errorf("asof clock: %w", err)
			}
		}
		clear(c.blocks)
	}
	return nil
}

func (e *reportExt) Abort() {
	e.closeStmts()
	e.aggs, e.actions, e.clocks = nil, nil, nil
}
