// Package projector feeds the SQLite read model from the stream: it follows
// the stream from the read model's checkpoint and applies what arrives in
// batches, each batch one transaction with its checkpoint.
package projector

import (
	"context"
	"fmt"

	"github.com/sendtrail/sendtrail/eventpb"
	"github.com/sendtrail/sendtrail/eventstore"
	"github.com/sendtrail/sendtrail/projections"
)

// Run follows the stream from db's checkpoint until ctx ends, and returns
// ctx.Err() then. It returns early on an event it cannot decode or a
// storage fault; the caller decides whether to stop serving.
func Run(ctx context.Context, store *eventstore.Store, db *projections.DB) error {
	cp, err := db.Checkpoint(ctx)
	if err != nil {
		return err
	}
	return store.Read(ctx, cp+1, "", func(batch []eventstore.Stored) error {
		evs, err := Decode(batch)
		if err != nil {
			return err
		}
		return db.Apply(ctx, evs)
	})
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
