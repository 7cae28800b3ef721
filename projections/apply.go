package projections

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/sendtrail/sendtrail/domain"
	"github.com/sendtrail/sendtrail/eventpb"
	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
)

// Event is one stored event handed to the projector.
type Event struct {
	// Envelope is the decoded event, with Sequence set. Envelope.Event is
	// nil for a type this code does not know: the event is stored (and
	// shown in histories) but changes no state.
	Envelope domain.Envelope
	// Raw is the exact stored bytes, kept so that evidence export can hash
	// them and so that an aggregate's state can be rebuilt.
	Raw []byte
	// Subject is the NATS subject the event was stored under.
	Subject string
}

type aggKey struct {
	t  domain.AggregateType
	id string
}

// Apply applies a batch of events in one transaction, with the checkpoint
// (the last sequence applied) written in the same transaction. Events at
// or below the checkpoint are skipped, so a redelivery or an overlapping
// batch never applies an event twice; a gap in the sequences is allowed
// (the stream holds subjects this projector does not read). A failed batch
// leaves the file as it was.
func (db *DB) Apply(ctx context.Context, batch []Event) (err error) {
	if len(batch) == 0 {
		return nil
	}
	if !slices.IsSortedFunc(batch, bySequence) {
		batch = slices.Clone(batch)
		slices.SortStableFunc(batch, bySequence)
	}
	db.applyMu.Lock()
	defer db.applyMu.Unlock()
	select {
	case <-db.closed:
		return errors.New("projections: apply: read model is closed")
	default:
	}

	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("projections: apply: begin: %w", err)
	}
	a := &applier{db: db, tx: tx, ctx: ctx, overlay: map[aggKey]domain.State{}, pending: map[aggKey]*pendingRows{}}
	defer func() {
		if err != nil {
			tx.Rollback()
			// The file is as it was before the batch; so is the cache,
			// except for entries a faulty commit might have left ahead of
			// it. Drop every entry the batch touched: they are rebuilt from
			// the events table on their next use.
			for k := range a.overlay {
				delete(db.cache, k)
			}
			for _, e := range db.exts {
				e.Abort()
			}
		}
	}()
	cp, err := readCheckpoint(ctx, tx)
	if err != nil {
		return err
	}
	if cp != db.committed {
		// Another writer moved the file on: nothing cached can be trusted.
		clear(db.cache)
		for _, e := range db.exts {
			e.Abort()
		}
		db.committed = cp
	}
	a.stmts = db.ws.in(ctx, tx)
	last := cp
	for i := range batch {
		ev := &batch[i]
		seq := ev.Envelope.Sequence
		if seq == 0 {
			return fmt.Errorf("projections: apply: event %s has no stream sequence", ev.Envelope.EventID)
		}
		if seq <= last {
			continue // applied already (redelivery, overlap) or a duplicate in the batch
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("projections: apply: %w", err)
		}
		if err := a.apply(ev); err != nil {
			return fmt.Errorf("projections: apply sequence %d (%s): %w", seq, ev.Envelope.EventID, err)
		}
		for _, e := range db.exts {
			if err := e.Apply(ctx, tx, ev); err != nil {
				return fmt.Errorf("projections: %s: apply sequence %d: %w", e.Name(), seq, err)
			}
		}
		last = seq
	}
	if last == cp {
		return tx.Rollback() // nothing new
	}
	if err := a.flush(); err != nil {
		return err
	}
	for _, e := range db.exts {
		if err := e.Commit(ctx, tx, last); err != nil {
			return fmt.Errorf("projections: %s: %w", e.Name(), err)
		}
	}
	if _, err := a.stmts.setCheckpoint.ExecContext(ctx, int64(last)); err != nil {
		return fmt.Errorf("projections: apply: write checkpoint: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("projections: apply: commit: %w", err)
	}
	for k, s := range a.overlay {
		db.cache[k] = s
	}
	db.committed = last
	db.advance(last)
	return nil
}

func bySequence(a, b Event) int {
	switch {
	case a.Envelope.Sequence < b.Envelope.Sequence:
		return -1
	case a.Envelope.Sequence > b.Envelope.Sequence:
		return 1
	}
	return 0
}

