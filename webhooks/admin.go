package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sendtrail/sendtrail/commands"
	"github.com/sendtrail/sendtrail/domain"
	"github.com/sendtrail/sendtrail/feed"
)

// Webhook statuses.
const (
	StatusActive  = "active"
	StatusPaused  = "paused"
	StatusParked  = "parked"
	StatusRemoved = "removed"
)

// Delivery statuses (besides delivered, parked and failed, as outcomes).
const StatusRetrying = "retrying"

// State is a webhook's pause or park state, kept in StateBucket. No key
// means active.
type State struct {
	Status         string    `json:"status"` // paused or parked
	Reason         string    `json:"reason,omitempty"`
	Since          time.Time `json:"since"`
	By             string    `json:"by,omitempty"`
	ParkedSequence uint64    `json:"parkedSequence,omitempty"`
}

// Webhook is a registered webhook and how its deliveries stand.
type Webhook struct {
	ID, Plan, URL  string
	Types          []string
	Registered     uint64 // sequence of the registration
	CreatedAt      time.Time
	Status         string // active, paused, parked, removed
	Reason         string
	Since          time.Time
	ParkedSequence uint64
	Delivered      uint64 // stream sequence of the last event acknowledged by the receiver
	Pending        uint64 // events waiting, the one in flight included
}

// Delivery is one event's delivery, with its attempts.
type Delivery struct {
	Sequence               uint64
	EventID, Type, Subject string
	Status                 string // delivered, retrying, parked, failed
	Attempts               []Attempt
	NextAt                 *time.Time
}

// webhookNS derives a webhook id from a client's command id, so that a
// retried AddWebhook registers one webhook.
var webhookNS = uuid.MustParse("0b9c3a55-6f51-4c8e-9d1a-7c2f1e4b8a63")

var webhookIDRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func target(plan, id string) commands.Target {
	return commands.Target{Plan: plan, Type: domain.AggWebhook, ID: id}
}

// registration returns a webhook registered on plan.
// Errors: EINVALID for a malformed plan or id; ENOTFOUND.
func (s *Service) registration(ctx context.Context, plan, id string) (*hook, error) {
	if err := domain.ValidateSlug(plan); err != nil {
		return nil, err
	}
	if !webhookIDRE.MatchString(id) {
		return nil, domain.Invalid("webhookId", "%q is not a webhook id", id)
	}
	st, err := s.cfg.Commands.State(ctx, target(plan, id))
	if err != nil {
		return nil, err
	}
	ws, ok := st.(domain.WebhookState)
	if !ok || !ws.Exists() {
		return nil, &domain.Error{Code: domain.ENOTFOUND, Field: "webhookId", Message: fmt.Sprintf("plan %s has no webhook %s", plan, id)}
	}
	r := ws.Registered()
	return &hook{id: id, plan: plan, url: r.URL, types: r.Types, registered: ws.Version()}, nil
}

