package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sendtrail/sendtrail/domain"
	"github.com/sendtrail/sendtrail/eventstore"
)

// Attempt outcomes and triggers, as the log keeps them.
const (
	OutcomeDelivered = "delivered" // the receiver answered 2xx
	OutcomeRetry     = "retry"     // failed; another attempt is scheduled
	OutcomeParked    = "parked"    // failed for longer than the retry window: the webhook is parked
	OutcomeFailed    = "failed"    // a replay of a past event failed (nothing is scheduled)
	OutcomeResumed   = "resumed"   // not an attempt: an admin resumed the parked webhook here

	TriggerSchedule = "schedule"
	TriggerReplay   = "replay"
)

// MaxResponse is how much of a receiver's answer the log keeps.
const MaxResponse = 512

// Attempt is one delivery attempt, as the log keeps it.
type Attempt struct {
	Webhook    string     `json:"webhook"`
	Sequence   uint64     `json:"seq"`
	EventID    string     `json:"eventId,omitempty"`
	Type       string     `json:"type,omitempty"`
	Subject    string     `json:"subject,omitempty"`
	At         time.Time  `json:"at"`
	Number     int        `json:"n,omitempty"`
	StatusCode int        `json:"status,omitempty"`
	Error      string     `json:"error,omitempty"`
	Response   string     `json:"response,omitempty"`
	Duration   int64      `json:"ms,omitempty"`
	Outcome    string     `json:"outcome"`
	Trigger    string     `json:"trigger,omitempty"`
	NextAt     *time.Time `json:"nextAt,omitempty"`
	By         string     `json:"by,omitempty"` // who resumed or replayed
}

func (a Attempt) ok() bool { return a.Error == "" && a.StatusCode >= 200 && a.StatusCode < 300 }

// delay is the wait before the attempt after the n-th failed one: random
// up to min(Max, Base·2^(n-1)), at least a millisecond.
func (r Retry) delay(n int) time.Duration {
	ceiling := r.Max
	if n < 1 {
		n = 1
	}
	if n <= 40 {
		if d := r.Base << (n - 1); d > 0 && d < r.Max {
			ceiling = d
		}
	}
	return max(time.Millisecond, rand.N(ceiling+1))
}

// loop delivers to one webhook until ctx ends, one message at a time.
func (s *Service) loop(ctx context.Context, h *hook) {
	defer close(h.done)
	for ctx.Err() == nil {
		cons, err := s.js.Consumer(ctx, s.stream, ConsumerName(h.id))
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			// Deleted: by another instance removing the webhook (this one
			// sees the removal shortly), or by an operator. Recreate it
			// only for a webhook that is still registered.
			if _, rerr := s.registration(ctx, h.plan, h.id); domain.ErrorCode(rerr) == domain.ENOTFOUND {
				return
			}
			cons, err = s.ensureConsumer(ctx, h)
		}
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("webhook consumer", "webhook", h.id, "err", err)
			}
			sleep(ctx, time.Second)
			continue
		}
		// One message per pull, each pull waiting at most pullWait: a
		// message the server hands over is always read and settled (acked,
		// or naked at shutdown) rather than left to its ack wait, and a
		// consumer resumed here or by another instance (which does not wake
		// a waiting pull) is served by the next pull.
		for ctx.Err() == nil {
			batch, err := cons.Fetch(1, jetstream.FetchMaxWait(pullWait))
			if err != nil {
				s.log.Warn("webhook pull", "webhook", h.id, "err", err)
				break
			}
			for msg := range batch.Messages() {
				if ctx.Err() != nil {
					nakNow(msg) // stopping: the next run delivers it at once
					continue
				}
				s.handle(ctx, h, msg)
			}
			if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, nats.ErrTimeout) {
				if ctx.Err() == nil {
					s.log.Warn("webhook pull", "webhook", h.id, "err", err)
				}
				break
			}
		}
		sleep(ctx, 10*time.Millisecond)
	}
}

// nakNow hands a message back for redelivery at once. A plain nak only
// queues it in the server's memory: after a server restart it would wait
// out its ack wait; a nak with a delay is stored with the consumer.
func nakNow(msg jetstream.Msg) { _ = msg.NakWithDelay(time.Millisecond) }

// pullWait bounds how long one pull waits for a message: how soon a loop
// sees its consumer resumed, and how long stopping may take.
const pullWait = time.Second

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// handle makes one scheduled attempt and settles the message: ack when
// delivered, a delayed redelivery when it failed, parking when it has
// failed for the whole retry window.
func (s *Service) handle(ctx context.Context, h *hook, msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		s.log.Error("webhook message without metadata", "webhook", h.id, "err", err)
		_ = msg.NakWithDelay(time.Second)
		return
	}
	st := eventstore.Stored{Sequence: meta.Sequence.Stream, Subject: msg.Subject(), Data: msg.Data(), Time: meta.Timestamp}
	var start time.Time
	n := 0
	if meta.NumDelivered > 1 { // tried before: by this run, an earlier one or another instance
		start, n = s.prior(ctx, h.id, st.Sequence)
	}
	att := s.attempt(ctx, h, st, n+1, TriggerSchedule)
	if ctx.Err() != nil && !att.ok() {
		nakNow(msg) // shutting down: not an attempt; the next run delivers it at once
		return
	}
	if att.ok() {
		att.Outcome = OutcomeDelivered
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		err := msg.DoubleAck(actx)
		cancel()
		if err != nil {
			// Delivered but not acknowledged: it comes again (at least once).
			s.log.Warn("webhook ack", "webhook", h.id, "sequence", st.Sequence, "err", err)
		}
		s.record(ctx, att)
		return
	}
	if start.IsZero() {
		start = att.At
	}
	now := s.cfg.Now()
	if now.Sub(start) >= s.cfg.Retry.For {
		att.Outcome = OutcomeParked
		s.record(ctx, att)
		reason := fmt.Sprintf("event %d failed for %s (%d attempts, last: %s)", st.Sequence, roughly(now.Sub(start)), att.Number, att.Error)
		if err := s.park(ctx, h.id, st.Sequence, reason); err != nil {
			s.log.Error("park webhook", "webhook", h.id, "err", err)
			_ = msg.NakWithDelay(s.cfg.Retry.Max)
			return
		}
		nakNow(msg) // redelivered as soon as the webhook is resumed
		s.log.Warn("webhook parked", "webhook", h.id, "sequence", st.Sequence, "reason", reason)
		return
	}
	d := s.cfg.Retry.delay(att.Number)
	next := now.Add(d).UTC()
	att.Outcome, att.NextAt = OutcomeRetry, &next
	s.record(ctx, att)
	_ = msg.NakWithDelay(d)
}

