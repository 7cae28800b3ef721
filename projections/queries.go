package projections

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sendtrail/sendtrail/domain"
	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
)

// ActionFilter selects a plan's actions. Filters combine with AND; zero
// values do not filter.
type ActionFilter struct {
	Plan     string // required
	Priority string // priority area number
	Rag      string // RAG code; "none" for not yet rated
	// Lead matches an action one of whose leads has this name (case and
	// spacing ignored), or whose lead cell as written contains it.
	Lead    string
	Flagged bool // only actions with open import flags
	// OverdueOn keeps actions whose deadline is before this date, not rated
	// G or C, and not withdrawn.
	OverdueOn        domain.Date
	IncludeWithdrawn bool
}

// EventFilter selects events for ListEvents. Filters combine with AND;
// zero values do not filter.
type EventFilter struct {
	Plan          string
	Types         []string  // event types, e.g. "rag_changed"
	Actor         string    // actor id, or display name (case ignored)
	Since         time.Time // recorded at or after
	Until         time.Time // recorded before
	AggregateType string
	AggregateID   string
	PageSize      int    // default 100, at most 1000
	PageToken     string // from a previous call
}

// Page sizes of ListEvents.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// Token is an issued bearer token, as authentication needs it.
type Token struct {
	ID        string
	Principal string
	Name      string
	Role      domain.Role
	Plan      string // "*" for every plan
	LeadName  string
	Hash      string    // hex SHA-256 of the secret; never shown
	ExpiresAt time.Time // zero: never
	Revoked   bool
}

func noPlan(slug string) error {
	if slug == "" {
		return domain.Invalid("plan", "a plan is required")
	}
	return &domain.Error{Code: domain.ENOTFOUND, Field: "plan", Message: "no plan " + slug}
}

func noAction(plan, ref string) error {
	return &domain.Error{Code: domain.ENOTFOUND, Field: "ref", Message: fmt.Sprintf("plan %s has no action %s", plan, ref)}
}

func ts(s string) (*timestamppb.Timestamp, error) {
	t, err := parseTime(s)
	if err != nil || t.IsZero() {
		return nil, err
	}
	return timestamppb.New(t), nil
}

// PlanExists reports whether the plan has been created.
func (db *DB) PlanExists(ctx context.Context, slug string) (bool, error) {
	return planExists(ctx, db.r, slug)
}

func planExists(ctx context.Context, q queryRower, slug string) (bool, error) {
	var one int
	switch err := q.QueryRowContext(ctx, `SELECT 1 FROM plans WHERE slug = ?`, slug).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("projections: plan %s: %w", slug, err)
	}
	return true, nil
}

