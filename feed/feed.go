// Package feed turns stored events into what subscribers receive: the
// Watch stream and webhook deliveries. It decodes an event's bytes,
// describes it with the readable before, after and reason the read model's
// histories show (projections.Describe, with the aggregate's states folded
// from the stream itself, so it never waits for the read model), and says
// which NATS subjects a subscriber's filter covers.
package feed

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sendtrail/sendtrail/domain"
	"github.com/sendtrail/sendtrail/eventpb"
	"github.com/sendtrail/sendtrail/eventstore"
	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
	"github.com/sendtrail/sendtrail/projections"
)

// EventTypes lists every event type this version of sendtrail writes.
func EventTypes() []string {
	return []string{
		domain.PlanCreated{}.Type(), domain.PriorityAreaAdded{}.Type(), domain.PriorityAreaRevised{}.Type(),
		domain.ReportingPeriodClosed{}.Type(), domain.PlanVersionPublished{}.Type(),
		domain.ActionAdded{}.Type(), domain.ActionRevised{}.Type(), domain.RagChanged{}.Type(),
		domain.DeadlineMoved{}.Type(), domain.LeadsReassigned{}.Type(), domain.ProgressRecorded{}.Type(),
		domain.ImpactRecorded{}.Type(), domain.ActionWithdrawn{}.Type(), domain.ActionReinstated{}.Type(),
		domain.FlagResolved{}.Type(), domain.KpiDefined{}.Type(), domain.KpiValueRecorded{}.Type(),
		domain.KpiValueCorrected{}.Type(), domain.KpiTargetChanged{}.Type(), domain.TokenIssued{}.Type(),
		domain.TokenRevoked{}.Type(), domain.EvidenceExported{}.Type(), domain.WebhookRegistered{}.Type(),
		domain.WebhookRemoved{}.Type(),
	}
}

var aggregateTypes = []domain.AggregateType{domain.AggPlan, domain.AggPriority, domain.AggAction, domain.AggKpi, domain.AggToken, domain.AggWebhook}

// MaxTypes bounds the event types of one filter.
const MaxTypes = 32

var idRE = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

// Filter says which of a plan's events a subscriber wants.
type Filter struct {
	Plan          string
	Types         []string // empty: every type
	AggregateType string   // "": every type
	AggregateID   string   // "": every aggregate; needs AggregateType
}

// Validate checks a filter: a plan slug, known event and aggregate types,
// an aggregate id only with its type.
// Errors: EINVALID naming the field.
func (f Filter) Validate() error {
	if err := domain.ValidateSlug(f.Plan); err != nil {
		return err
	}
	if len(f.Types) > MaxTypes {
		return domain.Invalid("types", "at most %d event types", MaxTypes)
	}
	known := EventTypes()
	for _, t := range f.Types {
		if !slices.Contains(known, t) {
			return domain.Invalid("types", "%q is not an event type (want one of %s)", t, strings.Join(known, ", "))
		}
	}
	if f.AggregateType != "" && !slices.Contains(aggregateTypes, domain.AggregateType(f.AggregateType)) {
		return domain.Invalid("aggregateType", "%q is not an aggregate type (want plan, priority, action, kpi, token or webhook)", f.AggregateType)
	}
	if f.AggregateID != "" {
		if f.AggregateType == "" {
			return domain.Invalid("aggregateId", "needs aggregateType")
		}
		if !idRE.MatchString(f.AggregateID) {
			return domain.Invalid("aggregateId", "%q is not an aggregate id", f.AggregateID)
		}
	}
	return nil
}

// Subjects returns the NATS subject filters that select f's events
// (sendtrail.<plan>.<aggregate_type>.<aggregate_id>.<type>), one per type.
func (f Filter) Subjects() []string {
	agg, id := "*", "*"
	if f.AggregateType != "" {
		agg = f.AggregateType
	}
	if f.AggregateID != "" {
		id = f.AggregateID
	}
	if len(f.Types) == 0 {
		if agg == "*" {
			return []string{eventpb.PlanFilter(f.Plan)}
		}
		return []string{fmt.Sprintf("sendtrail.%s.%s.%s.*", f.Plan, agg, id)}
	}
	types := slices.Clone(f.Types)
	slices.Sort(types)
	types = slices.Compact(types)
	out := make([]string, len(types))
	for i, t := range types {
		out[i] = fmt.Sprintf("sendtrail.%s.%s.%s.%s", f.Plan, agg, id, t)
	}
	return out
}

// Event is a stored event decoded and described for subscribers.
type Event struct {
	Sequence uint64
	Subject  string          // the NATS subject it is stored on
	Envelope domain.Envelope // decoded; Event is nil for a type this version does not know
	Proto    *pb.Envelope    // as stored, a token's hash left out
	Entry    *pb.HistoryEntry
}

// Describer decodes and describes stored events. It keeps the states of
// the aggregates it has seen, each with the sequence it is complete up to,
// and reads from the stream only the events an aggregate had since. It is
// safe for concurrent use.
type Describer struct {
	store *eventstore.Store

	mu    sync.Mutex
	cache map[string]cached // by aggregate subject filter
}

type cached struct {
	state domain.State
	upTo  uint64 // every event of the aggregate up to this sequence is folded in
}

// maxCached bounds the state cache; past it the cache is cleared.
const maxCached = 20000

// NewDescriber returns a Describer reading aggregates from store.
func NewDescriber(store *eventstore.Store) *Describer {
	return &Describer{store: store, cache: map[string]cached{}}
}

