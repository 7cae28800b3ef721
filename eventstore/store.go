// Package eventstore is sendtrail's byte-level event store on NATS JetStream.
//
// It moves opaque payloads with subjects, message ids and per-aggregate
// concurrency expectations, and knows nothing of protobuf or the domain.
// One stream (default SENDTRAIL, subjects sendtrail.>) is the audit log:
// file storage, no limits, message deletes and purges denied. Appends are
// conditional on the last sequence of the aggregate's subject filter
// (optimistic concurrency) and de-duplicated by Nats-Msg-Id (idempotency).
//
// Errors are sentinels matched with errors.Is: ErrConflict (also a
// *ConflictError), ErrNotFound, ErrUnavailable, ErrInvalid, ErrStreamConfig.
package eventstore

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Config names the stream and its subjects.
type Config struct {
	Stream          string        // default "SENDTRAIL"
	Subjects        []string      // default {"sendtrail.>"}
	Replicas        int           // default 1; 3 on a cluster
	DuplicateWindow time.Duration // default 24h: how long a Nats-Msg-Id de-duplicates
}

func (c Config) withDefaults() Config {
	if c.Stream == "" {
		c.Stream = "SENDTRAIL"
	}
	if len(c.Subjects) == 0 {
		c.Subjects = []string{"sendtrail.>"}
	}
	if c.Replicas <= 0 {
		c.Replicas = 1
	}
	if c.DuplicateWindow <= 0 {
		c.DuplicateWindow = 24 * time.Hour
	}
	return c
}

// streamConfig is the audit-log stream: file storage, no limits, no deletes,
// no purges, no rollups, direct gets for reads.
func (c Config) streamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:              c.Stream,
		Description:       "sendtrail event log: the source of truth (audit log: no limits, no deletes, no purges)",
		Subjects:          slices.Clone(c.Subjects),
		Retention:         jetstream.LimitsPolicy,
		MaxConsumers:      -1,
		MaxMsgs:           -1,
		MaxBytes:          -1,
		MaxAge:            0,
		MaxMsgsPerSubject: -1,
		MaxMsgSize:        -1,
		Discard:           jetstream.DiscardNew,
		Storage:           jetstream.FileStorage,
		Replicas:          c.Replicas,
		Duplicates:        c.DuplicateWindow,
		DenyDelete:        true,
		DenyPurge:         true,
		AllowRollup:       false,
		AllowDirect:       true,
		// Atomic batches let a bulk import fsync once per batch.
		AllowAtomicPublish: true,
	}
}

// Store appends to and reads from the event stream. It is safe for
// concurrent use.
type Store struct {
	nc        *nats.Conn
	js        jetstream.JetStream
	stream    jetstream.Stream
	name      string
	subjects  []string // the stream's subjects
	pageSize  int      // messages per direct-get batch and per Read batch
	inFlight  int      // AppendAll's bound on unacknowledged publishes
	atomic    bool     // the stream takes atomic batches
	batchSize int      // messages per atomic batch
}

const (
	defaultPageSize  = 1000
	defaultInFlight  = 256
	defaultBatchSize = 1000 // the server's default maximum for an atomic batch
)

// Open ensures the stream exists as an audit log and returns a Store on it.
// A missing stream is created. An existing one is tightened where that is
// safe: subjects added, limits removed, deny delete/purge set, rollups
// disallowed, direct gets and atomic batches allowed, the duplicate window
// set, replicas only raised; deny delete and deny purge are never loosened.
// Errors: ErrStreamConfig when the existing stream cannot become an audit
// log without losing data or durability (memory storage, work-queue
// retention, a mirror, sealed, asynchronous persistence); ErrUnavailable.
func Open(ctx context.Context, nc *nats.Conn, cfg Config) (*Store, error) {
	cfg = cfg.withDefaults()
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(4*defaultInFlight),
		jetstream.WithPublishAsyncTimeout(30*time.Second),
	)
	if err != nil {
		return nil, wrap("open", err)
	}
	stream, err := ensureStream(ctx, js, cfg)
	if err != nil {
		return nil, err
	}
	return &Store{
		nc:        nc,
		js:        js,
		stream:    stream,
		name:      cfg.Stream,
		subjects:  stream.CachedInfo().Config.Subjects,
		pageSize:  defaultPageSize,
		inFlight:  defaultInFlight,
		atomic:    stream.CachedInfo().Config.AllowAtomicPublish,
		batchSize: defaultBatchSize,
	}, nil
}