// GetPlan returns a plan's summary, read from one snapshot: its priority
// areas in order with their action counts, the counts of actions (not
// withdrawn), withdrawn and flagged actions, the RAG counts, the number of
// indicators, the published RAG scheme, the plan's version and the read
// model's sequence.
func (db *DB) GetPlan(ctx context.Context, slug string) (*pb.Plan, error) {
	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("projections: plan %s: %w", slug, err)
	}
	defer tx.Rollback()
	var (
		p      = &pb.Plan{Slug: slug, RagCounts: map[string]uint32{}}
		scheme string
		ver    int64
	)
	switch err := tx.QueryRowContext(ctx, `SELECT title, rag_scheme, version FROM plans WHERE slug = ?`, slug).Scan(&p.Title, &scheme, &ver); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, noPlan(slug)
	case err != nil:
		return nil, fmt.Errorf("projections: plan %s: %w", slug, err)
	}
	p.Version = uint64(ver)
	var rows []schemeJSONRow
	if err := json.Unmarshal([]byte(scheme), &rows); err != nil {
		return nil, fmt.Errorf("projections: plan %s: rag scheme: %w", slug, err)
	}
	for _, r := range rows {
		p.RagScheme = append(p.RagScheme, &pb.RagSchemeRow{Code: r.Code, Description: r.Description, Count: r.Count, Percent: r.Percent, Direction: r.Direction})
	}

	prs, err := tx.QueryContext(ctx, `SELECT p.number, p.title, p.summary, p.parent_carer_voice,
	(SELECT count(*) FROM actions a WHERE a.plan = p.plan AND a.priority = p.number AND a.withdrawn = 0)
FROM priorities p WHERE p.plan = ? ORDER BY p.number_sort, p.number`, slug)
	if err != nil {
		return nil, fmt.Errorf("projections: plan %s: priorities: %w", slug, err)
	}
	defer prs.Close()
	for prs.Next() {
		a := &pb.PriorityArea{}
		if err := prs.Scan(&a.Number, &a.Title, &a.Summary, &a.ParentCarerVoice, &a.Actions); err != nil {
			return nil, fmt.Errorf("projections: plan %s: priorities: %w", slug, err)
		}
		p.Priorities = append(p.Priorities, a)
	}
	if err := prs.Err(); err != nil {
		return nil, fmt.Errorf("projections: plan %s: priorities: %w", slug, err)
	}

	crs, err := tx.QueryContext(ctx, `SELECT withdrawn, flagged, rag, count(*) FROM actions WHERE plan = ? GROUP BY withdrawn, flagged, rag`, slug)
	if err != nil {
		return nil, fmt.Errorf("projections: plan %s: counts: %w", slug, err)
	}
	defer crs.Close()
	for crs.Next() {
		var (
			withdrawn, flagged bool
			rag                string
			n                  uint32
		)
		if err := crs.Scan(&withdrawn, &flagged, &rag, &n); err != nil {
			return nil, fmt.Errorf("projections: plan %s: counts: %w", slug, err)
		}
		if withdrawn {
			p.Withdrawn += n
			continue
		}
		p.Actions += n
		p.RagCounts[rag] += n
		if flagged {
			p.Flagged += n
		}
	}
	if err := crs.Err(); err != nil {
		return nil, fmt.Errorf("projections: plan %s: counts: %w", slug, err)
	}
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM kpis WHERE plan = ?`, slug).Scan(&p.Kpis); err != nil {
		return nil, fmt.Errorf("projections: plan %s: kpis: %w", slug, err)
	}
	if p.Sequence, err = readCheckpoint(ctx, tx); err != nil {
		return nil, err
	}
	return p, nil
}

const actionCols = `a.id, a.plan, a.ref, a.priority, a.origin, a.text, a.leads, a.leads_raw,
	a.deadline, a.original_deadline, a.deadline_raw, a.milestones, a.rag, a.trend,
	a.success_measures, a.progress, a.impact, a.flags, a.withdrawn, a.withdrawn_reason,
	a.deadline_moves, a.version, a.updated_at`

type scanner interface{ Scan(dest ...any) error }

func scanAction(s scanner) (*pb.Action, error) {
	var (
		a                             pb.Action
		leads, milestones, flags, upd string
		version                       int64
	)
	if err := s.Scan(&a.Id, &a.Plan, &a.Ref, &a.Priority, &a.Origin, &a.Text, &leads, &a.LeadsRaw,
		&a.Deadline, &a.OriginalDeadline, &a.DeadlineRaw, &milestones, &a.Rag, &a.Trend,
		&a.SuccessMeasures, &a.Progress, &a.Impact, &flags, &a.Withdrawn, &a.WithdrawnReason,
		&a.DeadlineMoves, &version, &upd); err != nil {
		return nil, err
	}
	a.Version = uint64(version)
	var (
		ls []leadJSONRow
		ms []milestoneJSONRow
		fs []flagJSONRow
	)
	if err := errors.Join(json.Unmarshal([]byte(leads), &ls), json.Unmarshal([]byte(milestones), &ms), json.Unmarshal([]byte(flags), &fs)); err != nil {
		return nil, fmt.Errorf("action %s: %w", a.Ref, err)
	}
	for _, l := range ls {
		a.Leads = append(a.Leads, &pb.Lead{Name: l.Name, Role: l.Role, Organisation: l.Organisation})
	}
	for _, m := range ms {
		a.Milestones = append(a.Milestones, &pb.Milestone{Date: m.Date, Text: m.Text})
	}
	for _, f := range fs {
		a.Flags = append(a.Flags, &pb.Flag{Field: f.Field, Raw: f.Raw, Message: f.Message})
	}
	if r, err := domain.ParseRAG(a.Rag); err == nil {
		a.RagDescription = r.Description()
	}
	var err error
	if a.UpdatedAt, err = ts(upd); err != nil {
		return nil, fmt.Errorf("action %s: updated_at: %w", a.Ref, err)
	}
	return &a, nil
}

// GetAction returns one action's current state.
func (db *DB) GetAction(ctx context.Context, plan, ref string) (*pb.Action, error) {
	a, err := scanAction(db.r.QueryRowContext(ctx, `SELECT `+actionCols+` FROM actions a WHERE a.plan = ? AND a.ref = ?`, plan, ref))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, db.missingAction(ctx, plan, ref)
	}
	if err != nil {
		return nil, fmt.Errorf("projections: action %s %s: %w", plan, ref, err)
	}
	return a, nil
}

// missingAction says whether the plan or only the action is missing.
func (db *DB) missingAction(ctx context.Context, plan, ref string) error {
	ok, err := db.PlanExists(ctx, plan)
	if err != nil {
		return err
	}
	if !ok {
		return noPlan(plan)
	}
	return noAction(plan, ref)
}

// ListActions lists a plan's actions in ref order (1.2 < 1.10 < 2.1).
func (db *DB) ListActions(ctx context.Context, f ActionFilter) ([]*pb.Action, error) {
	where := []string{"a.plan = ?"}
	args := []any{f.Plan}
	if f.Priority != "" {
		where, args = append(where, "a.priority = ?"), append(args, f.Priority)
	}
	switch strings.ToLower(strings.TrimSpace(f.Rag)) {
	case "":
	case "none":
		where = append(where, "a.rag = ''")
	default:
		r, err := domain.ParseRAG(f.Rag)
		if err != nil {
			return nil, err
		}
		where, args = append(where, "a.rag = ?"), append(args, r.String())
	}
	if lead := fold(f.Lead); lead != "" {
		where = append(where, `(EXISTS (SELECT 1 FROM action_leads l WHERE l.action_id = a.id AND l.name_folded = ?)
	OR instr(a.leads_raw_folded, ?) > 0)`)
		args = append(args, lead, lead)
	}
	if f.Flagged {
		where = append(where, "a.flagged = 1")
	}
	if !f.OverdueOn.IsZero() {
		where = append(where, "a.deadline <> '' AND a.deadline < ? AND a.rag NOT IN ('G', 'C') AND a.withdrawn = 0")
		args = append(args, f.OverdueOn.String())
	}
	if !f.IncludeWithdrawn {
		where = append(where, "a.withdrawn = 0")
	}
	rows, err := db.r.QueryContext(ctx, `SELECT `+actionCols+` FROM actions a WHERE `+strings.Join(where, " AND ")+` ORDER BY a.ref_sort, a.ref`, args...)
	if err != nil {
		return nil, fmt.Errorf("projections: list actions of %s: %w", f.Plan, err)
	}
	defer rows.Close()
	out := []*pb.Action{}
	for rows.Next() {
		a, err := scanAction(rows)
		if err != nil {
			return nil, fmt.Errorf("projections: list actions of %s: %w", f.Plan, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projections: list actions of %s: %w", f.Plan, err)
	}
	if len(out) == 0 {
		if ok, err := db.PlanExists(ctx, f.Plan); err != nil {
			return nil, err
		} else if !ok {
			return nil, noPlan(f.Plan)
		}
	}
	return out, nil
}

const historyCols = `sequence, event_id, type, occurred_at, recorded_at, actor_id, actor_name, actor_role,
	"before", "after", reason, reason_category, commentary, summary, correlation_id,
	aggregate_type, aggregate_id, subject_ref`

func scanHistory(rows *sql.Rows) (*pb.HistoryEntry, error) {
	var (
		h        pb.HistoryEntry
		seq      int64
		occ, rec string
		actor    pb.Actor
	)
	if err := rows.Scan(&seq, &h.EventId, &h.Type, &occ, &rec, &actor.Id, &actor.DisplayName, &actor.Role,
		&h.Before, &h.After, &h.Reason, &h.ReasonCategory, &h.Commentary, &h.Summary, &h.CorrelationId,
		&h.AggregateType, &h.AggregateId, &h.Subject); err != nil {
		return nil, err
	}
	h.Sequence = uint64(seq)
	h.Actor = &actor
	var err error
	if h.OccurredAt, err = ts(occ); err != nil {
		return nil, fmt.Errorf("sequence %d: occurred_at: %w", seq, err)
	}
	if h.RecordedAt, err = ts(rec); err != nil {
		return nil, fmt.Errorf("sequence %d: recorded_at: %w", seq, err)
	}
	return &h, nil
}

func (db *DB) history(ctx context.Context, query string, args ...any) ([]*pb.HistoryEntry, error) {
	rows, err := db.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*pb.HistoryEntry{}
	for rows.Next() {
		h, err := scanHistory(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// ActionHistory returns every event of an action, oldest first.
func (db *DB) ActionHistory(ctx context.Context, plan, ref string) ([]*pb.HistoryEntry, error) {
	var id string
	switch err := db.r.QueryRowContext(ctx, `SELECT id FROM actions WHERE plan = ? AND ref = ?`, plan, ref).Scan(&id); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, db.missingAction(ctx, plan, ref)
	case err != nil:
		return nil, fmt.Errorf("projections: history of %s %s: %w", plan, ref, err)
	}
	out, err := db.history(ctx, `SELECT `+historyCols+` FROM events