// Describe decodes and describes a stored event. An event whose payload
// does not decode into the domain (a type this version does not know, a
// malformed value) is still described, from its envelope, with what can
// be told of it.
// Errors: bytes that are not an envelope; ErrUnavailable reading the
// aggregate's earlier events.
func (d *Describer) Describe(ctx context.Context, m eventstore.Stored) (Event, error) {
	var p pb.Envelope
	if err := proto.Unmarshal(m.Data, &p); err != nil {
		return Event{}, fmt.Errorf("feed: event at sequence %d: %w", m.Sequence, err)
	}
	env, err := eventpb.FromProto(&p)
	if err != nil {
		env.Event = nil
	}
	env.Sequence = m.Sequence
	typ := p.GetType()
	if env.Event != nil {
		typ = env.Event.Type()
	} else if typ == "" {
		typ = m.Subject[strings.LastIndexByte(m.Subject, '.')+1:]
	}
	var prev, next domain.State
	if env.Event != nil && domain.NewState(env.AggregateType) != nil {
		if prev, err = d.state(ctx, env); err != nil {
			return Event{}, err
		}
		next = domain.Evolve(prev, env)
		d.remember(eventpb.Filter(env.Plan, env.AggregateType, env.AggregateID), next, env.Sequence)
	}
	desc := projections.Describe(env, typ, prev, next)
	return Event{
		Sequence: m.Sequence,
		Subject:  m.Subject,
		Envelope: env,
		Proto:    redact(&p),
		Entry: &pb.HistoryEntry{
			Sequence: m.Sequence, EventId: p.GetEventId(), Type: typ,
			OccurredAt: p.GetOccurredAt(), RecordedAt: p.GetRecordedAt(), Actor: p.GetActor(),
			Before: desc.Before, After: desc.After, Reason: desc.Reason, ReasonCategory: desc.Category,
			Commentary: desc.Commentary, Summary: desc.Summary, CorrelationId: p.GetCorrelationId(),
			AggregateType: p.GetAggregateType(), AggregateId: p.GetAggregateId(), Subject: desc.SubjectRef,
		},
	}, nil
}

// state returns the aggregate's state before env.
func (d *Describer) state(ctx context.Context, env domain.Envelope) (domain.State, error) {
	filter := eventpb.Filter(env.Plan, env.AggregateType, env.AggregateID)
	d.mu.Lock()
	c, ok := d.cache[filter]
	d.mu.Unlock()
	if !ok || c.upTo >= env.Sequence {
		c = cached{state: domain.NewState(env.AggregateType)}
	}
	if env.Sequence <= c.upTo+1 {
		return c.state, nil
	}
	msgs, err := d.store.LoadBetween(ctx, filter, c.upTo+1, env.Sequence-1)
	if err != nil {
		return nil, err
	}
	st := c.state
	for _, m := range msgs {
		e, err := eventpb.Unmarshal(m.Data, m.Sequence)
		if err != nil || e.Event == nil {
			continue // as the read model: what does not decode changes no state
		}
		st = domain.Evolve(st, e)
	}
	return st, nil
}

func (d *Describer) remember(filter string, st domain.State, upTo uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.cache[filter]; ok && c.upTo >= upTo {
		return
	}
	if len(d.cache) >= maxCached {
		clear(d.cache)
	}
	d.cache[filter] = cached{state: st, upTo: upTo}
}

// redact leaves out what no subscriber needs and the read model never
// shows: a token's hash.
func redact(p *pb.Envelope) *pb.Envelope {
	if t := p.GetTokenIssued(); t != nil && t.GetHash() != "" {
		c := proto.Clone(p).(*pb.Envelope)
		c.GetTokenIssued().Hash = ""
		return c
	}
	return p
}

// Actor is who made a change.
type Actor struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	Role        string `json:"role"`
}

// Record is an event as JSON for people and scripts: one line of
// `sendtrail watch`, the data of a webhook's CloudEvent.
type Record struct {
	Sequence      uint64    `json:"sequence"`
	EventID       string    `json:"eventId"`
	Type          string    `json:"type"`
	Plan          string    `json:"plan"`
	AggregateType string    `json:"aggregateType"`
	AggregateID   string    `json:"aggregateId"`
	Ref           string    `json:"ref"` // the action's ref or the indicator's name, "" for other aggregates
	Before        string    `json:"before"`
	After         string    `json:"after"`
	Reason        string    `json:"reason"`
	Category      string    `json:"category"`   // a deadline move's reason category
	Commentary    string    `json:"commentary"` // a RAG change's commentary
	Summary       string    `json:"summary"`
	Actor         Actor     `json:"actor"`
	OccurredAt    time.Time `json:"occurredAt"`
	RecordedAt    time.Time `json:"recordedAt"`
	CorrelationID string    `json:"correlationId"`
	NatsSubject   string    `json:"natsSubject"`
}

// RecordOf returns the JSON form of a described event.
func RecordOf(plan, natsSubject string, e *pb.HistoryEntry) Record {
	t := func(ts *timestamppb.Timestamp) time.Time {
		if ts == nil {
			return time.Time{}
		}
		return ts.AsTime().UTC()
	}
	return Record{
		Sequence: e.GetSequence(), EventID: e.GetEventId(), Type: e.GetType(), Plan: plan,
		AggregateType: e.GetAggregateType(), AggregateID: e.GetAggregateId(), Ref: e.GetSubject(),
		Before: e.GetBefore(), After: e.GetAfter(), Reason: e.GetReason(), Category: e.GetReasonCategory(),
		Commentary: e.GetCommentary(), Summary: e.GetSummary(),
		Actor:      Actor{ID: e.GetActor().GetId(), DisplayName: e.GetActor().GetDisplayName(), Role: e.GetActor().GetRole()},
		OccurredAt: t(e.GetOccurredAt()), RecordedAt: t(e.GetRecordedAt()), CorrelationID: e.GetCorrelationId(),
		NatsSubject: natsSubject,
	}
}