// applier applies one batch inside its transaction.
type applier struct {
	db      *DB
	tx      *sql.Tx
	ctx     context.Context
	stmts   txStmts
	overlay map[aggKey]domain.State // states after this batch's events, committed to the cache with the batch

	// Core rows are written once per aggregate per batch, from the state
	// before the batch and the state after it: during a rebuild a batch of
	// 1000 events touches each action's row once, not once per event.
	pending map[aggKey]*pendingRows
	order   []aggKey
}

// pendingRows is an aggregate whose rows this batch changes.
type pendingRows struct {
	first, last domain.Envelope // its first and last event in the batch
	prev        domain.State    // its state before the batch
}

func (a *applier) apply(ev *Event) error {
	env := ev.Envelope
	typ := eventType(ev)
	subject := ev.Subject
	if subject == "" && env.Event != nil {
		subject = eventpb.Subject(env)
	}
	var prev, next domain.State
	known := env.Event != nil && domain.NewState(env.AggregateType) != nil
	if known {
		key := aggKey{env.AggregateType, env.AggregateID}
		var err error
		if prev, err = a.state(key, env.Sequence); err != nil {
			return err
		}
		next = domain.Evolve(prev, env)
		a.overlay[key] = next
	}
	h := describe(env, typ, prev, next)
	raw := ev.Raw
	if raw == nil {
		raw = []byte{}
	}
	if _, err := a.stmts.insertEvent.ExecContext(a.ctx,
		int64(env.Sequence), env.EventID, env.Plan, string(env.AggregateType), env.AggregateID, typ, subject,
		env.SchemaVersion, fmtTime(env.OccurredAt), fmtTime(env.RecordedAt),
		env.Actor.ID, env.Actor.DisplayName, string(env.Actor.Role), env.CorrelationID, known,
		h.subjectRef, h.before, h.after, h.reason, h.category, h.commentary, h.summary, raw); err != nil {
		return fmt.Errorf("insert event: %w", err)
	}
	if !known {
		return nil
	}
	key := aggKey{env.AggregateType, env.AggregateID}
	if p, ok := a.pending[key]; ok {
		p.last = env
	} else {
		a.pending[key] = &pendingRows{first: env, last: env, prev: prev}
		a.order = append(a.order, key)
	}
	return nil
}

// flush writes the rows of every aggregate the batch changed, in the order
// the batch first touched them.
func (a *applier) flush() error {
	for _, k := range a.order {
		p := a.pending[k]
		if err := a.project(p.first, p.last, p.prev, a.overlay[k]); err != nil {
			return fmt.Errorf("projections: apply: rows of %s %s at sequence %d: %w", k.t, k.id, p.last.Sequence, err)
		}
	}
	return nil
}

// eventType names an event: its own Type, or for a type this code does not
// know, the last token of its subject or the type its envelope names.
func eventType(ev *Event) string {
	if ev.Envelope.Event != nil {
		return ev.Envelope.Event.Type()
	}
	if i := strings.LastIndexByte(ev.Subject, '.'); i >= 0 && i < len(ev.Subject)-1 {
		return ev.Subject[i+1:]
	}
	var m pb.Envelope
	if proto.Unmarshal(ev.Raw, &m) == nil && m.GetType() != "" {
		return m.GetType()
	}
	return "unknown"
}

// state returns the aggregate's state before the event at seq: from this
// batch, from the cache, or rebuilt by folding the aggregate's events read
// back from the events table (inside the transaction, so this batch's rows
// are seen).
func (a *applier) state(key aggKey, seq uint64) (domain.State, error) {
	if s, ok := a.overlay[key]; ok {
		return s, nil
	}
	if s, ok := a.db.cache[key]; ok {
		return s, nil
	}
	s := domain.NewState(key.t)
	rows, err := a.stmts.aggregateEvents.QueryContext(a.ctx, string(key.t), key.id, int64(seq))
	if err != nil {
		return nil, fmt.Errorf("rebuild %s %s: %w", key.t, key.id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			at  int64
			raw []byte
		)
		if err := rows.Scan(&at, &raw); err != nil {
			return nil, fmt.Errorf("rebuild %s %s: %w", key.t, key.id, err)
		}
		env, err := eventpb.Unmarshal(raw, uint64(at))
		if err != nil {
			return nil, fmt.Errorf("rebuild %s %s: %w", key.t, key.id, err)
		}
		if env.Event == nil {
			continue // as when it was applied: unknown types change no state
		}
		s = domain.Evolve(s, env)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("rebuild %s %s: %w", key.t, key.id, err)
	}
	return s, nil
}

