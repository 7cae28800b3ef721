package projections

import (
	"context"
	"database/sql"
	"errors"
)

// writeStmts are the projector's statements, prepared once on the writer
// connection and bound to each batch's transaction.
type writeStmts struct {
	all []*sql.Stmt
	txStmts
}

// txStmts holds the statements, either as prepared on the writer or as
// bound to a transaction.
type txStmts struct {
	setCheckpoint, insertEvent, aggregateEvents                            *sql.Stmt
	upsertPlan, deletePeriods, insertPeriod, deleteVersions, insertVersion *sql.Stmt
	upsertPriority, upsertAction, deleteLeads, insertLead                  *sql.Stmt
	upsertKpi, upsertKpiValue, deleteKpiValue, upsertToken, upsertWebhook  *sql.Stmt
}

func (t *txStmts) fields() []struct {
	p   **sql.Stmt
	sql string
} {
	return []struct {
		p   **sql.Stmt
		sql string
	}{
		{&t.setCheckpoint, `UPDATE checkpoint SET sequence = ? WHERE id = 1`},
		{&t.insertEvent, `INSERT INTO events (sequence, event_id, plan, aggregate_type, aggregate_id, type, subject,
	schema_version, occurred_at, recorded_at, actor_id, actor_name, actor_role, correlation_id, known,
	subject_ref, "before", "after", reason, reason_category, commentary, summary, raw)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&t.aggregateEvents, `SELECT sequence, raw FROM events
WHERE aggregate_type = ? AND aggregate_id = ? AND sequence < ? ORDER BY sequence`},
		{&t.upsertPlan, `INSERT INTO plans (slug, id, title, rag_scheme, version, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (slug) DO UPDATE SET id = excluded.id, title = excluded.title, rag_scheme = excluded.rag_scheme,
	version = excluded.version, updated_at = excluded.updated_at`},
		{&t.deletePeriods, `DELETE FROM reporting_periods WHERE plan = ?`},
		{&t.insertPeriod, `INSERT INTO reporting_periods (plan, position, label, date, rag_counts) VALUES (?, ?, ?, ?, ?)`},
		{&t.deleteVersions, `DELETE FROM plan_versions WHERE plan = ?`},
		{&t.insertVersion, `INSERT INTO plan_versions (plan, position, version, note, date) VALUES (?, ?, ?, ?, ?)`},
		{&t.upsertPriority, `INSERT INTO priorities (id, plan, number, number_sort, title, summary, parent_carer_voice, version, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET plan = excluded.plan, number = excluded.number, number_sort = excluded.number_sort,
	title = excluded.title, summary = excluded.summary, parent_carer_voice = excluded.parent_carer_voice,
	version = excluded.version, updated_at = excluded.updated_at`},
		{&t.upsertAction, `INSERT INTO actions (id, plan, ref, ref_sort, priority, origin, text,
	leads, leads_raw, leads_raw_folded, deadline, original_deadline, deadline_raw, milestones,
	rag, rag_raw, trend, success_measures, progress, impact,
	flags, flagged, withdrawn, withdrawn_reason, deadline_moves, version, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET plan = excluded.plan, ref = excluded.ref, ref_sort = excluded.ref_sort,
	priority = excluded.priority, origin = excluded.origin, text = excluded.text,
	leads = excluded.leads, leads_raw = excluded.leads_raw, leads_raw_folded = excluded.leads_raw_folded,
	deadline = excluded.deadline, original_deadline = excluded.original_deadline,
	deadline_raw = excluded.deadline_raw, milestones = excluded.milestones,
	rag = excluded.rag, rag_raw = excluded.rag_raw, trend = excluded.trend,
	success_measures = excluded.success_measures, progress = excluded.progress, impact = excluded.impact,
	flags = excluded.flags, flagged = excluded.flagged, withdrawn = excluded.withdrawn,
	withdrawn_reason = excluded.withdrawn_reason, deadline_moves = excluded.deadline_moves,
	version = excluded.version, updated_at = excluded.updated_at`},
		{&t.deleteLeads, `DELETE FROM action_leads WHERE action_id = ?`},
		{&t.insertLead, `INSERT INTO action_leads (action_id, position, name, name_folded, role, organisation) VALUES (?, ?, ?, ?, ?, ?)`},
		{&t.upsertKpi, `INSERT INTO kpis (id, plan, priority, name, direction, target, national, defined_seq, version, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET plan = excluded.plan, priority = excluded.priority, name = excluded.name,
	direction = excluded.direction, target = excluded.target, national = excluded.national,
	version = excluded.version, updated_at = excluded.updated_at`},
		{&t.upsertKpiValue, `INSERT INTO kpi_values (kpi_id, period, position, value, corrected, corrections, first_value)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (kpi_id, period) DO UPDATE SET position = excluded.position, value = excluded.value,
	corrected = excluded.corrected, corrections = excluded.corrections, first_value = excluded.first_value`},
		{&t.deleteKpiValue, `DELETE FROM kpi_values WHERE kpi_id = ? AND period = ?`},
		{&t.upsertToken, `INSERT INTO tokens (token_id, principal, name, role, plan, lead_name, hash, expires_at, revoked, issued_at, version, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (token_id) DO UPDATE SET principal = excluded.principal, name = excluded.name, role = excluded.role,
	plan = excluded.plan, lead_name = excluded.lead_name, hash = excluded.hash, expires_at = excluded.expires_at,
	revoked = excluded.revoked, version = excluded.version, updated_at = excluded.updated_at`},
		{&t.upsertWebhook, `INSERT INTO webhooks (webhook_id, plan, url, types, secret_ref, removed, version, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (webhook_id) DO UPDATE SET plan = excluded.plan, url = excluded.url, types = excluded.types,
	secret_ref = excluded.secret_ref, removed = excluded.removed, version = excluded.version, updated_at = excluded.updated_at`},
	}
}

func (w *writeStmts) prepare(db *sql.DB) error {
	for _, f := range w.fields() {
		s, err := db.Prepare(f.sql)
		if err != nil {
			return err
		}
		*f.p = s
		w.all = append(w.all, s)
	}
	return nil
}

func (w *writeStmts) close() error {
	var errs []error
	for _, s := range w.all {
		errs = append(errs, s.Close())
	}
	w.all = nil
	return errors.Join(errs...)
}

// in binds the prepared statements to tx; they close with it.
func (w *writeStmts) in(ctx context.Context, tx *sql.Tx) txStmts {
	var t txStmts
	src, dst := w.fields(), t.fields()
	for i := range src {
		*dst[i].p = tx.StmtContext(ctx, *src[i].p)
	}
	return t
}
