package eventstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// Message is one event to append: an opaque payload on a subject.
type Message struct {
	Subject string      // e.g. sendtrail.bcp-2023-26.action.<uuid>.rag_changed
	MsgID   string      // Nats-Msg-Id: the command id, de-duplicated within the window
	Data    []byte      // the payload, stored as is
	Header  nats.Header // extra headers (may be nil); Nats-* headers set by the store win
}

// Expect is an append's concurrency expectation: the last sequence on an
// aggregate's subject filter.
type Expect struct {
	Filter   string // e.g. sendtrail.bcp-2023-26.action.<uuid>.>; "": no check
	Sequence uint64 // the last sequence on Filter the caller read; 0: no event yet
}

// Appended reports where a message is stored.
type Appended struct {
	Sequence  uint64 // stream sequence of the message
	Duplicate bool   // the MsgID was already stored: nothing new was written
}

// Append stores msg if the last message on exp.Filter has sequence
// exp.Sequence, with Nats-Msg-Id = msg.MsgID.
//
// A message whose MsgID is already stored within the duplicate window is
// not written again: Append returns its original sequence with Duplicate
// set, whether the retry carries a fresh expectation or the stale one of
// the first attempt (a lost ack: a single server checks the expectation
// before de-duplicating, so Append looks the MsgID up on a refusal).
//
// Errors: *ConflictError (errors.Is ErrConflict) carrying the filter's
// current sequence when the expectation is stale, nothing written;
// ErrInvalid for a subject outside the stream or outside exp.Filter;
// ErrUnavailable.
func (s *Store) Append(ctx context.Context, msg Message, exp Expect) (Appended, error) {
	if err := s.validate(msg, exp); err != nil {
		return Appended{}, err
	}
	ack, err := s.js.PublishMsg(ctx, build(msg, exp))
	if err != nil {
		return s.settle(ctx, msg, exp, err)
	}
	return Appended{Sequence: ack.Sequence, Duplicate: ack.Duplicate}, nil
}

// AppendAll appends msgs for bulk import. exps[i] is msgs[i]'s expectation.
// Messages sharing a Filter are one aggregate's events, stored in their
// order: the first carries its own Expect.Sequence, each later one expects
// the sequence of the one before it (their Expect.Sequence is ignored).
// Distinct filters in one call must not overlap (e.g. a plan-wide filter
// and an action's filter).
//
// Where the stream allows atomic batches, messages go in atomic batches of
// up to 1000 (one fsync per batch instead of one per message), the first
// message of each aggregate in a batch carrying the expectation. A batch the
// server refuses as a whole (a stale expectation, a MsgID already stored)
// is appended again message by message to find out which and why. That
// path, also used without atomic batches, pipelines up to 256 publishes,
// publishing each aggregate's next message once the previous one is acked.
//
// It returns one Appended per message, in order. On failure it stops,
// waits for the publishes in flight and returns the results so far (zero
// for messages not stored) with a *BatchError naming the lowest failing
// index; messages already stored stay, so a retry with the same MsgIDs and
// expectations completes the rest (stored ones come back as Duplicate).
//
// Errors: *BatchError wrapping Append's errors (ErrConflict, ErrInvalid,
// ErrUnavailable) or the context's; ErrInvalid when the slice lengths
// differ.
func (s *Store) AppendAll(ctx context.Context, msgs []Message, exps []Expect) ([]Appended, error) {
	if len(msgs) != len(exps) {
		return nil, fmt.Errorf("%w: %d messages, %d expectations", ErrInvalid, len(msgs), len(exps))
	}
	for i := range msgs {
		if err := s.validate(msgs[i], exps[i]); err != nil {
			return nil, &BatchError{Index: i, Err: err}
		}
	}
	results := make([]Appended, len(msgs))
	if !s.atomic {
		return results, s.pipeline(ctx, msgs, exps, 0, nil, results)
	}
	last := make(map[string]uint64) // filter -> sequence of its latest message so far
	for off := 0; off < len(msgs); off += s.batchSize {
		end := min(off+s.batchSize, len(msgs))
		done := false
		if end-off >= minAtomicBatch {
			var err error
			done, err = s.appendAtomic(ctx, msgs[off:end], exps[off:end], last, results[off:end])
			if err != nil {
				return results, &BatchError{Index: off, Err: err}
			}
		}
		if !done {
			if err := s.pipeline(ctx, msgs[off:end], exps[off:end], off, last, results[off:end]); err != nil {
				return results, err
			}
		}
		for i := off; i < end; i++ {
			if f := exps[i].Filter; f != "" {
				last[f] = results[i].Sequence
			}
		}
	}
	return results, nil
}

// Below this many messages an atomic batch costs more than it saves.
const minAtomicBatch = 8

