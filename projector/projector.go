// Package projector feeds the SQLite read model from the stream: it follows
// the stream from the read model's checkpoint and applies what arrives in
// batches, each batch one transaction with its checkpoint.
package projector

import (
	"context"
	"errors"
	"fmt"

	"github.com/sendtrail/sendtrail/eventpb"
	"github.com/sendtrail/sendtrail/eventstore"
	"github.com/sendtrail/sendtrail/projections"
)

// maxMerge bounds how many events queued batches are merged into for one
// transaction while the projector is behind (a rebuild, a catch-up).
const maxMerge = 8000

// Run follows the stream from db's checkpoint until ctx ends, and returns
// ctx.Err() then. It returns early on an event it cannot decode or a
// storage fault; the caller decides whether to stop serving.
//
// Reading and decoding run beside applying: while one batch is being
// applied the next is fetched and decoded, and batches that queue up while
// the projector is behind are merged into one transaction.
func Run(ctx context.Context, store *eventstore.Store, db *projections.DB) error {
	cp, err := db.Checkpoint(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	queue := make(chan []projections.Event, 8)
	applied := make(chan error, 1)
	go func() {
		applied <- apply(ctx, db, queue)
		cancel()
	}()
	err = store.Read(ctx, cp+1, "", func(batch []eventstore.Stored) error {
		evs, err := Decode(batch)
		if err != nil {
			return err
		}
		select {
		case queue <- evs:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(queue)
	if aerr := <-applied; aerr != nil && !errors.Is(aerr, context.Canceled) {
		return aerr
	}
	return err
}

// apply applies batches from queue in order, merging those already
// waiting, until queue is closed.
func apply(ctx context.Context, db *projections.DB, queue <-chan []projections.Event) error {
	for evs := range queue {
	merge:
		for len(evs) < maxMerge {
			select {
			case more, ok := <-queue:
				if !ok {
					break merge
				}
				evs = append(evs, more...)
			default:
				break merge
			}
		}
		if err := db.Apply(ctx, evs); err != nil {
			return err
		}
	}
	return nil
}

// Decode turns stored messages into the read model's events.
func Decode(batch []eventstore.Stored) ([]projections.Event, error) {
	evs := make([]projections.Event, len(batch))
	for i, m := range batch {
		env, err := eventpb.Unmarshal(m.Data, m.Sequence)
		if err != nil {
			return nil, fmt.Errorf("projector: %w", err)
		}
		evs[i] = projections.Event{Envelope: env, Raw: m.Data, Subject: m.Subject}
	}
	return evs, nil
}

// CatchUp applies everything up to the stream's last sequence at the time
// of the call and returns; used by rebuild and tests.
func CatchUp(ctx context.Context, store *eventstore.Store, db *projections.DB) (uint64, error) {
	last, err := store.LastSequence(ctx)
	if err != nil {
		return 0, err
	}
	cp, err := db.Checkpoint(ctx)
	if err != nil || cp >= last {
		return cp, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, store, db) }()
	if err := db.WaitFor(ctx, last); err != nil {
		cancel()
		if rerr := <-done; rerr != nil && rerr != context.Canceled {
			return 0, rerr
		}
		return 0, err
	}
	cancel()
	<-done
	return last, nil
}
