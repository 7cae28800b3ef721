package eventstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

var (
	// ErrConflict means an append's expectation was stale: the aggregate
	// changed since the caller read it. Nothing was written. The error is a
	// *ConflictError carrying the aggregate's current sequence.
	ErrConflict = errors.New("eventstore: changed since you read it")

	// ErrNotFound means no message matches the subject filter.
	ErrNotFound = errors.New("eventstore: not found")

	// ErrUnavailable means the NATS server or the stream could not be reached
	// or did not answer in time (no responders, timeout or context deadline,
	// connection closed, JetStream disabled or without a leader, stream
	// gone). The underlying error stays in the chain.
	ErrUnavailable = errors.New("eventstore: unavailable")

	// ErrInvalid means the caller passed something the store cannot use: an
	// invalid subject or filter, a subject outside its expectation's filter,
	// mismatched slice lengths.
	ErrInvalid = errors.New("eventstore: invalid argument")

	// ErrStreamConfig means an existing stream cannot be made into an audit
	// log without losing data or durability (memory storage, work-queue
	// retention, a mirror, sealed, asynchronous persistence).
	ErrStreamConfig = errors.New("eventstore: incompatible stream configuration")
)

// ConflictError is returned when an append's expected sequence is not the
// last sequence on its filter. errors.Is(err, ErrConflict) reports true.
type ConflictError struct {
	Filter   string // the expectation's subject filter
	Expected uint64 // the sequence the caller expected
	Current  uint64 // the filter's last sequence when the append was refused (0: no message)
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("eventstore: %s changed since you read it: expected sequence %d, current %d",
		e.Filter, e.Expected, e.Current)
}

// Is reports whether target is ErrConflict.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// BatchError is returned by AppendAll: the error of the message at Index.
// It unwraps to that error, so errors.Is(err, ErrConflict) and
// errors.As(err, **ConflictError) work through it.
type BatchError struct {
	Index int
	Err   error
}

func (e *BatchError) Error() string {
	return fmt.Sprintf("%v (batch message %d)", e.Err, e.Index)
}

func (e *BatchError) Unwrap() error { return e.Err }

// wrap prefixes err with the operation and marks transport-level failures
// with ErrUnavailable (keeping the original error in the chain).
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if unavailable(err) {
		return fmt.Errorf("%w: %s: %w", ErrUnavailable, op, err)
	}
	return fmt.Errorf("eventstore: %s: %w", op, err)
}

func unavailable(err error) bool {
	if errors.Is(err, ErrUnavailable) {
		return false // already marked
	}
	for _, target := range []error{
		nats.ErrNoResponders,
		nats.ErrTimeout,
		nats.ErrConnectionClosed,
		nats.ErrConnectionDraining,
		nats.ErrConnectionReconnecting,
		nats.ErrNoServers,
		nats.ErrDisconnected,
		jetstream.ErrNoStreamResponse,
		jetstream.ErrConnectionClosed,
		jetstream.ErrAsyncPublishTimeout,
		jetstream.ErrJetStreamNotEnabled,
		jetstream.ErrJetStreamNotEnabledForAccount,
		jetstream.ErrStreamNotFound,
		context.DeadlineExceeded,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.Code == 503
}

// wrongLastSequence reports whether err is JetStream's refusal of an
// expected last sequence (10071 on R1, 10164 on replicated streams).
func wrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
}
