package main

import (
	"context"

	"github.com/sendtrail/sendtrail/projections"
)

// The reports section of `sendtrail bench`: a read model of --events
// events for a plan of 150 actions and 50 indicators over three years, then
// p50/p99 of every report and of the as-of queries (200 calls each).
func init() {
	registerBench("reports", func(ctx context.Context, dir string, events int) (any, error) {
		return projections.BenchReports(ctx, dir, events, 200)
	})
}