WHERE aggregate_type = ? AND aggregate_id = ? ORDER BY sequence`, string(domain.AggAction), id)
	if err != nil {
		return nil, fmt.Errorf("projections: history of %s %s: %w", plan, ref, err)
	}
	return out, nil
}

// page tokens: base64url of a version byte and the last sequence returned.
const pageTokenV1 = 1

func encodePageToken(seq uint64) string {
	b := make([]byte, 9)
	b[0] = pageTokenV1
	binary.BigEndian.PutUint64(b[1:], seq)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodePageToken(s string) (uint64, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 9 || b[0] != pageTokenV1 {
		return 0, domain.Invalid("page_token", "%q is not a page token from a previous response", s)
	}
	return binary.BigEndian.Uint64(b[1:]), nil
}

// ListEvents lists events oldest first, a page at a time; next is the
// token of the following page, "" on the last.
func (db *DB) ListEvents(ctx context.Context, f EventFilter) (events []*pb.HistoryEntry, next string, err error) {
	var after uint64
	if f.PageToken != "" {
		if after, err = decodePageToken(f.PageToken); err != nil {
			return nil, "", err
		}
	}
	size := f.PageSize
	switch {
	case size <= 0:
		size = DefaultPageSize
	case size > MaxPageSize:
		size = MaxPageSize
	}
	where := []string{"sequence > ?"}
	args := []any{int64(after)}
	if f.Plan != "" {
		where, args = append(where, "plan = ?"), append(args, f.Plan)
	}
	if len(f.Types) > 0 {
		where = append(where, "type IN (?"+strings.Repeat(", ?", len(f.Types)-1)+")")
		for _, t := range f.Types {
			args = append(args, t)
		}
	}
	if f.Actor != "" {
		where, args = append(where, "(actor_id = ? OR actor_name = ? COLLATE NOCASE)"), append(args, f.Actor, f.Actor)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "recorded_at >= ?"), append(args, fmtTime(f.Since))
	}
	if !f.Until.IsZero() {
		where, args = append(where, "recorded_at < ?"), append(args, fmtTime(f.Until))
	}
	if f.AggregateType != "" {
		where, args = append(where, "aggregate_type = ?"), append(args, f.AggregateType)
	}
	if f.AggregateID != "" {
		where, args = append(where, "aggregate_id = ?"), append(args, f.AggregateID)
	}
	args = append(args, size+1)
	events, err = db.history(ctx, `SELECT `+historyCols+` FROM events WHERE `+strings.Join(where, " AND ")+` ORDER BY sequence LIMIT ?`, args...)
	if err != nil {
		return nil, "", fmt.Errorf("projections: list events: %w", err)
	}
	if len(events) > size {
		events = events[:size]
		next = encodePageToken(events[size-1].Sequence)
	}
	if len(events) == 0 && f.Plan != "" && f.PageToken == "" {
		var one int
		switch err := db.r.QueryRowContext(ctx, `SELECT 1 FROM plans WHERE slug = ? UNION ALL SELECT 1 FROM events WHERE plan = ? LIMIT 1`, f.Plan, f.Plan).Scan(&one); {
		case errors.Is(err, sql.ErrNoRows):
			return nil, "", noPlan(f.Plan)
		case err != nil:
			return nil, "", fmt.Errorf("projections: list events: %w", err)
		}
	}
	return events, next, nil
}

// ListKpis lists a plan's indicators in plan order (the order defined),
// each with its values in the order first recorded. priority "" lists all.
func (db *DB) ListKpis(ctx context.Context, plan, priority string) ([]*pb.Kpi, error) {
	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("projections: kpis of %s: %w", plan, err)
	}
	defer tx.Rollback()
	if ok, err := planExists(ctx, tx, plan); err != nil {
		return nil, err
	} else if !ok {
		return nil, noPlan(plan)
	}
	where, args := "k.plan = ?", []any{plan}
	if priority != "" {
		where, args = where+" AND k.priority = ?", append(args, priority)
	}
	rows, err := tx.QueryContext(ctx, `SELECT k.id, k.priority, k.name, k.direction, k.target, k.national, k.version
