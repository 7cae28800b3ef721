package projections

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sendtrail/sendtrail/domain"
	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
)

// readTx opens a read-only transaction: one snapshot for a whole answer.
func (db *DB) readTx(ctx context.Context) (*sql.Tx, error) {
	return db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
}

// atNow runs now (the current-state query, on its own snapshot) when at
// covers every event of plan, and past (on the snapshot that resolved at)
// otherwise. A commit between the two snapshots could make "now" include an
// event after at, so the checkpoint is compared and the whole is retried.
func (db *DB) atNow(ctx context.Context, plan string, at AsOf, now func() error, past func(*sql.Tx, cutoff) error) error {
	for attempt := 0; ; attempt++ {
		tx, err := db.readTx(ctx)
		if err != nil {
			return fmt.Errorf("projections: as of: %w", err)
		}
		c, err := resolve(ctx, tx, plan, at)
		if err != nil {
			tx.Rollback()
			return err
		}
		if !c.now || attempt == 2 {
			c.now = false
			err := past(tx, c)
			tx.Rollback()
			return err
		}
		cp, err := readCheckpoint(ctx, tx)
		tx.Rollback()
		if err != nil {
			return err
		}
		if err := now(); err != nil {
			return err
		}
		if after, err := db.Checkpoint(ctx); err != nil || after == cp {
			return err
		}
	}
}

// GetPlanAt is GetPlan as of a point in the plan's history.
func (db *DB) GetPlanAt(ctx context.Context, slug string, at AsOf) (*pb.Plan, error) {
	if at.IsNow() {
		return db.GetPlan(ctx, slug)
	}
	var out *pb.Plan
	err := db.atNow(ctx, slug, at, func() (err error) {
		out, err = db.GetPlan(ctx, slug)
		return err
	}, func(tx *sql.Tx, c cutoff) (err error) {
		out, err = planAt(ctx, tx, slug, c)
		return err
	})
	return out, err
}