// project writes the aggregate's rows from its state's getters. Child rows
// (leads, values, periods) are rewritten only when they differ from the
// previous state's, which the rows already hold. first and last are the
// aggregate's first and last events in the batch: a row inserted now takes
// its creation time from first, every row its update time from last.
func (a *applier) project(first, env domain.Envelope, prev, next domain.State) error {
	ctx, st := a.ctx, a.stmts
	at, created := fmtTime(env.OccurredAt), fmtTime(first.OccurredAt)
	switch s := next.(type) {
	case domain.PlanState:
		if !s.Exists() {
			return nil
		}
		p := prev.(domain.PlanState)
		if _, err := st.upsertPlan.ExecContext(ctx, s.Slug(), env.AggregateID, s.Title(), mustJSON(schemeJSON(s.RagScheme())), int64(s.Version()), created, at); err != nil {
			return fmt.Errorf("upsert plan: %w", err)
		}
		if !p.Exists() || !reflect.DeepEqual(p.Periods(), s.Periods()) {
			if _, err := st.deletePeriods.ExecContext(ctx, s.Slug()); err != nil {
				return fmt.Errorf("write periods: %w", err)
			}
			for i, r := range s.Periods() {
				counts := r.RagCounts
				if counts == nil {
					counts = map[string]int{}
				}
				if _, err := st.insertPeriod.ExecContext(ctx, s.Slug(), i, r.Label, r.Date.String(), mustJSON(counts)); err != nil {
					return fmt.Errorf("write periods: %w", err)
				}
			}
		}
		if !p.Exists() || !reflect.DeepEqual(p.Versions(), s.Versions()) {
			if _, err := st.deleteVersions.ExecContext(ctx, s.Slug()); err != nil {
				return fmt.Errorf("write versions: %w", err)
			}
			for i, v := range s.Versions() {
				if _, err := st.insertVersion.ExecContext(ctx, s.Slug(), i, v.Version, v.Note, v.Date.String()); err != nil {
					return fmt.Errorf("write versions: %w", err)
				}
			}
		}
	case domain.PriorityState:
		if !s.Exists() {
			return nil
		}
		ar := s.Area()
		if _, err := st.upsertPriority.ExecContext(ctx, env.AggregateID, env.Plan, ar.Number, sortKey(ar.Number),
			ar.Title, ar.Summary, ar.ParentCarerVoice, int64(s.Version()), created, at); err != nil {
			return fmt.Errorf("upsert priority: %w", err)
		}
	case domain.ActionState:
		if !s.Exists() {
			return nil
		}
		p := prev.(domain.ActionState)
		if _, err := st.upsertAction.ExecContext(ctx,
			env.AggregateID, env.Plan, s.Ref(), sortKey(s.Ref()), s.Priority(), s.Origin(), s.Text(),
			mustJSON(leadsJSON(s.Leads())), s.LeadsRaw(), fold(s.LeadsRaw()),
			s.Deadline().String(), s.OriginalDeadline().String(), s.DeadlineRaw(), mustJSON(milestonesJSON(s.Milestones())),
			s.Rag().String(), s.Added().RagRaw, s.Trend(), s.SuccessMeasures(), s.Progress(), s.Impact(),
			mustJSON(flagsJSON(s.Flags())), len(s.Flags()) > 0, s.Withdrawn(), s.WithdrawnReason(), s.DeadlineMoves(),
			int64(s.Version()), created, fmtTime(s.LastChanged())); err != nil {
			return fmt.Errorf("upsert action: %w", err)
		}
		if !p.Exists() || !slices.Equal(p.Leads(), s.Leads()) {
			if _, err := st.deleteLeads.ExecContext(ctx, env.AggregateID); err != nil {
				return fmt.Errorf("write leads: %w", err)
			}
			for i, l := range s.Leads() {
				if _, err := st.insertLead.ExecContext(ctx, env.AggregateID, i, l.Name, fold(l.Name), l.Role, l.Organisation); err != nil {
					return fmt.Errorf("write leads: %w", err)
				}
			}
		}
	case domain.KpiState:
		if !s.Exists() {
			return nil
		}
		p := prev.(domain.KpiState)
		d := s.Definition()
		if _, err := st.upsertKpi.ExecContext(ctx, env.AggregateID, env.Plan, d.Priority, d.Name, d.Direction.String(),
			d.Target, d.National, int64(first.Sequence), int64(s.Version()), created, at); err != nil {
			return fmt.Errorf("upsert kpi: %w", err)
		}
		// Values only grow and change in place: compare period by period
		// with the previous state, without building maps.
		prevPeriods := p.Periods()
		for i, period := range s.Periods() {
			v := kpiValue(s, i, period)
			if p.Exists() && i < len(prevPeriods) && prevPeriods[i] == period && kpiValue(p, i, period) == v {
				continue
			}
			if _, err := st.upsertKpiValue.ExecContext(ctx, env.AggregateID, period, v.position, v.value, v.corrections > 0, v.corrections, v.first); err != nil {
				return fmt.Errorf("write kpi value: %w", err)
			}
		}
		if cur := s.Periods(); len(cur) < len(prevPeriods) || !slices.Equal(prevPeriods, cur[:len(prevPeriods)]) {
			// Not an append (nothing the domain does today): drop the rows
			// of periods the state no longer has.
			keep := map[string]bool{}
			for _, period := range s.Periods() {
				keep[period] = true
			}
			for _, period := range prevPeriods {
				if !keep[period] {
					if _, err := st.deleteKpiValue.ExecContext(ctx, env.AggregateID, period); err != nil {
						return fmt.Errorf("write kpi value: %w", err)
					}
				}
			}
		}
	case domain.TokenState:
		if !s.Exists() {
			return nil
		}
		t := s.Issued()
		if _, err := st.upsertToken.ExecContext(ctx, t.TokenID, t.Principal, t.Name, string(t.Role), t.Plan, t.LeadName, t.Hash,
			fmtTime(t.ExpiresAt), s.Revoked(), created, int64(s.Version()), at); err != nil {
			return fmt.Errorf("upsert token: %w", err)
		}
	case domain.WebhookState:
		r := s.Registered()
		if r.WebhookID == "" {
			return nil
		}
		types := r.Types
		if types == nil {
			types = []string{}
		}
		if _, err := st.upsertWebhook.ExecContext(ctx, r.WebhookID, env.Plan, r.URL, mustJSON(types), r.SecretRef, !s.Exists(),
			int64(s.Version()), created, at); err != nil {
			return fmt.Errorf("upsert webhook: %w", err)
		}
	}
	return nil
}