FROM kpis k WHERE `+where+` ORDER BY k.defined_seq`, args...)
	if err != nil {
		return nil, fmt.Errorf("projections: kpis of %s: %w", plan, err)
	}
	defer rows.Close()
	out := []*pb.Kpi{}
	byID := map[string]*pb.Kpi{}
	for rows.Next() {
		var (
			k   pb.Kpi
			ver int64
		)
		if err := rows.Scan(&k.Id, &k.Priority, &k.Name, &k.Direction, &k.Target, &k.National, &ver); err != nil {
			return nil, fmt.Errorf("projections: kpis of %s: %w", plan, err)
		}
		k.Version = uint64(ver)
		out = append(out, &k)
		byID[k.Id] = &k
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projections: kpis of %s: %w", plan, err)
	}
	vrows, err := tx.QueryContext(ctx, `SELECT v.kpi_id, v.period, v.value, v.corrected
FROM kpi_values v JOIN kpis k ON k.id = v.kpi_id WHERE `+where+` ORDER BY v.kpi_id, v.position`, args...)
	if err != nil {
		return nil, fmt.Errorf("projections: kpi values of %s: %w", plan, err)
	}
	defer vrows.Close()
	for vrows.Next() {
		var (
			id string
			v  pb.KpiValue
		)
		if err := vrows.Scan(&id, &v.Period, &v.Value, &v.Corrected); err != nil {
			return nil, fmt.Errorf("projections: kpi values of %s: %w", plan, err)
		}
		if k := byID[id]; k != nil {
			k.Values = append(k.Values, &v)
		}
	}
	if err := vrows.Err(); err != nil {
		return nil, fmt.Errorf("projections: kpi values of %s: %w", plan, err)
	}
	return out, nil
}

// TokenByID returns the token with this id, with the hash of its secret
// for the caller to compare in constant time. ENOTFOUND when there is none.
func (db *DB) TokenByID(ctx context.Context, id string) (Token, error) {
	var (
		t       Token
		role    string
		expires string
	)
	err := db.r.QueryRowContext(ctx, `SELECT token_id, principal, name, role, plan, lead_name, hash, expires_at, revoked