func planAt(ctx context.Context, tx *sql.Tx, slug string, c cutoff) (*pb.Plan, error) {
	if ok, err := planExists(ctx, tx, slug); err != nil {
		return nil, err
	} else if !ok {
		return nil, noPlan(slug)
	}
	// Indicators are only counted: those defined by the cutoff.
	f, err := foldAsOf(ctx, tx, slug, c, "", domain.AggPlan, domain.AggPriority, domain.AggAction)
	if err != nil {
		return nil, err
	}
	cond, arg := c.sqlFilter("e.")
	var kpis uint32
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM asof_aggregates a JOIN asof_events e ON e.agg = a.key AND e.grp = ?
WHERE a.plan = ? AND a.aggregate_type = 'kpi' AND `+cond, grpKpiDefined, slug, arg).Scan(&kpis); err != nil {
		return nil, fmt.Errorf("projections: plan %s: kpis: %w", slug, err)
	}
	ps := f.plan(slug)
	if !ps.Exists() {
		return nil, planNotYet(ctx, tx, slug, c)
	}
	p := &pb.Plan{Slug: slug, Title: ps.Title(), RagCounts: map[string]uint32{}, Version: ps.Version(), Kpis: kpis}
	for _, r := range ps.RagScheme() {
		p.RagScheme = append(p.RagScheme, &pb.RagSchemeRow{Code: r.Code, Description: r.Description, Count: r.Count, Percent: r.Percent, Direction: r.Direction})
	}
	perPriority := map[string]uint32{}
	var areas []domain.PriorityAreaAdded
	for _, s := range f.states {
		switch s := s.(type) {
		case domain.PriorityState:
			if s.Exists() {
				areas = append(areas, s.Area())
			}
		case domain.ActionState:
			if !s.Exists() {
				continue
			}
			if s.Withdrawn() {
				p.Withdrawn++
				continue
			}
			p.Actions++
			p.RagCounts[s.Rag().String()]++
			perPriority[s.Priority()]++
			if len(s.Flags()) > 0 {
				p.Flagged++
			}
		}
	}
	slices.SortFunc(areas, func(a, b domain.PriorityAreaAdded) int {
		return cmp.Or(strings.Compare(sortKey(a.Number), sortKey(b.Number)), strings.Compare(a.Number, b.Number))
	})
	for _, a := range areas {
		p.Priorities = append(p.Priorities, &pb.PriorityArea{Number: a.Number, Title: a.Title, Summary: a.Summary,
			ParentCarerVoice: a.ParentCarerVoice, Actions: perPriority[a.Number]})
	}
	if p.Sequence, err = readCheckpoint(ctx, tx); err != nil {
		return nil, err
	}
	return p, nil
}

// actionPB is an action's state as the actions row and GetAction show it.
func actionPB(plan, id string, s domain.ActionState) *pb.Action {
	a := &pb.Action{
		Id: id, Plan: plan, Ref: s.Ref(), Priority: s.Priority(), Origin: s.Origin(), Text: s.Text(), LeadsRaw: s.LeadsRaw(),
		Deadline: s.Deadline().String(), OriginalDeadline: s.OriginalDeadline().String(), DeadlineRaw: s.DeadlineRaw(),
		Rag: s.Rag().String(), RagDescription: s.Rag().Description(), Trend: s.Trend(), SuccessMeasures: s.SuccessMeasures(),
		Progress: s.Progress(), Impact: s.Impact(), Withdrawn: s.Withdrawn(), WithdrawnReason: s.WithdrawnReason(),
		DeadlineMoves: uint32(s.DeadlineMoves()), Version: s.Version(),
	}
	for _, l := range s.Leads() {
		a.Leads = append(a.Leads, &pb.Lead{Name: l.Name, Role: l.Role, Organisation: l.Organisation})
	}
	for _, m := range s.Milestones() {
		a.Milestones = append(a.Milestones, &pb.Milestone{Date: m.Date.String(), Text: m.Text})
	}
	for _, f := range s.Flags() {
		a.Flags = append(a.Flags, &pb.Flag{Field: f.Field, Raw: f.Raw, Message: f.Message})
	}
	// As the row stores it: fixed-width text, read back.
	a.UpdatedAt, _ = ts(fmtTime(s.LastChanged()))
	return a
}

// GetActionAt is GetAction as of a point in the plan's history.
func (db *DB) GetActionAt(ctx context.Context, plan, ref string, at AsOf) (*pb.Action, error) {
	if at.IsNow() {
		return db.GetAction(ctx, plan, ref)
	}
	var out *pb.Action
	err := db.atNow(ctx, plan, at, func() (err error) {
		out, err = db.GetAction(ctx, plan, ref)
		return err
	}, func(tx *sql.Tx, c cutoff) error {
		s, err := actionAt(ctx, tx, plan, ref, c)
		if err != nil {
			return err
		}
		out = actionPB(plan, domain.ActionID(plan, ref), s)
		return nil
	})
	return out, err
}

// actionAt folds one action as of c.
func actionAt(ctx context.Context, tx *sql.Tx, plan, ref string, c cutoff) (domain.ActionState, error) {
	id, err := actionID(ctx, tx, plan, ref)
	if err != nil {
		return domain.ActionState{}, err
	}
	f, err := foldAsOf(ctx, tx, plan, c, id, domain.AggAction)
	if err != nil {
		return domain.ActionState{}, err
	}
	s, ok := f.action(id)
	if !ok {
		return domain.ActionState{}, notYet(fmt.Sprintf("action %s of plan %s", ref, plan), c)
	}
	return s, nil
}

// actionID returns the id of action ref of plan, or ENOTFOUND naming what
// is missing.
func actionID(ctx context.Context, q querier, plan, ref string) (string, error) {
	var id string
	switch err := q.QueryRowContext(ctx, `SELECT id FROM actions WHERE plan = ? AND ref = ?`, plan, ref).Scan(&id); {
	case errors.Is(err, sql.ErrNoRows):
		if ok, err := planExists(ctx, q, plan); err != nil {
			return "", err
		} else if !ok {
			return "", noPlan(plan)
		}
		return "", noAction(plan, ref)
	case err != nil:
		return "", fmt.Errorf("projections: action %s %s: %w", plan, ref, err)
	}
	return id, nil
}

// ListActionsAt is ListActions as of a point in the plan's history: the
// filters apply to the actions as they were then.
func (db *DB) ListActionsAt(ctx context.Context, f ActionFilter, at AsOf) ([]*pb.Action, error) {
	if at.IsNow() {
		return db.ListActions(ctx, f)
	}
	var rag *domain.RAG
	switch strings.ToLower(strings.TrimSpace(f.Rag)) {
	case "":
	case "none":
		rag = &domain.NotRated
	default:
		r, err := domain.ParseRAG(f.Rag)
		if err != nil {
			return nil, err
		}
		rag = &r
	}
	var out []*pb.Action
	err := db.atNow(ctx, f.Plan, at, func() (err error) {
		out, err = db.ListActions(ctx, f)
		return err
	}, func(tx *sql.Tx, c cutoff) error {
		if ok, err := planExists(ctx, tx, f.Plan); err != nil {
			return err
		} else if !ok {
			return noPlan(f.Plan)
		}
		fo, err := foldAsOf(ctx, tx, f.Plan, c, "", domain.AggAction, domain.AggPlan)
		if err != nil {
			return err
		}
		if !fo.plan(f.Plan).Exists() {
			return planNotYet(ctx, tx, f.Plan, c)
		}
		out = []*pb.Action{}
		for _, v := range fo.actionViews() {
			s := v.state
			switch {
			case !f.IncludeWithdrawn && s.Withdrawn():
			case f.Priority != "" && s.Priority() != f.Priority:
			case rag != nil && s.Rag() != *rag:
			case f.Lead != "" && !v.ledBy(f.Lead):
			case f.Flagged && len(s.Flags()) == 0:
			case !f.OverdueOn.IsZero() && !v.overdue(f.OverdueOn):
			default:
				out = append(out, actionPB(f.Plan, v.id, s))
			}
		}
		return nil
	})
	return out, err
}

// actionView is an action as the reports read it: from the actions table
// (now) or folded (as of a past point).
type actionView struct {
	id                                    string
	state                                 domain.ActionState // only when folded
	ref, priority, origin, text, leadsRaw string
	deadlineRaw                           string
	leads                                 []domain.Lead
	deadline, original                    domain.Date
	rag                                   domain.RAG
	withdrawn, flagged                    bool
	moves                                 int
}

func viewOf(id string, s domain.ActionState) actionView {
	return actionView{id: id, state: s, ref: s.Ref(), priority: s.Priority(), origin: s.Origin(), text: s.Text(), leadsRaw: s.LeadsRaw(),
		deadlineRaw: s.DeadlineRaw(), leads: s.Leads(), deadline: s.Deadline(), original: s.OriginalDeadline(), rag: s.Rag(), withdrawn: s.Withdrawn(),
		flagged: len(s.Flags()) > 0, moves: s.DeadlineMoves()}
}

// ledBy matches a lead as ListActions does: one of the leads by name (case
// and spacing ignored), or the lead cell as written containing it.
func (v actionView) ledBy(name string) bool {
	n := fold(name)
	if n == "" {
		return true
	}
	for _, l := range v.leads {
		if fold(l.Name) == n {
			return true
		}
	}
	return strings.Contains(fold(v.leadsRaw), n)
}

// overdue: deadline before on, not rated G or C, not withdrawn.
func (v actionView) overdue(on domain.Date) bool {
	return !v.deadline.IsZero() && v.deadline.Before(on) && !v.rag.Closed() && !v.withdrawn
}

func byRef(a, b actionView) int {
	return cmp.Or(strings.Compare(sortKey(a.ref), sortKey(b.ref)), strings.Compare(a.ref, b.ref))
}

// actionViews returns the folded actions that exist, in ref order.
func (f *folded) actionViews() []actionView {
	var out []actionView
	for k, s := range f.states {
		if a, ok := s.(domain.ActionState); ok && a.Exists() {
			out = append(out, viewOf(k.id, a))
		}
	}
	slices.SortFunc(out, byRef)
	return out
}

// currentActionViews reads a plan's actions (or the one with id) from the
// actions table, in ref order.
func currentActionViews(ctx context.Context, q querier, plan string, id ...string) ([]actionView, error) {
	where, args := "plan = ?", []any{plan}
	if len(id) == 1 {
		where, args = where+" AND id = ?", append(args, id[0])
	}
	rows, err := q.QueryContext(ctx, `SELECT id, ref, priority, origin, text, leads, leads_raw, deadline, original_deadline, deadline_raw,
	rag, withdrawn, flagged, deadline_moves FROM actions WHERE `+where+` ORDER BY ref_sort, ref`, args...)
	if err != nil {
		return nil, fmt.Errorf("projections: actions of %s: %w", plan, err)
	}
	defer rows.Close()
	var out []actionView
	for rows.Next() {
		var (
			v                          actionView
			leads, deadline, orig, rag string
		)
		if err := rows.Scan(&v.id, &v.ref, &v.priority, &v.origin, &v.text, &leads, &v.leadsRaw, &deadline, &orig, &v.deadlineRaw,
			&rag, &v.withdrawn, &v.flagged, &v.moves); err != nil {
			return nil, fmt.Errorf("projections: actions of %s: %w", plan, err)
		}
		var ls []leadJSONRow
		if err := json.Unmarshal([]byte(leads), &ls); err != nil {
			return nil, fmt.Errorf("projections: action %s: leads: %w", v.ref, err)
		}
		for _, l := range ls {
			v.leads = append(v.leads, domain.Lead(l))
		}
		v.deadline, _ = domain.ParseDate(deadline)
		v.original, _ = domain.ParseDate(orig)
		v.rag, _ = domain.ParseRAG(rag)
		out = append(out, v)
	}
	return out, rows.Err()
}

// planViews returns a plan's actions (and its folded states, when past) as
// of c; ENOTFOUND when the plan does not exist, or did not yet.
func planViews(ctx context.Context, tx *sql.Tx, plan string, c cutoff, types ...domain.AggregateType) ([]actionView, *folded, error) {
	if ok, err := planExists(ctx, tx, plan); err != nil {
		return nil, nil, err
	} else if !ok {
		return nil, nil, noPlan(plan)
	}
	if c.now {
		vs, err := currentActionViews(ctx, tx, plan)
		return vs, nil, err
	}
	f, err := foldAsOf(ctx, tx, plan, c, "", append([]domain.AggregateType{domain.AggPlan, domain.AggAction}, types...)...)
	if err != nil {
		return nil, nil, err
	}
	if !f.plan(plan).Exists() {
		return nil, nil, planNotYet(ctx, tx, plan, c)
	}
	return f.actionViews(), f, nil
}
