// Package commands executes sendtrail's commands: it loads the target
// aggregate's state from the stream (the only source of truth), asks
// domain.Decide for the events, and appends them with the aggregate's
// expected last sequence so that a concurrent or stale write is refused.
package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/sendtrail/sendtrail/domain"
	"github.com/sendtrail/sendtrail/eventpb"
	"github.com/sendtrail/sendtrail/eventstore"
)

// Target names the aggregate a command is for.
type Target struct {
	Plan string
	Type domain.AggregateType
	ID   string
}

// ActionTarget returns the target of action ref in plan.
func ActionTarget(plan, ref string) Target {
	return Target{Plan: plan, Type: domain.AggAction, ID: domain.ActionID(plan, ref)}
}

// KpiTarget returns the target of the indicator name in plan.
func KpiTarget(plan, name string) Target {
	return Target{Plan: plan, Type: domain.AggKpi, ID: domain.KpiID(plan, name)}
}

// PlanTarget returns the target of the plan itself.
func PlanTarget(plan string) Target { return Target{Plan: plan, Type: domain.AggPlan, ID: plan} }

// PriorityTarget returns the target of priority area number in plan.
func PriorityTarget(plan, number string) Target {
	return Target{Plan: plan, Type: domain.AggPriority, ID: domain.PriorityID(plan, number)}
}

func (t Target) filter() string { return eventpb.Filter(t.Plan, t.Type, t.ID) }

// Meta is what the transport knows of a command: who sent it, its id, the
// version the sender read and when the decision was made.
type Meta struct {
	Actor           domain.Actor
	CommandID       string    // generated when empty
	ExpectedVersion *uint64   // nil: no check
	OccurredAt      time.Time // zero: now
}

// Result is the outcome of a command.
type Result struct {
	Sequence uint64 // the last event written, or the aggregate's version when nothing was
	Version  uint64 // the aggregate's version after the command
	Appended int
}

// MaxCommandID bounds a client's command id.
const MaxCommandID = 128

// Handler executes commands. It keeps a cache of aggregate states; the
// stream's concurrency check makes a stale cache harmless (it is reloaded on
// conflict), so several instances can share one stream.
type Handler struct {
	store *eventstore.Store
	now   func() time.Time
	log   *slog.Logger

	history History // optional: a faithful copy of the stream's prefix

	mu    sync.Mutex
	cache map[string]domain.State // by subject filter

	lastWritten atomic.Uint64 // the highest sequence this handler has written
}

// LastWritten returns the highest stream sequence this handler has
// written (0 before its first write). Queries wait for the read model to
// reach it, so that clients of one instance read their own writes.
func (h *Handler) LastWritten() uint64 { return h.lastWritten.Load() }

