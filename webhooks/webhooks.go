// Package webhooks delivers a plan's events to registered URLs: signed
// CloudEvents 1.0 JSON, at least once, in order, retried with exponential
// backoff and full jitter for at least a day, then parked until an admin
// replays them.
//
// Where things live, all in JetStream next to the event stream, so that
// every sendtrail instance sharing a cluster delivers and sees the same:
//
//   - the registration is an event (WebhookRegistered / WebhookRemoved on
//     sendtrail.<plan>.webhook.<id>.*): URL, types and a SecretRef, never
//     the secret;
//   - the position is a durable JetStream consumer per webhook
//     ("webhook-<id>" on SENDTRAIL, filtered to the plan and the types,
//     explicit acks, at most one unacknowledged message): a delivery is
//     acknowledged once the receiver answered 2xx, so a restart, a crash or
//     another instance taking over loses nothing, and with one message in
//     flight cluster-wide the order is the stream's;
//   - retries are negative acknowledgements with a delay (the consumer
//     redelivers the same message, nothing overtakes it); parking pauses
//     the consumer (server-side, durable) and keeps the message;
//   - the signing secret is in the key-value bucket
//     sendtrail-webhook-secrets (SecretRef "nats-kv:<bucket>/<id>"): any
//     instance can sign, and NATS permissions decide who else can read it
//     (the per-plan service users of `serve --nats-users` cannot);
//   - pause and park state is in the bucket sendtrail-webhook-state;
//   - the attempt log is the stream SENDTRAIL_WEBHOOK_LOG, one subject per
//     webhook, keeping its last 1000 attempts: operational records, not
//     audit facts, so neither in the event stream nor in the read model
//     (which is rebuilt from the event stream alone).
package webhooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/sendtrail/sendtrail/commands"
	"github.com/sendtrail/sendtrail/domain"
	"github.com/sendtrail/sendtrail/eventpb"
	"github.com/sendtrail/sendtrail/eventstore"
	"github.com/sendtrail/sendtrail/feed"
)

// Names of what the service keeps in JetStream.
const (
	SecretsBucket = "sendtrail-webhook-secrets"
	StateBucket   = "sendtrail-webhook-state"
	LogStream     = "SENDTRAIL_WEBHOOK_LOG"
	logSubject    = "sendtrail_webhook_log"
	// MaxLogPerWebhook is how many attempts the log keeps per webhook.
	MaxLogPerWebhook = 1000
)

// ConsumerName is the durable consumer carrying a webhook's position.
func ConsumerName(id string) string { return "webhook-" + id }

// SecretRef is what the WebhookRegistered event keeps of the secret.
func SecretRef(id string) string { return "nats-kv:" + SecretsBucket + "/" + id }

// Retry is the delivery schedule: after the n-th failed attempt the next
// waits a random time up to min(Max, Base·2^(n-1)) (exponential backoff,
// full jitter); a delivery still failing For after its first attempt is
// parked.
type Retry struct {
	Base time.Duration // default 5s
	Max  time.Duration // default 1h
	For  time.Duration // default 24h
}

// DefaultRetry is the production schedule.
var DefaultRetry = Retry{Base: 5 * time.Second, Max: time.Hour, For: 24 * time.Hour}

func (r Retry) withDefaults() Retry {
	if r.Base <= 0 {
		r.Base = DefaultRetry.Base
	}
	if r.Max <= 0 {
		r.Max = DefaultRetry.Max
	}
	if r.Max < r.Base {
		r.Max = r.Base
	}
	if r.For <= 0 {
		r.For = DefaultRetry.For
	}
	return r
}

// Config is what the service needs.
type Config struct {
	Store        *eventstore.Store
	Commands     *commands.Handler
	AllowPrivate bool          // deliver to private, loopback and link-local addresses (--allow-private-webhooks)
	Retry        Retry         // zero fields: DefaultRetry's
	Timeout      time.Duration // per attempt; default 10s
	Resolver     Resolver      // nil: net.DefaultResolver
	Log          *slog.Logger
	Now          func() time.Time
}