type kpiValueRow struct {
	position    int
	value       string
	corrections int
	first       string
}

func kpiValue(s domain.KpiState, position int, period string) kpiValueRow {
	v, _ := s.Value(period)
	cs := s.Corrections(period)
	first := v
	if len(cs) > 0 {
		first = cs[0].Old
	}
	return kpiValueRow{position: position, value: v, corrections: len(cs), first: first}
}

// --- JSON forms of list columns (struct fields: deterministic output) ---

type leadJSONRow struct {
	Name         string `json:"name"`
	Role         string `json:"role"`
	Organisation string `json:"organisation"`
}

type milestoneJSONRow struct {
	Date string `json:"date"`
	Text string `json:"text"`
}

type flagJSONRow struct {
	Field   string `json:"field"`
	Raw     string `json:"raw"`
	Message string `json:"message"`
}

type schemeJSONRow struct {
	Code        string `json:"code"`
	Description string `json:"description"`
	Count       string `json:"count"`
	Percent     string `json:"percent"`
	Direction   string `json:"direction"`
}

func leadsJSON(ls []domain.Lead) []leadJSONRow {
	out := make([]leadJSONRow, len(ls))
	for i, l := range ls {
		out[i] = leadJSONRow(l)
	}
	return out
}

func milestonesJSON(ms []domain.Milestone) []milestoneJSONRow {
	out := make([]milestoneJSONRow, len(ms))
	for i, m := range ms {
		out[i] = milestoneJSONRow{Date: m.Date.String(), Text: m.Text}
	}
	return out
}

func flagsJSON(fs []domain.Flag) []flagJSONRow {
	out := make([]flagJSONRow, len(fs))
	for i, f := range fs {
		out[i] = flagJSONRow(f)
	}
	return out
}

func schemeJSON(rows []domain.RagSchemeRow) []schemeJSONRow {
	out := make([]schemeJSONRow, len(rows))
	for i, r := range rows {
		out[i] = schemeJSONRow(r)
	}
	return out
}

// mustJSON encodes v, which is always one of the plain types above.
func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("projections: encode %T: %v", v, err))
	}
	return string(b)
}