func (h *Handler) wrote(seq uint64) {
	for {
		cur := h.lastWritten.Load()
		if seq <= cur || h.lastWritten.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// History is a copy of the stream's events indexed by aggregate (the read
// model), complete up to a sequence. Loading an aggregate folds its events
// from History and reads only the stream's tail after that sequence; the
// append's concurrency check still guards against anything missed.
type History interface {
	AggregateEvents(ctx context.Context, plan string, t domain.AggregateType, id string) (seqs []uint64, raws [][]byte, upTo uint64, err error)
}

// WithHistory makes the handler load aggregates' prefixes from h.
func (h *Handler) WithHistory(hist History) *Handler {
	h.history = hist
	return h
}

// maxCached bounds the state cache; past it the cache is cleared.
const maxCached = 50000

// New returns a Handler appending to store.
func New(store *eventstore.Store, now func() time.Time, log *slog.Logger) *Handler {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Handler{store: store, now: now, log: log, cache: map[string]domain.State{}}
}

// Execute runs cmd on target.
//
// Errors: the *domain.Error Decide returns; ENOTFOUND when the plan does not
// exist; ECONFLICT (with the current version) when ExpectedVersion is stale;
// EINVALID for a bad command id; EUNAVAILABLE when the stream is
// unreachable.
func (h *Handler) Execute(ctx context.Context, target Target, cmd domain.Command, meta Meta) (Result, error) {
	if cmd.AggregateType() != target.Type {
		return Result{}, domain.Errorf(domain.EINTERNAL, "command %T sent to a %s", cmd, target.Type)
	}
	if err := domain.ValidateSlug(target.Plan); err != nil {
		return Result{}, err
	}
	if len(meta.CommandID) > MaxCommandID || strings.ContainsAny(meta.CommandID, " \t\r\n") {
		return Result{}, domain.Invalid("commandId", "at most %d characters and no spaces", MaxCommandID)
	}
	clientID := meta.CommandID != ""
	if !clientID {
		meta.CommandID = uuid.NewString()
	}
	if target.Type != domain.AggPlan && target.Type != domain.AggToken {
		if err := h.requirePlan(ctx, target.Plan); err != nil {
			return Result{}, err
		}
	}
	filter := target.filter()
	for attempt := 0; ; attempt++ {
		state, err := h.load(ctx, target, attempt > 0)
		if err != nil {
			return Result{}, err
		}
		if clientID {
			// A retry of a command that was already written answers
			// success, whatever version the client last read.
			if r, ok, err := h.already(ctx, filter, meta.CommandID); err != nil || ok {
				return r, err
			}
		}
		if meta.ExpectedVersion != nil && *meta.ExpectedVersion != state.Version() {
			if attempt == 0 {
				continue // the cache may be stale: read the stream once
			}
			return Result{}, conflict(state.Version(), *meta.ExpectedVersion)
		}
		events, err := domain.Decide(state, cmd)
		if err != nil {
			return Result{}, err
		}
		if len(events) == 0 {
			return Result{Sequence: state.Version(), Version: state.Version()}, nil
		}
		envs, msgs, err := h.envelopes(target, events, meta)
		if err != nil {
			return Result{}, err
		}
		res, err := h.append(ctx, state, filter, envs, msgs)
		var ce *eventstore.ConflictError
		if errors.As(err, &ce) {
			h.forget(filter)
			if meta.ExpectedVersion != nil {
				return Result{}, conflict(ce.Current, *meta.ExpectedVersion)
			}
			if attempt < 3 {
				continue // decided on a stale state: decide again on the new one
			}
			return Result{}, conflict(ce.Current, state.Version())
		}
		return res, err
	}
}

func conflict(current, expected uint64) error {
	return &domain.Error{Code: domain.ECONFLICT, Field: "expectedVersion", Version: current,
		Message: fmt.Sprintf("changed since you read it: you read version %d, it is now at version %d; read it again and retry", expected, current)}
}

// already reports whether the aggregate's last event was written by
// commandID.
func (h *Handler) already(ctx context.Context, filter, commandID string) (Result, bool, error) {
	last, err := h.store.Last(ctx, filter)
	if errors.Is(err, eventstore.ErrNotFound) {
		return Result{}, false, nil
	}
	if err != nil {
		return Result{}, false, unavailable(err)
	}
	id := last.Header.Get("Nats-Msg-Id")
	if id == commandID || strings.HasPrefix(id, commandID+"#") {
		return Result{Sequence: last.Sequence, Version: last.Sequence}, true, nil
	}
	return Result{}, false, nil
}

func (h *Handler) envelopes(target Target, events []domain.Event, meta Meta) ([]domain.Envelope, []eventstore.Message, error) {
	now := h.now().UTC()
	occurred := meta.OccurredAt
	if occurred.IsZero() {
		occurred = now
	}
	envs := make([]domain.Envelope, len(events))
	msgs := make([]eventstore.Message, len(events))
	for i, e := range events {
		id, err := uuid.NewV7()
		if err != nil {
			return nil, nil, fmt.Errorf("event id: %w", err)
		}
		env := domain.Envelope{
			EventID: id.String(), Plan: target.Plan, AggregateType: target.Type, AggregateID: target.ID,
			OccurredAt: occurred.UTC(), RecordedAt: now, Actor: meta.Actor, CorrelationID: meta.CommandID,
			SchemaVersion: domain.SchemaVersion, Event: e,
		}
		data, err := eventpb.Marshal(env)
		if err != nil {
			return nil, nil, err
		}
		msgID := meta.CommandID
		if len(events) > 1 {
			msgID = fmt.Sprintf("%s#%d", meta.CommandID, i)
		}
		envs[i] = env
		msgs[i] = eventstore.Message{Subject: eventpb.Subject(env), MsgID: msgID, Data: data}
	}
	return envs, msgs, nil
}

func (h *Handler) append(ctx context.Context, state domain.State, filter string, envs []domain.Envelope, msgs []eventstore.Message) (Result, error) {
	res := Result{}
	expect := state.Version()
	for i, msg := range msgs {
		ack, err := h.store.Append(ctx, msg, eventstore.Expect{Filter: filter, Sequence: expect})
		if err != nil {
			if i > 0 {
				h.forget(filter)
			}
			var ce *eventstore.ConflictError
			if errors.As(err, &ce) {
				return res, err
			}
			return res, unavailable(err)
		}
		envs[i].Sequence = ack.Sequence
		h.wrote(ack.Sequence)
		state = domain.Evolve(state, envs[i])
		expect = ack.Sequence
		res.Sequence, res.Version = ack.Sequence, ack.Sequence
		if !ack.Duplicate {
			res.Appended++
		}
	}
	h.remember(filter, state)
	return res, nil
}

func unavailable(err error) error {
	if errors.Is(err, eventstore.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		return &domain.Error{Code: domain.EUNAVAILABLE, Message: "the event store is unavailable; nothing was written, retry with the same commandId"}
	}
	return err
}

// State returns target's current state, read from the stream.
func (h *Handler) State(ctx context.Context, target Target) (domain.State, error) {
	return h.load(ctx, target, true)
}

func (h *Handler) requirePlan(ctx context.Context, plan string) error {
	st, err := h.load(ctx, PlanTarget(plan), false)
	if err != nil {
		return err
	}
	if !st.Exists() {
		st, err = h.load(ctx, PlanTarget(plan), true)
		if err != nil {
			return err
		}
		if !st.Exists() {
			return &domain.Error{Code: domain.ENOTFOUND, Field: "plan", Message: fmt.Sprintf("no plan %s", plan)}
		}
	}
	return nil
}

func (h *Handler) load(ctx context.Context, target Target, fresh bool) (domain.State, error) {
	filter := target.filter()
	if !fresh {
		h.mu.Lock()
		st, ok := h.cache[filter]
		h.mu.Unlock()
		if ok {
			return st, nil
		}
	}
	st := domain.NewState(target.Type)
	from := uint64(1)
	if h.history != nil {
		seqs, raws, upTo, err := h.history.AggregateEvents(ctx, target.Plan, target.Type, target.ID)
		if err != nil {
			return nil, err
		}
		for i, raw := range raws {
			env, err := eventpb.Unmarshal(raw, seqs[i])
			if err != nil {
				return nil, err
			}
			// Evolve unknown types too: they advance the version.
			st = domain.Evolve(st, env)
		}
		from = upTo + 1
	}
	msgs, err := h.store.LoadFrom(ctx, filter, from)
	if err != nil {
		return nil, unavailable(err)
	}
	for _, m := range msgs {
		env, err := eventpb.Unmarshal(m.Data, m.Sequence)
		if err != nil {
			return nil, err
		}
		st = domain.Evolve(st, env)
	}
	h.remember(filter, st)
	return st, nil
}

func (h *Handler) remember(filter string, st domain.State) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.cache) >= maxCached {
		clear(h.cache)
	}
	if old, ok := h.cache[filter]; ok && old.Version() > st.Version() {
		return
	}
	h.cache[filter] = st
}

func (h *Handler) forget(filter string) {
	h.mu.Lock()
	delete(h.cache, filter)
	h.mu.Unlock()
}

// SystemPlan is the reserved plan slug under which tokens for every plan
// ("*") are kept.
const SystemPlan = domain.ReservedSlug

// TokenTarget returns the target of token id for plan ("*" for every plan).
func TokenTarget(plan, id string) Target {
	if plan == "*" {
		plan = SystemPlan
	}
	return Target{Plan: plan, Type: domain.AggToken, ID: id}
}