// attempt POSTs the event at st to the webhook once.
func (s *Service) attempt(ctx context.Context, h *hook, st eventstore.Stored, n int, trigger string) Attempt {
	att := Attempt{Webhook: h.id, Sequence: st.Sequence, At: s.cfg.Now().UTC(), Number: n, Trigger: trigger}
	ev, err := s.describer.Describe(ctx, st)
	if err != nil {
		att.Error = "cannot read the event: " + err.Error()
		return att
	}
	att.EventID, att.Type, att.Subject = ev.Entry.GetEventId(), ev.Entry.GetType(), ev.Entry.GetSubject()
	secret, err := s.secret(ctx, h.id)
	if err != nil {
		att.Error = err.Error()
		return att
	}
	body, err := json.Marshal(NewCloudEvent(ev))
	if err != nil {
		att.Error = "cannot encode the event: " + err.Error()
		return att
	}
	att.At = s.cfg.Now().UTC()
	sig, err := Sign(secret, att.EventID, att.At, body)
	if err != nil {
		att.Error = err.Error()
		return att
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(body))
	if err != nil {
		att.Error = err.Error()
		return att
	}
	req.Header.Set("Content-Type", "application/cloudevents+json; charset=utf-8")
	req.Header.Set("User-Agent", "sendtrail-webhooks/1")
	req.Header.Set("webhook-id", att.EventID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(att.At.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	began := time.Now()
	resp, err := s.client.Do(req)
	att.Duration = time.Since(began).Milliseconds()
	if err != nil {
		att.Error = err.Error()
		return att
	}
	defer resp.Body.Close()
	att.StatusCode = resp.StatusCode
	b, _ := io.ReadAll(io.LimitReader(resp.Body, MaxResponse))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	for len(b) > 0 && !utf8.Valid(b) {
		b = b[:len(b)-1] // cut inside a character
	}
	att.Response = string(b)
	if !att.ok() {
		att.Error = "HTTP " + resp.Status
	}
	return att
}

// record appends an attempt to the webhook's log.
func (s *Service) record(ctx context.Context, a Attempt) {
	b, err := json.Marshal(a)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := s.js.Publish(ctx, logSubject+"."+a.Webhook, b); err != nil {
		s.log.Warn("webhook attempt log", "webhook", a.Webhook, "err", err)
	}
}

// readLog returns the webhook's logged attempts, oldest first.
func (s *Service) readLog(ctx context.Context, id string) ([]Attempt, error) {
	subj := logSubject + "." + id
	info, err := s.logs.Info(ctx, jetstream.WithSubjectFilter(subj))
	if err != nil {
		return nil, fmt.Errorf("webhook log: %w", err)
	}
	total := int(info.State.Subjects[subj])
	if total == 0 {
		return nil, nil
	}
	cons, err := s.logs.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subj}})
	if err != nil {
		return nil, fmt.Errorf("webhook log: %w", err)
	}
	out := make([]Attempt, 0, total)
	for len(out) < total {
		batch, err := cons.Fetch(total-len(out), jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return nil, fmt.Errorf("webhook log: %w", err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			var a Attempt
			if json.Unmarshal(m.Data(), &a) == nil {
				out = append(out, a)
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return nil, fmt.Errorf("webhook log: %w", err)
		}
		if got == 0 {
			break
		}
	}
	return out, nil
}

// prior returns when the current run of scheduled attempts at sequence seq
// began and how many it has had: the attempts logged since the webhook was
// last resumed there.
func (s *Service) prior(ctx context.Context, id string, seq uint64) (time.Time, int) {
	log, err := s.readLog(ctx, id)
	if err != nil {
		s.log.Warn("webhook log", "webhook", id, "err", err)
		return time.Time{}, 0
	}
	var start time.Time
	n := 0
	for _, a := range log {
		if a.Sequence != seq {
			continue
		}
		switch {
		case a.Outcome == OutcomeResumed:
			start, n = time.Time{}, 0
		case a.Trigger == TriggerSchedule:
			if start.IsZero() {
				start = a.At
			}
			n = a.Number
		}
	}
	return start, n
}

// roughly rounds a duration for people: to the second from a minute on.
func roughly(d time.Duration) time.Duration {
	if d >= time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(time.Millisecond)
}