// Service registers webhooks and delivers to them.
type Service struct {
	cfg       Config
	js        jetstream.JetStream
	stream    string
	secrets   jetstream.KeyValue
	states    jetstream.KeyValue
	logs      jetstream.Stream
	describer *feed.Describer
	client    *http.Client
	log       *slog.Logger
	ackWait   time.Duration

	mu      sync.Mutex
	hooks   map[string]*hook
	secretC map[string]string
}

// hook is a registered webhook the service delivers to.
type hook struct {
	id, plan, url string
	types         []string
	registered    uint64 // sequence of the registration; deliveries start after it
	cancel        context.CancelFunc
	done          chan struct{}
}

func (h *hook) filter() feed.Filter { return feed.Filter{Plan: h.plan, Types: h.types} }

// New prepares the service: the secrets and state buckets and the attempt
// log stream are created if missing. Call Run to deliver.
// Errors: ErrUnavailable from the store.
func New(ctx context.Context, cfg Config) (*Service, error) {
	cfg.Retry = cfg.Retry.withDefaults()
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	js := cfg.Store.JetStream()
	s := &Service{
		cfg: cfg, js: js, stream: cfg.Store.StreamName(),
		describer: feed.NewDescriber(cfg.Store),
		client:    guardedClient(cfg.AllowPrivate, cfg.Timeout),
		log:       cfg.Log.With("component", "webhooks"),
		ackWait:   cfg.Timeout + 20*time.Second,
		hooks:     map[string]*hook{},
		secretC:   map[string]string{},
	}
	info, err := js.Stream(ctx, s.stream)
	if err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	replicas := info.CachedInfo().Config.Replicas
	if s.secrets, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: SecretsBucket, Description: "sendtrail webhook signing secrets, by webhook id",
		History: 1, Storage: jetstream.FileStorage, Replicas: replicas,
	}); err != nil {
		return nil, fmt.Errorf("webhooks: secrets bucket: %w", err)
	}
	if s.states, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: StateBucket, Description: "sendtrail webhook pause and park state, by webhook id",
		History: 1, Storage: jetstream.FileStorage, Replicas: replicas,
	}); err != nil {
		return nil, fmt.Errorf("webhooks: state bucket: %w", err)
	}
	if s.logs, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: LogStream, Description: "sendtrail webhook delivery attempts, the last 1000 per webhook",
		Subjects: []string{logSubject + ".>"}, Storage: jetstream.FileStorage, Replicas: replicas,
		Retention: jetstream.LimitsPolicy, MaxMsgsPerSubject: MaxLogPerWebhook, Discard: jetstream.DiscardOld,
		MaxMsgs: -1, MaxBytes: -1, AllowDirect: true,
	}); err != nil {
		return nil, fmt.Errorf("webhooks: log stream: %w", err)
	}
	return s, nil
}

// webhookEvents are the subjects of every plan's webhook registrations and
// removals.
var webhookEvents = []string{"sendtrail.*." + string(domain.AggWebhook) + ".*.*"}

