package projections

import (
	"context"
	"testing"
)

// The bench entry point works on a small history (the figures are measured
// by `sendtrail bench --only reports`, not here).
func TestBenchReports(t *testing.T) {
	r, err := BenchReports(context.Background(), t.TempDir(), 6000, 3)
	if err != nil {
		t.Fatal(err)
	}
	q := r["queries"].(map[string]any)
	for _, name := range []string{"deadline_trail", "silent_slips", "slip_analysis", "explain_action", "rag_summary", "kpi_scorecard", "asof_get_plan"} {
		if _, ok := q[name].(map[string]any)["p99_ms"]; !ok {
			t.Errorf("no figures for %s", name)
		}
	}
	if n := r["data_set"].(map[string]any)["events"]; n != 6000 {
		t.Errorf("data set of %v events", n)
	}
}
