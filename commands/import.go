package commands

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/sendtrail/sendtrail/domain"
	"github.com/sendtrail/sendtrail/eventpb"
	"github.com/sendtrail/sendtrail/eventstore"
	"github.com/sendtrail/sendtrail/importer"
)

// ImportResult reports an import.
type ImportResult struct {
	Sequence uint64
	Appended int
}

type planned struct {
	target Target
	cmd    domain.Command
}

// Import writes a validated plan. Every command is decided against the
// plan's current state read from the stream, so a repeated import appends
// nothing and an import cut short (a crash, a lost connection) completes
// when run again. Message ids are derived from the input's digest and each
// event's place, so a retried batch is de-duplicated by the stream too.
//
// The plan's creation is written first; its areas, actions and indicators
// follow in one pipelined batch whose fsyncs the server amortises.
//
// Errors: EEXISTS when the plan exists and the input differs from it (the
// first difference is named); ECONFLICT when another writer changed the
// plan during the import (nothing of the conflicting aggregate is written;
// run it again); EUNAVAILABLE.
func (h *Handler) Import(ctx context.Context, p *importer.Plan, meta Meta) (ImportResult, error) {
	slug := p.Create.Slug
	if err := domain.ValidateSlug(slug); err != nil {
		return ImportResult{}, err
	}
	digest := importDigest(p)
	states, last, err := h.planStates(ctx, slug)
	if err != nil {
		return ImportResult{}, err
	}
	var cmds []planned
	cmds = append(cmds, planned{PlanTarget(slug), p.Create})
	for _, a := range p.Priorities {
		cmds = append(cmds, planned{PriorityTarget(slug, a.Number), a})
	}
	for _, a := range p.Actions {
		cmds = append(cmds, planned{ActionTarget(slug, a.Ref), a})
	}
	for _, k := range p.Kpis {
		t := KpiTarget(slug, k.Define.Name)
		cmds = append(cmds, planned{t, k.Define})
		for _, v := range k.Values {
			cmds = append(cmds, planned{t, v})
		}
	}

	// Decide everything before writing anything.
	now := h.now().UTC()
	occurred := meta.OccurredAt
	if occurred.IsZero() {
		occurred = now
	}
	meta.OccurredAt = occurred
	var planMsgs, restMsgs []eventstore.Message
	var planExp, restExp []eventstore.Expect
	seen := map[string]bool{}
	for i, c := range cmds {
		f := c.target.filter()
		st, ok := states[f]
		if !ok {
			st = domain.NewState(c.target.Type)
		}
		events, err := domain.Decide(st, c.cmd)
		if err != nil {
			return ImportResult{}, fmt.Errorf("%s: %w", describe(c), err)
		}
		for j, e := range events {
			m := meta
			m.CommandID = fmt.Sprintf("import-%s-%d-%d", digest, i, j)
			envs, msgs, err := h.envelopes(c.target, []domain.Event{e}, m)
			if err != nil {
				return ImportResult{}, err
			}
			st = domain.Evolve(st, envs[0])
			exp := eventstore.Expect{Filter: f}
			if !seen[f] {
				seen[f] = true
				if prev, ok := states[f]; ok {
					exp.Sequence = prev.Version()
				}
			}
			if c.target.Type == domain.AggPlan {
				planMsgs, planExp = append(planMsgs, msgs[0]), append(planExp, exp)
			} else {
				restMsgs, restExp = append(restMsgs, msgs[0]), append(restExp, exp)
			}
		}
		states[f] = st
	}
	res := ImportResult{Sequence: last}
	for _, batch := range []struct {
		msgs []eventstore.Message
		exps []eventstore.Expect
	}{{planMsgs, planExp}, {restMsgs, restExp}} {
		if len(batch.msgs) == 0 {
			continue
		}
		acks, err := h.store.AppendAll(ctx, batch.msgs, batch.exps)
		for _, a := range acks {
			h.wrote(a.Sequence)
			if a.Sequence > res.Sequence {
				res.Sequence = a.Sequence
			}
			if a.Sequence != 0 && !a.Duplicate {
				res.Appended++
			}
		}
		if err != nil {
			h.forgetPlan(states)
			var ce *eventstore.ConflictError
			if errors.As(err, &ce) {
				return res, &domain.Error{Code: domain.ECONFLICT, Field: "plan", Version: ce.Current,
					Message: "the plan changed while it was being imported; run the import again to complete it"}
			}
			return res, unavailable(err)
		}
	}
	h.forgetPlan(states)
	return res, nil
}

func describe(c planned) string {
	switch x := c.cmd.(type) {
	case domain.AddAction:
		return "action " + x.Ref
	case domain.AddPriorityArea:
		return "priority area " + x.Number
	case domain.DefineKpi:
		return "indicator " + x.Name
	case domain.RecordKpiValue:
		return "indicator value " + x.Period
	}
	return string(c.target.Type)
}

// planStates folds every event of plan into states by aggregate filter, and
// returns the last sequence seen.
func (h *Handler) planStates(ctx context.Context, slug string) (map[string]domain.State, uint64, error) {
	msgs, err := h.store.Load(ctx, eventpb.PlanFilter(slug), 0)
	if err != nil {
		return nil, 0, unavailable(err)
	}
	states := map[string]domain.State{}
	var last uint64
	for _, m := range msgs {
		env, err := eventpb.Unmarshal(m.Data, m.Sequence)
		if err != nil {
			return nil, 0, err
		}
		f := eventpb.Filter(env.Plan, env.AggregateType, env.AggregateID)
		st, ok := states[f]
		if !ok {
			st = domain.NewState(env.AggregateType)
			if st == nil {
				continue
			}
		}
		states[f] = domain.Evolve(st, env)
		last = m.Sequence
	}
	return states, last, nil
}

func (h *Handler) forgetPlan(states map[string]domain.State) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for f := range states {
		delete(h.cache, f)
	}
}

// importDigest identifies an import's content, so that its message ids are
// the same when it is run again.
func importDigest(p *importer.Plan) string {
	h := sha256.New()
	fmt.Fprintf(h, "%#v", p.Create)
	for _, a := range p.Priorities {
		fmt.Fprintf(h, "%#v", a)
	}
	for _, a := range p.Actions {
		fmt.Fprintf(h, "%#v", a)
	}
	for _, k := range p.Kpis {
		fmt.Fprintf(h, "%#v", k)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