// Run follows the registrations and removals of every plan's webhooks
// from the start of the stream, keeps one delivery loop per registered
// webhook, and returns when ctx ends (the loops stopped, each delivery in
// flight handed back to the consumer).
func (s *Service) Run(ctx context.Context) error {
	defer s.stopAll()
	from := uint64(1)
	for {
		err := s.cfg.Store.Follow(ctx, from, webhookEvents, func(m eventstore.Stored) error {
			s.apply(ctx, m)
			from = m.Sequence + 1
			return nil
		})
		if ctx.Err() != nil {
			return nil
		}
		s.log.Warn("following webhook registrations stopped; again in 1s", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

func (s *Service) apply(ctx context.Context, m eventstore.Stored) {
	env, err := eventpb.Unmarshal(m.Data, m.Sequence)
	if err != nil {
		s.log.Error("undecodable webhook event", "sequence", m.Sequence, "err", err)
		return
	}
	switch e := env.Event.(type) {
	case domain.WebhookRegistered:
		s.start(ctx, &hook{id: e.WebhookID, plan: env.Plan, url: e.URL, types: e.Types, registered: m.Sequence})
	case domain.WebhookRemoved:
		s.stop(e.WebhookID)
		s.cleanup(ctx, e.WebhookID)
	}
}

func (s *Service) start(ctx context.Context, h *hook) {
	s.stop(h.id)
	lctx, cancel := context.WithCancel(ctx)
	h.cancel, h.done = cancel, make(chan struct{})
	s.mu.Lock()
	s.hooks[h.id] = h
	s.mu.Unlock()
	go s.loop(lctx, h)
}

func (s *Service) stop(id string) {
	s.mu.Lock()
	h, ok := s.hooks[id]
	delete(s.hooks, id)
	s.mu.Unlock()
	if ok {
		h.cancel()
		<-h.done
	}
}

func (s *Service) stopAll() {
	s.mu.Lock()
	hooks := s.hooks
	s.hooks = map[string]*hook{}
	s.mu.Unlock()
	for _, h := range hooks {
		h.cancel()
	}
	for _, h := range hooks {
		<-h.done
	}
}

// cleanup deletes what a removed webhook leaves: its consumer, secret,
// state and attempt log. It is idempotent.
func (s *Service) cleanup(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.js.DeleteConsumer(ctx, s.stream, ConsumerName(id)); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		s.log.Warn("delete webhook consumer", "webhook", id, "err", err)
	}
	for _, kv := range []jetstream.KeyValue{s.secrets, s.states} {
		if err := kv.Purge(ctx, id); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
			s.log.Warn("purge webhook key", "webhook", id, "err", err)
		}
	}
	if err := s.logs.Purge(ctx, jetstream.WithPurgeSubject(logSubject+"."+id)); err != nil {
		s.log.Warn("purge webhook log", "webhook", id, "err", err)
	}
	s.mu.Lock()
	delete(s.secretC, id)
	s.mu.Unlock()
}

// consumerConfig is a webhook's durable consumer: from the event after its
// registration, its plan's events of its types, one message in flight.
func (s *Service) consumerConfig(h *hook) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:        ConsumerName(h.id),
		Description:    fmt.Sprintf("sendtrail webhook %s (plan %s)", h.id, h.plan),
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    h.registered + 1,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        s.ackWait,
		MaxDeliver:     -1,
		MaxAckPending:  1,
		FilterSubjects: h.filter().Subjects(),
		Metadata:       map[string]string{"sendtrail_webhook": h.id, "sendtrail_plan": h.plan},
	}
}

// ensureConsumer returns the webhook's consumer, creating it if missing.
// An existing one is kept as it is (its position, pause and pending
// message are the delivery state).
func (s *Service) ensureConsumer(ctx context.Context, h *hook) (jetstream.Consumer, error) {
	c, err := s.js.Consumer(ctx, s.stream, ConsumerName(h.id))
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, err
	}
	c, err = s.js.CreateConsumer(ctx, s.stream, s.consumerConfig(h))
	if errors.Is(err, jetstream.ErrConsumerExists) {
		return s.js.Consumer(ctx, s.stream, ConsumerName(h.id))
	}
	return c, err
}

// secret returns a webhook's signing secret.
func (s *Service) secret(ctx context.Context, id string) (string, error) {
	s.mu.Lock()
	sec, ok := s.secretC[id]
	s.mu.Unlock()
	if ok {
		return sec, nil
	}
	e, err := s.secrets.Get(ctx, id)
	if err != nil {
		return "", fmt.Errorf("signing secret of webhook %s: %w", id, err)
	}
	sec = string(e.Value())
	s.mu.Lock()
	s.secretC[id] = sec
	s.mu.Unlock()
	return sec, nil
}

// typesKnown normalises a webhook's types: sorted, without duplicates.
func typesKnown(types []string) []string {
	out := slices.Clone(types)
	slices.Sort(out)
	return slices.Compact(out)
}
