package eventstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Stored is a message as the stream holds it.
type Stored struct {
	Sequence uint64
	Subject  string
	MsgID    string // Nats-Msg-Id, "" if none
	Data     []byte
	Header   nats.Header // as published: the caller's, Nats-Msg-Id, the expectation, AppendAll's batch headers; nil if none
	Time     time.Time   // when the stream stored it, UTC
}

// Headers the server adds to a message when it answers a direct get; they
// are not part of the stored message.
var directGetHeaders = []string{
	jetstream.StreamHeader, jetstream.SequenceHeader, jetstream.TimeStampHeaer,
	jetstream.SubjectHeader, "Nats-Num-Pending", "Nats-Last-Sequence",
}

// Load returns the messages matching filter ("" = all), in stream order,
// with sequence <= upTo (0 = no bound). It reads with batched direct gets
// and returns at once when nothing matches.
// Errors: ErrInvalid for a malformed filter; ErrUnavailable.
func (s *Store) Load(ctx context.Context, filter string, upTo uint64) ([]Stored, error) {
	return s.loadRange(ctx, filter, 1, upTo)
}

// LoadFrom returns every message on filter with a sequence from from on, in
// stream order. The command handler uses it to read an aggregate's tail
// after the prefix it already holds (JetStream indexes only a subject's
// first and last message, so a filtered read scans from where it starts).
//
// Errors: as Load.
func (s *Store) LoadFrom(ctx context.Context, filter string, from uint64) ([]Stored, error) {
	return s.loadRange(ctx, filter, max(from, 1), 0)
}

func (s *Store) loadRange(ctx context.Context, filter string, from, upTo uint64) ([]Stored, error) {
	if filter != "" && !server.IsValidSubject(filter) {
		return nil, fmt.Errorf("%w: filter %q", ErrInvalid, filter)
	}
	var out []Stored
	for seq := from; ; {
		batch := s.pageSize
		if upTo > 0 {
			if seq > upTo {
				return out, nil
			}
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
			return out, nil
		}
		seq = page[len(page)-1].Sequence + 1
	}
}

// directBatch asks the stream for up to batch messages matching filter from
// sequence seq on, and returns them with the number of matching messages
// left after them.
func (s *Store) directBatch(ctx context.Context, seq uint64, filter string, batch int) ([]Stored, uint64, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
	}
	req, err := json.Marshal(struct {
		Seq      uint64 `json:"seq"`
		NextFor  string `json:"next_by_subj,omitempty"`
		Batch    int    `json:"batch"`
		MaxBytes int    `json:"max_bytes"`
	}{seq, filter, batch, 8 << 20})
	if err != nil {
		return nil, 0, err
	}
	inbox := s.nc.NewInbox()
	sub, err := s.nc.SubscribeSync(inbox)
	if err != nil {
		return nil, 0, err
	}
	defer sub.Unsubscribe()
	// Never drop part of an answer: its size is bounded by MaxBytes.
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		return nil, 0, err
	}
	if err := s.nc.PublishRequest("$JS.API.DIRECT.GET."+s.name, inbox, req); err != nil {
		return nil, 0, err
	}
	var page []Stored
	for {
		m, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			return nil, 0, err
		}
		switch status := m.Header.Get("Status"); status {
		case "":
			st, err := fromDirect(m)
			if err != nil {
				return nil, 0, err
			}
			page = append(page, st)
		case "204": // end of batch
			pending, _ := strconv.ParseUint(m.Header.Get("Nats-Num-Pending"), 10, 64)
			return page, pending, nil
		case "404": // nothing matches
			return page, 0, nil
		case "503":
			return nil, 0, nats.ErrNoResponders
		default:
			return nil, 0, fmt.Errorf("direct get: %s %s", status, m.Header.Get("Description"))
		}
	}
}

func fromDirect(m *nats.Msg) (Stored, error) {
	seq, err := strconv.ParseUint(m.Header.Get(jetstream.SequenceHeader), 10, 64)
	if err != nil {
		return Stored{}, fmt.Errorf("direct get: sequence: %w", err)
	}
	ts, err := time.Parse(time.RFC3339Nano, m.Header.Get(jetstream.TimeStampHeaer))
	if err != nil {
		return Stored{}, fmt.Errorf("direct get: time: %w", err)
	}
	return stored(seq, m.Header.Get(jetstream.SubjectHeader), m.Data, m.Header, ts, true), nil
}