// Headers of an atomic batch publish (ADR-50).
const (
	batchIDHeader     = "Nats-Batch-Id"
	batchSeqHeader    = "Nats-Batch-Sequence"
	batchCommitHeader = "Nats-Batch-Commit"
)

// appendAtomic stores msgs as one atomic batch. The first message on each
// filter expects last[filter], or its own Expect.Sequence when the filter
// has no message yet in this call; the batch's isolation chains the others.
// It reports false, with no error, when the server refused the batch as a
// whole (nothing stored), and fills results when it committed.
func (s *Store) appendAtomic(ctx context.Context, msgs []Message, exps []Expect, last map[string]uint64, results []Appended) (bool, error) {
	id := nuid.Next()
	seen := make(map[string]bool)
	for i, msg := range msgs {
		var exp Expect
		if f := exps[i].Filter; f != "" && !seen[f] {
			seen[f] = true
			exp = exps[i]
			if seq, ok := last[f]; ok {
				exp.Sequence = seq
			}
		}
		m := build(msg, exp)
		m.Header.Set(batchIDHeader, id)
		m.Header.Set(batchSeqHeader, strconv.Itoa(i+1))
		if i < len(msgs)-1 {
			if err := s.nc.PublishMsg(m); err != nil {
				return false, wrap("append batch", err)
			}
			continue
		}
		m.Header.Set(batchCommitHeader, "1")
		ack, err := s.js.PublishMsg(ctx, m)
		var apiErr *jetstream.APIError
		switch {
		case err == nil:
			// A batch is stored at consecutive sequences ending at the ack's.
			first := ack.Sequence - uint64(len(msgs)) + 1
			for j := range results {
				results[j] = Appended{Sequence: first + uint64(j)}
			}
			return true, nil
		case errors.As(err, &apiErr):
			return false, nil
		default:
			return false, wrap("append batch", err)
		}
	}
	return false, nil
}

// pipeline appends msgs with up to s.inFlight asynchronous publishes in
// flight, each filter's messages one after the other. The first message on
// a filter expects last[filter] if set, else its own Expect.Sequence. base
// is the index of msgs[0] in the caller's slice, for errors.
func (s *Store) pipeline(ctx context.Context, msgs []Message, exps []Expect, base int, last map[string]uint64, results []Appended) error {
	// next[i] is the index of the next message on msgs[i]'s filter, or -1.
	type pending struct {
		i   int
		seq uint64
	}
	next := make([]int, len(msgs))
	var ready []pending
	lastOn := make(map[string]int)
	for i, e := range exps {
		next[i] = -1
		if e.Filter == "" {
			ready = append(ready, pending{i, 0})
			continue
		}
		if prev, ok := lastOn[e.Filter]; ok {
			next[prev] = i
		} else {
			seq, ok := last[e.Filter]
			if !ok {
				seq = e.Sequence
			}
			ready = append(ready, pending{i, seq})
		}
		lastOn[e.Filter] = i
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		i   int
		a   Appended
		err error
	}
	done := make(chan result, s.inFlight)
	var wg sync.WaitGroup
	defer wg.Wait()

	var failed *BatchError
	fail := func(i int, err error) {
		if failed == nil || base+i < failed.Index {
			failed = &BatchError{Index: base + i, Err: err}
		}
	}
	inFlight := 0
	for {
		for failed == nil && inFlight < s.inFlight && len(ready) > 0 {
			p := ready[0]
			if err := ctx.Err(); err != nil {
				fail(p.i, wrap("append "+msgs[p.i].Subject, err))
				break
			}
			ready = ready[1:]
			exp := Expect{Filter: exps[p.i].Filter, Sequence: p.seq}
			paf, err := s.js.PublishMsgAsync(build(msgs[p.i], exp))
			if err != nil {
				if s.nc.IsClosed() { // some of these errors are not wrapped
					err = fmt.Errorf("%w: %w", nats.ErrConnectionClosed, err)
				}
				fail(p.i, wrap("append "+msgs[p.i].Subject, err))
				break
			}
			inFlight++
			wg.Add(1)
			go func() {
				defer wg.Done()
				a, err := s.await(ctx, paf, msgs[p.i], exp)
				done <- result{p.i, a, err}
			}()
		}
		if inFlight == 0 {
			break
		}
		r := <-done
		inFlight--
		if r.err != nil {
			fail(r.i, r.err)
			continue
		}
		results[r.i] = r.a
		if j := next[r.i]; j >= 0 {
			ready = append(ready, pending{j, r.a.Sequence})
		}
	}
	if failed != nil {
		return failed
	}
	return nil
}