// Add registers a webhook: it checks the URL (http or https; public
// addresses only unless AllowPrivate) and the types, keeps a new signing
// secret, records WebhookRegistered and creates the webhook's consumer, so
// every event recorded after the registration is delivered. A retry with
// the same command id answers the same webhook and secret.
// Errors: EINVALID (url, types); ENOTFOUND for an unknown plan;
// EUNAVAILABLE.
func (s *Service) Add(ctx context.Context, plan, rawURL string, types []string, meta commands.Meta) (Webhook, string, commands.Result, error) {
	types = typesKnown(types)
	if err := (feed.Filter{Plan: plan, Types: types}).Validate(); err != nil {
		return Webhook{}, "", commands.Result{}, err
	}
	if err := CheckURL(ctx, rawURL, s.cfg.AllowPrivate, s.cfg.Resolver); err != nil {
		return Webhook{}, "", commands.Result{}, err
	}
	var id string
	if meta.CommandID != "" {
		id = uuid.NewSHA1(webhookNS, []byte(plan+"\x00"+meta.CommandID)).String()
	} else {
		u, err := uuid.NewV7()
		if err != nil {
			return Webhook{}, "", commands.Result{}, err
		}
		id = u.String()
	}
	secret, created, err := s.ensureSecret(ctx, id)
	if err != nil {
		return Webhook{}, "", commands.Result{}, unavailable(err)
	}
	res, err := s.cfg.Commands.Execute(ctx, target(plan, id), domain.RegisterWebhook{
		WebhookID: id, URL: rawURL, Types: types, SecretRef: SecretRef(id),
	}, meta)
	if err != nil {
		if created {
			_ = s.secrets.Purge(context.WithoutCancel(ctx), id)
		}
		return Webhook{}, "", commands.Result{}, err
	}
	h := &hook{id: id, plan: plan, url: rawURL, types: types, registered: res.Sequence}
	if _, err := s.ensureConsumer(ctx, h); err != nil {
		// The delivery loop creates it when it sees the registration.
		s.log.Warn("webhook consumer", "webhook", id, "err", err)
	}
	w := s.Status(ctx, Webhook{ID: id, Plan: plan, URL: rawURL, Types: types, Registered: res.Sequence, CreatedAt: s.cfg.Now().UTC()})
	return w, secret, res, nil
}

func (s *Service) ensureSecret(ctx context.Context, id string) (string, bool, error) {
	if e, err := s.secrets.Get(ctx, id); err == nil {
		return string(e.Value()), false, nil
	} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", false, err
	}
	secret, err := NewSecret()
	if err != nil {
		return "", false, err
	}
	if _, err := s.secrets.Create(ctx, id, []byte(secret)); err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) {
			e, err := s.secrets.Get(ctx, id)
			if err != nil {
				return "", false, err
			}
			return string(e.Value()), false, nil
		}
		return "", false, err
	}
	return secret, true, nil
}

func unavailable(err error) error {
	return &domain.Error{Code: domain.EUNAVAILABLE, Message: "the event store is unavailable: " + err.Error()}
}

// Remove records WebhookRemoved and deletes the webhook's consumer,
// secret, state and attempt log.
// Errors: ENOTFOUND; EUNAVAILABLE.
func (s *Service) Remove(ctx context.Context, plan, id string, meta commands.Meta) (commands.Result, error) {
	if _, err := s.registration(ctx, plan, id); err != nil {
		return commands.Result{}, err
	}
	res, err := s.cfg.Commands.Execute(ctx, target(plan, id), domain.RemoveWebhook{WebhookID: id}, meta)
	if err != nil {
		return commands.Result{}, err
	}
	s.stop(id)
	s.cleanup(ctx, id)
	return res, nil
}

// Status fills in how a webhook's deliveries stand: its pause or park
// state and its consumer's position.
func (s *Service) Status(ctx context.Context, w Webhook) Webhook {
	if w.Status == StatusRemoved {
		return w
	}
	w.Status = StatusActive
	if st, ok, err := s.getState(ctx, w.ID); err == nil && ok {
		w.Status, w.Reason, w.Since, w.ParkedSequence = st.Status, st.Reason, st.Since, st.ParkedSequence
	}
	c, err := s.js.Consumer(ctx, s.stream, ConsumerName(w.ID))
	if err != nil {
		return w
	}
	info := c.CachedInfo()
	w.Pending = info.NumPending + uint64(info.NumAckPending)
	if info.AckFloor.Stream > w.Registered {
		w.Delivered = info.AckFloor.Stream
	}
	if info.Paused && w.Status == StatusActive {
		w.Status, w.Reason = StatusPaused, "its consumer was paused outside sendtrail"
	}
	return w
}

// Get returns a webhook of plan with its status.
// Errors: EINVALID; ENOTFOUND.
func (s *Service) Get(ctx context.Context, plan, id string) (Webhook, error) {
	h, err := s.registration(ctx, plan, id)
	if err != nil {
		return Webhook{}, err
	}
	return s.Status(ctx, h.webhook()), nil
}