FROM tokens WHERE token_id = ?`, id).Scan(&t.ID, &t.Principal, &t.Name, &role, &t.Plan, &t.LeadName, &t.Hash, &expires, &t.Revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, &domain.Error{Code: domain.ENOTFOUND, Field: "token", Message: "no such token"}
	}
	if err != nil {
		return Token{}, fmt.Errorf("projections: token: %w", err)
	}
	t.Role = domain.Role(role)
	if t.ExpiresAt, err = parseTime(expires); err != nil {
		return Token{}, fmt.Errorf("projections: token %s: expires_at: %w", t.ID, err)
	}
	return t, nil
}

// ActionIDs maps each of a plan's action refs (withdrawn ones included) to
// its aggregate id.
func (db *DB) ActionIDs(ctx context.Context, plan string) (map[string]string, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT ref, id FROM actions WHERE plan = ?`, plan)
	if err != nil {
		return nil, fmt.Errorf("projections: action ids of %s: %w", plan, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var ref, id string
		if err := rows.Scan(&ref, &id); err != nil {
			return nil, fmt.Errorf("projections: action ids of %s: %w", plan, err)
		}
		out[ref] = id
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projections: action ids of %s: %w", plan, err)
	}
	if len(out) == 0 {
		if ok, err := db.PlanExists(ctx, plan); err != nil {
			return nil, err
		} else if !ok {
			return nil, noPlan(plan)
		}
	}
	return out, nil
}

// AggregateEvents returns an aggregate's stored events (sequence and exact
// bytes) and the checkpoint they are complete up to, read in one
// transaction. The command handler folds them and reads only the stream's
// tail after the checkpoint.
func (db *DB) AggregateEvents(ctx context.Context, plan string, aggType domain.AggregateType, id string) (seqs []uint64, raws [][]byte, upTo uint64, err error) {
	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, nil, 0, fmt.Errorf("projections: aggregate events: %w", err)
	}
	defer tx.Rollback()
	if err := tx.QueryRowContext(ctx, `SELECT sequence FROM checkpoint WHERE id = 1`).Scan(&upTo); err != nil {
		return nil, nil, 0, fmt.Errorf("projections: aggregate events: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT sequence, raw FROM events WHERE aggregate_type = ? AND aggregate_id = ? AND plan = ? ORDER BY sequence`, string(aggType), id, plan)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("projections: aggregate events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var seq uint64
		var raw []byte
		if err := rows.Scan(&seq, &raw); err != nil {
			return nil, nil, 0, fmt.Errorf("projections: aggregate events: %w", err)
		}
		seqs, raws = append(seqs, seq), append(raws, raw)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, 0, fmt.Errorf("projections: aggregate events: %w", err)
	}
	return seqs, raws, upTo, nil
}