// await waits for an asynchronous publish's ack and settles a refusal.
func (s *Store) await(ctx context.Context, paf jetstream.PubAckFuture, msg Message, exp Expect) (Appended, error) {
	select {
	case ack := <-paf.Ok():
		return Appended{Sequence: ack.Sequence, Duplicate: ack.Duplicate}, nil
	case err := <-paf.Err():
		return s.settle(ctx, msg, exp, err)
	case <-ctx.Done():
		return Appended{}, wrap("append "+msg.Subject, ctx.Err())
	}
}

// settle turns a refused publish into a result. A wrong last sequence is
// either a conflict or a retry of a message already stored (its first ack
// lost): the last message on the filter has this MsgID, or, if others came
// after it, a probe finds the MsgID in the duplicate window.
func (s *Store) settle(ctx context.Context, msg Message, exp Expect, pubErr error) (Appended, error) {
	if exp.Filter == "" || !wrongLastSequence(pubErr) {
		return Appended{}, wrap("append "+msg.Subject, pubErr)
	}
	var current uint64
	last, err := s.Last(ctx, exp.Filter)
	switch {
	case err == nil:
		if msg.MsgID != "" && last.MsgID == msg.MsgID {
			return Appended{Sequence: last.Sequence, Duplicate: true}, nil
		}
		current = last.Sequence
	case !errors.Is(err, ErrNotFound):
		return Appended{}, err
	}
	if msg.MsgID != "" {
		a, dup, err := s.probe(ctx, msg, Expect{Filter: exp.Filter, Sequence: current})
		if err != nil || dup {
			return a, err
		}
	}
	return Appended{}, &ConflictError{Filter: exp.Filter, Expected: exp.Sequence, Current: current}
}

// probe asks the server whether msg.MsgID is stored, without any chance of
// storing msg: it republishes msg expecting the filter's current sequence
// (so the sequence check passes and de-duplication runs) and a last
// Nats-Msg-Id no message can have (so a message that is not a duplicate is
// refused). It reports dup with the original sequence, or false when the
// MsgID is unknown or the filter moved again meanwhile.
func (s *Store) probe(ctx context.Context, msg Message, exp Expect) (Appended, bool, error) {
	m := build(msg, exp)
	m.Header.Set(jetstream.ExpectedLastMsgIDHeader, "sendtrail-probe-"+nuid.Next())
	ack, err := s.js.PublishMsg(ctx, m)
	switch {
	case err == nil && ack.Duplicate:
		return Appended{Sequence: ack.Sequence, Duplicate: true}, true, nil
	case err == nil:
		// Unreachable: the server refuses the unknown last MsgID. Should
		// it ever store the message, report where rather than a conflict.
		return Appended{Sequence: ack.Sequence}, true, nil
	case wrongLastSequence(err), lastMsgIDMismatch(err):
		return Appended{}, false, nil
	default:
		return Appended{}, false, wrap("append "+msg.Subject, err)
	}
}

func lastMsgIDMismatch(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.ErrorCode(server.JSStreamWrongLastMsgIDErrF)
}

// validate rejects messages the stream would not take or that break the
// aggregate's filter.
func (s *Store) validate(msg Message, exp Expect) error {
	if !server.IsValidLiteralSubject(msg.Subject) {
		return fmt.Errorf("%w: subject %q", ErrInvalid, msg.Subject)
	}
	if !slices.ContainsFunc(s.subjects, func(f string) bool { return server.SubjectMatchesFilter(msg.Subject, f) }) {
		return fmt.Errorf("%w: subject %s is outside stream %s", ErrInvalid, msg.Subject, s.name)
	}
	if exp.Filter == "" {
		if exp.Sequence != 0 {
			return fmt.Errorf("%w: expected sequence %d without a filter", ErrInvalid, exp.Sequence)
		}
		return nil
	}
	if !server.IsValidSubject(exp.Filter) {
		return fmt.Errorf("%w: filter %q", ErrInvalid, exp.Filter)
	}
	if !server.SubjectMatchesFilter(msg.Subject, exp.Filter) {
		return fmt.Errorf("%w: subject %s is outside filter %s", ErrInvalid, msg.Subject, exp.Filter)
	}
	return nil
}

// build makes the NATS message for msg under exp, leaving msg.Header
// untouched.
func build(msg Message, exp Expect) *nats.Msg {
	h := make(nats.Header, len(msg.Header)+5)
	for k, v := range msg.Header {
		h[k] = slices.Clone(v)
	}
	if msg.MsgID != "" {
		h.Set(jetstream.MsgIDHeader, msg.MsgID)
	}
	if exp.Filter != "" {
		h.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(exp.Sequence, 10))
		h.Set(jetstream.ExpectedLastSubjSeqSubjHeader, exp.Filter)
	}
	return &nats.Msg{Subject: msg.Subject, Data: msg.Data, Header: h}
}