func (h *hook) webhook() Webhook {
	return Webhook{ID: h.id, Plan: h.plan, URL: h.url, Types: h.types, Registered: h.registered}
}

func (s *Service) getState(ctx context.Context, id string) (State, bool, error) {
	e, err := s.states.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return State{}, false, nil
	}
	if err != nil {
		return State{}, false, err
	}
	var st State
	if err := json.Unmarshal(e.Value(), &st); err != nil {
		return State{}, false, err
	}
	return st, true, nil
}

func (s *Service) putState(ctx context.Context, id string, st State) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	_, err = s.states.Put(ctx, id, b)
	return err
}

// pauseForever pauses the webhook's consumer until it is resumed.
func (s *Service) pauseForever(ctx context.Context, id string) error {
	_, err := s.js.PauseConsumer(ctx, s.stream, ConsumerName(id), s.cfg.Now().AddDate(100, 0, 0))
	return err
}

// park stops deliveries at sequence seq, which failed for the whole retry
// window, until an admin resumes or replays.
func (s *Service) park(ctx context.Context, id string, seq uint64, reason string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.putState(ctx, id, State{Status: StatusParked, Reason: reason, Since: s.cfg.Now().UTC(), ParkedSequence: seq}); err != nil {
		return err
	}
	return s.pauseForever(ctx, id)
}

// Pause stops deliveries until Resume; events keep queueing on the
// webhook's consumer. Pausing a parked webhook leaves it parked.
// Errors: EINVALID; ENOTFOUND; EUNAVAILABLE.
func (s *Service) Pause(ctx context.Context, plan, id, reason, by string) (Webhook, error) {
	h, err := s.registration(ctx, plan, id)
	if err != nil {
		return Webhook{}, err
	}
	st, ok, err := s.getState(ctx, id)
	if err != nil {
		return Webhook{}, unavailable(err)
	}
	if !ok || st.Status != StatusParked {
		if reason == "" {
			reason = "paused by " + by
		}
		if err := s.putState(ctx, id, State{Status: StatusPaused, Reason: reason, Since: s.cfg.Now().UTC(), By: by}); err != nil {
			return Webhook{}, unavailable(err)
		}
	}
	if _, err := s.ensureConsumer(ctx, h); err != nil {
		return Webhook{}, unavailable(err)
	}
	if err := s.pauseForever(ctx, id); err != nil {
		return Webhook{}, unavailable(err)
	}
	return s.Status(ctx, h.webhook()), nil
}

// Resume restarts deliveries of a paused or parked webhook from the first
// event not yet delivered; a parked delivery starts a new retry window.
// Errors: EINVALID; ENOTFOUND; EUNAVAILABLE.
func (s *Service) Resume(ctx context.Context, plan, id, by string) (Webhook, error) {
	h, err := s.registration(ctx, plan, id)
	if err != nil {
		return Webhook{}, err
	}
	st, ok, err := s.getState(ctx, id)
	if err != nil {
		return Webhook{}, unavailable(err)
	}
	if ok && st.ParkedSequence > 0 {
		// Before the consumer redelivers: the next attempt reads this.
		s.record(ctx, Attempt{Webhook: id, Sequence: st.ParkedSequence, At: s.cfg.Now().UTC(), Outcome: OutcomeResumed, By: by})
	}
	if err := s.states.Purge(ctx, id); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return Webhook{}, unavailable(err)
	}
	if _, err := s.ensureConsumer(ctx, h); err != nil {
		return Webhook{}, unavailable(err)
	}
	if _, err := s.js.ResumeConsumer(ctx, s.stream, ConsumerName(id)); err != nil {
		return Webhook{}, unavailable(err)
	}
	return s.Status(ctx, h.webhook()), nil
}