// stored builds a Stored, dropping the headers a direct get adds.
func stored(seq uint64, subject string, data []byte, h nats.Header, ts time.Time, direct bool) Stored {
	if direct {
		for _, k := range directGetHeaders {
			h.Del(k)
		}
	}
	if len(h) == 0 {
		h = nil
	}
	return Stored{
		Sequence: seq,
		Subject:  subject,
		MsgID:    h.Get(jetstream.MsgIDHeader),
		Data:     data,
		Header:   h,
		Time:     ts.UTC(),
	}
}

// Last returns the last message matching filter (wildcards allowed).
// Errors: ErrNotFound when none matches; ErrInvalid for a malformed
// filter; ErrUnavailable.
func (s *Store) Last(ctx context.Context, filter string) (Stored, error) {
	if !server.IsValidSubject(filter) {
		return Stored{}, fmt.Errorf("%w: filter %q", ErrInvalid, filter)
	}
	m, err := s.stream.GetLastMsgForSubject(ctx, filter)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return Stored{}, fmt.Errorf("%w: no message on %s", ErrNotFound, filter)
	}
	if err != nil {
		return Stored{}, wrap("last "+filter, err)
	}
	return stored(m.Sequence, m.Subject, m.Data, m.Header, m.Time, true), nil
}

// Read follows the stream: it calls fn with the messages matching filter
// ("" = all) from sequence from on (0 or 1 = the first), in order and in
// batches of what is available at once (up to 1000), and keeps following
// new messages until ctx ends. Each batch is a new slice fn may keep.
// Errors: ctx.Err() when ctx ends; fn's error, returned as is;
// ErrInvalid for a malformed filter; ErrUnavailable.
func (s *Store) Read(ctx context.Context, from uint64, filter string, fn func([]Stored) error) error {
	if filter != "" && !server.IsValidSubject(filter) {
		return fmt.Errorf("%w: filter %q", ErrInvalid, filter)
	}
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
	if from > 1 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, from
	}
	if filter != "" {
		cfg.FilterSubjects = []string{filter}
	}
	cons, err := s.stream.OrderedConsumer(ctx, cfg)
	if err != nil {
		return wrap("read", err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(s.pageSize))
	if err != nil {
		return wrap("read", err)
	}

	// A pump moves messages from the iterator into msgs, so that the loop
	// below can gather a batch without blocking once the stream is caught up.
	type delivery struct {
		Stored
		pending uint64 // messages on the filter after this one, at delivery
	}
	pumpCtx, stopPump := context.WithCancel(ctx)
	msgs := make(chan delivery, s.pageSize)
	pumpDone := make(chan struct{})
	var pumpErr error
	go func() {
		defer close(pumpDone)
		defer close(msgs)
		for {
			m, err := it.Next(jetstream.NextContext(pumpCtx))
			if err != nil {
				pumpErr = err
				return
			}
			meta, err := m.Metadata()
			if err != nil {
				pumpErr = err
				return
			}
			d := delivery{stored(meta.Sequence.Stream, m.Subject(), m.Data(), m.Headers(), meta.Timestamp, false), meta.NumPending}
			select {
			case msgs <- d:
			case <-pumpCtx.Done():
				return
			}
		}
	}()
	defer func() {
		stopPump()
		it.Stop() // also ends a consumer reset that the pump may be waiting on
		select {
		case <-pumpDone:
		case <-time.After(time.Second): // a reset in progress; the pump ends with it
		}
	}()

	for {
		// Wait for the first message; then take more while the server
		// reports more pending (catching up) or while they are at hand.
		var batch []Stored
		var pending uint64
		closed := false
	gather:
		for len(batch) < s.pageSize {
			var d delivery
			var ok bool
			if len(batch) == 0 || pending > 0 {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case d, ok = <-msgs:
				}
			} else {
				select {
				case d, ok = <-msgs:
				default:
					break gather
				}
			}
			if !ok {
				closed = true
				break
			}
			batch = append(batch, d.Stored)
			pending = d.pending
		}
		if len(batch) > 0 {
			if err := fn(batch); err != nil {
				return err
			}
		}
		if closed {
			if err := ctx.Err(); err != nil {
				return err
			}
			if pumpErr == nil {
				pumpErr = errors.New("stopped")
			}
			return wrap("read", pumpErr)
		}
	}
}
