package eventstore

import (
	"context"
	"fmt"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
)

// What subscribers need of the stream: following it with several subject
// filters, reading a window of it, finding the next match, and the
// JetStream handle that webhook delivery builds its durable consumers on.

// JetStream returns the JetStream context the store uses, for components
// that keep their own consumers, key-value buckets or streams next to the
// event stream (webhook delivery).
func (s *Store) JetStream() jetstream.JetStream { return s.js }

// StreamName returns the event stream's name (default SENDTRAIL).
func (s *Store) StreamName() string { return s.name }

func validFilters(filters []string) error {
	for _, f := range filters {
		if !server.IsValidSubject(f) {
			return fmt.Errorf("%w: filter %q", ErrInvalid, f)
		}
	}
	return nil
}

// Follow calls fn with each message matching any of filters (none = every
// message) from sequence from on (0 or 1 = the first), one at a time and
// in stream order, and keeps following new messages until ctx ends or fn
// fails. It reads with an ordered consumer, which the server forgets when
// Follow returns.
// Errors: ctx.Err() when ctx ends; fn's error, returned as is;
// ErrInvalid for a malformed filter; ErrUnavailable.
func (s *Store) Follow(ctx context.Context, from uint64, filters []string, fn func(Stored) error) error {
	if err := validFilters(filters); err != nil {
		return err
	}
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy, FilterSubjects: filters}
	if from > 1 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, from
	}
	cons, err := s.stream.OrderedConsumer(ctx, cfg)
	if err != nil {
		return wrap("follow", err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(s.pageSize))
	if err != nil {
		return wrap("follow", err)
	}
	defer it.Stop()
	for {
		m, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return wrap("follow", err)
		}
		meta, err := m.Metadata()
		if err != nil {
			return wrap("follow", err)
		}
		if err := fn(stored(meta.Sequence.Stream, m.Subject(), m.Data(), m.Headers(), meta.Timestamp, false)); err != nil {
			return err
		}
	}
}

// LoadBetween returns the messages matching filter ("" = all) with
// sequences from from to upTo (0 = no bound), in stream order.
// Errors: ErrInvalid for a malformed filter; ErrUnavailable.
func (s *Store) LoadBetween(ctx context.Context, filter string, from, upTo uint64) ([]Stored, error) {
	if filter != "" && !server.IsValidSubject(filter) {
		return nil, fmt.Errorf("%w: filter %q", ErrInvalid, filter)
	}
	from = max(from, 1)
	var out []Stored
	for seq := from; upTo == 0 || seq <= upTo; {
		batch := s.pageSize
		if upTo > 0 {
			batch = int(min(uint64(batch), upTo-seq+1))
		}
		page, pending, err := s.directBatch(ctx, seq, filter, batch)
		if err != nil {
			return nil, wrap("load "+filter, err)
		}
		for _, m := range page {
			if upTo > 0 && m.Sequence > upTo {
				return out, nil
			}
			out = append(out, m)
		}
		if pending == 0 || len(page) == 0 {
			break
		}
		seq = page[len(page)-1].Sequence + 1
	}
	return out, nil
}

// NextMatching returns the first message matching any of filters (none =
// every message) with a sequence from from to upTo (0 = no bound), and
// whether there is one.
// Errors: ErrInvalid for a malformed filter; ErrUnavailable.
func (s *Store) NextMatching(ctx context.Context, from, upTo uint64, filters []string) (Stored, bool, error) {
	if err := validFilters(filters); err != nil {
		return Stored{}, false, err
	}
	if len(filters) == 0 {
		filters = []string{""}
	}
	var best Stored
	found := false
	for _, f := range filters {
		page, _, err := s.directBatch(ctx, max(from, 1), f, 1)
		if err != nil {
			return Stored{}, false, wrap("next "+f, err)
		}
		if len(page) == 0 || (upTo > 0 && page[0].Sequence > upTo) {
			continue
		}
		if !found || page[0].Sequence < best.Sequence {
			best, found = page[0], true
		}
	}
	return best, found, nil
}