// Replay sends a delivery again. For a parked webhook and sequence 0 or
// the parked one it resumes deliveries from the parked event (outcome
// "resumed"); for an event the webhook delivers, it sends that event once
// more, now, outside the order of scheduled deliveries (outcome
// "delivered" or "failed", with the attempt).
// Errors: EINVALID; ENOTFOUND; EPRECONDITION for sequence 0 on a webhook
// that is not parked; EUNAVAILABLE.
func (s *Service) Replay(ctx context.Context, plan, id string, seq uint64, by string) (string, *Attempt, Webhook, error) {
	h, err := s.registration(ctx, plan, id)
	if err != nil {
		return "", nil, Webhook{}, err
	}
	st, ok, err := s.getState(ctx, id)
	if err != nil {
		return "", nil, Webhook{}, unavailable(err)
	}
	if ok && st.Status == StatusParked && (seq == 0 || seq == st.ParkedSequence) {
		w, err := s.Resume(ctx, plan, id, by)
		return OutcomeResumed, nil, w, err
	}
	if seq == 0 {
		return "", nil, Webhook{}, &domain.Error{Code: domain.EPRECONDITION, Field: "sequence",
			Message: fmt.Sprintf("webhook %s is not parked: give the sequence of the event to send again", id)}
	}
	msgs, err := s.cfg.Store.LoadBetween(ctx, "", seq, seq)
	if err != nil {
		return "", nil, Webhook{}, unavailable(err)
	}
	if len(msgs) == 0 || msgs[0].Sequence != seq {
		return "", nil, Webhook{}, &domain.Error{Code: domain.ENOTFOUND, Field: "sequence", Message: fmt.Sprintf("no event at sequence %d", seq)}
	}
	if seq <= h.registered || !slices.ContainsFunc(h.filter().Subjects(), func(f string) bool { return server.SubjectMatchesFilter(msgs[0].Subject, f) }) {
		return "", nil, Webhook{}, domain.Invalid("sequence", "the event at sequence %d is not one webhook %s delivers", seq, id)
	}
	att := s.attempt(ctx, h, msgs[0], 1, TriggerReplay)
	att.By = by
	att.Outcome = OutcomeDelivered
	if !att.ok() {
		att.Outcome = OutcomeFailed
	}
	s.record(ctx, att)
	return att.Outcome, &att, s.Status(ctx, h.webhook()), nil
}

// Deliveries returns the webhook's most recent deliveries, newest event
// first, each with its attempts as logged (the last MaxLogPerWebhook
// attempts of the webhook).
// Errors: EINVALID; ENOTFOUND; EUNAVAILABLE.
func (s *Service) Deliveries(ctx context.Context, plan, id string, limit int) ([]Delivery, error) {
	if _, err := s.registration(ctx, plan, id); err != nil {
		return nil, err
	}
	log, err := s.readLog(ctx, id)
	if err != nil {
		return nil, unavailable(err)
	}
	by := map[uint64]*Delivery{}
	for _, a := range log {
		d, ok := by[a.Sequence]
		if !ok {
			d = &Delivery{Sequence: a.Sequence}
			by[a.Sequence] = d
		}
		if a.EventID != "" {
			d.EventID, d.Type, d.Subject = a.EventID, a.Type, a.Subject
		}
		d.Attempts = append(d.Attempts, a)
		d.NextAt = nil
		switch a.Outcome {
		case OutcomeRetry:
			d.Status, d.NextAt = StatusRetrying, a.NextAt
		case OutcomeResumed:
			d.Status = StatusRetrying
		default:
			d.Status = a.Outcome
		}
	}
	out := make([]Delivery, 0, len(by))
	for _, d := range by {
		out = append(out, *d)
	}
	slices.SortFunc(out, func(a, b Delivery) int {
		switch {
		case a.Sequence > b.Sequence:
			return -1
		case a.Sequence < b.Sequence:
			return 1
		}
		return 0
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
