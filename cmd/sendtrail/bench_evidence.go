package main

import (
	"context"

	"github.com/sendtrail/sendtrail/evidence"
)

// The evidence section of `sendtrail bench`: export and verification of a
// plan of --events events (1,000,000 by default), events per second and
// peak memory of each.
func init() {
	registerBench("evidence", func(ctx context.Context, dir string, events int) (any, error) {
		return evidence.Bench(ctx, dir, events)
	})
}