func ensureStream(ctx context.Context, js jetstream.JetStream, cfg Config) (jetstream.Stream, error) {
	stream, err := js.Stream(ctx, cfg.Stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		stream, err = js.CreateStream(ctx, cfg.streamConfig())
		if err == nil {
			return stream, nil
		}
		if !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return nil, wrap("create stream "+cfg.Stream, err)
		}
		stream, err = js.Stream(ctx, cfg.Stream) // lost a creation race
	}
	if err != nil {
		return nil, wrap("stream "+cfg.Stream, err)
	}
	have := stream.CachedInfo().Config
	want, err := reconcile(have, cfg)
	if err != nil {
		return nil, err
	}
	if reflect.DeepEqual(have, want) {
		return stream, nil
	}
	stream, err = js.UpdateStream(ctx, want)
	if err != nil {
		return nil, wrap("update stream "+cfg.Stream, err)
	}
	return stream, nil
}

// reconcile returns have tightened into an audit log for cfg, or
// ErrStreamConfig when that is impossible without losing data.
func reconcile(have jetstream.StreamConfig, cfg Config) (jetstream.StreamConfig, error) {
	refuse := func(why string) (jetstream.StreamConfig, error) {
		return have, fmt.Errorf("%w: stream %s %s", ErrStreamConfig, have.Name, why)
	}
	switch {
	case have.Storage != jetstream.FileStorage:
		return refuse("does not use file storage")
	case have.Retention == jetstream.WorkQueuePolicy:
		return refuse("has work-queue retention")
	case have.Mirror != nil:
		return refuse("is a mirror")
	case have.Sealed:
		return refuse("is sealed")
	case have.PersistMode != jetstream.DefaultPersistMode:
		return refuse("persists asynchronously")
	}
	want := have
	want.Subjects = mergeSubjects(have.Subjects, cfg.Subjects)
	want.Retention = jetstream.LimitsPolicy
	want.MaxMsgs, want.MaxBytes, want.MaxAge, want.MaxMsgsPerSubject = -1, -1, 0, -1
	want.DenyDelete, want.DenyPurge, want.AllowRollup = true, true, false
	want.AllowDirect, want.AllowAtomicPublish = true, true
	want.Duplicates = cfg.DuplicateWindow
	want.Replicas = max(have.Replicas, cfg.Replicas)
	return want, nil
}

// mergeSubjects adds the subjects of want that have does not cover yet and
// drops those of have that a new one covers, so the stream never loses a
// subject and never lists overlapping ones.
func mergeSubjects(have, want []string) []string {
	all := slices.Clone(have)
	for _, w := range want {
		if !slices.ContainsFunc(all, func(h string) bool { return server.SubjectMatchesFilter(w, h) }) {
			all = slices.DeleteFunc(all, func(h string) bool { return server.SubjectMatchesFilter(h, w) })
			all = append(all, w)
		}
	}
	if slices.Equal(all, have) {
		return have
	}
	return all
}

// Ping checks that the stream answers (for readiness probes).
// Errors: ErrUnavailable.
func (s *Store) Ping(ctx context.Context) error {
	_, err := s.stream.Info(ctx)
	return wrap("ping", err)
}

// LastSequence returns the stream's last sequence, 0 when it is empty.
// Errors: ErrUnavailable.
func (s *Store) LastSequence(ctx context.Context) (uint64, error) {
	info, err := s.stream.Info(ctx)
	if err != nil {
		return 0, wrap("last sequence", err)
	}
	return info.State.LastSeq, nil
}
