package projections

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/sendtrail/sendtrail/domain"
)

// BenchReports measures the reports and the as-of queries on a long
// history: it builds a read model in dir from GenerateHistory(events) for a
// plan of 150 actions and 50 indicators over three years (1% of the
// decisions back-dated), then times calls of each query (calls each,
// varied arguments) and returns p50/p99 in milliseconds with the data
// set's shape.
func BenchReports(ctx context.Context, dir string, events, calls int) (map[string]any, error) {
	if calls <= 0 {
		calls = 200
	}
	opts := HistoryOptions{Actions: 150, Kpis: 50, Late: 0.01, Months: 36}
	start := time.Now()
	evs, err := GenerateHistory(events, opts)
	if err != nil {
		return nil, err
	}
	gen := time.Since(start)
	path := filepath.Join(dir, "bench-reports.db")
	removeDB(path)
	defer removeDB(path)
	db, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	start = time.Now()
	for i := 0; i < len(evs); i += BenchBatch {
		if err := db.Apply(ctx, evs[i:min(i+BenchBatch, len(evs))]); err != nil {
			return nil, err
		}
	}
	build := time.Since(start)
	shape := map[string]any{"events": len(evs), "actions": opts.Actions, "indicators": opts.Kpis}
	moves, late := 0, 0
	first, last := evs[0].Envelope.OccurredAt, evs[len(evs)-1].Envelope.OccurredAt
	for i, ev := range evs {
		if _, ok := ev.Envelope.Event.(domain.DeadlineMoved); ok {
			moves++
		}
		if i > 0 && ev.Envelope.OccurredAt.Before(evs[i-1].Envelope.OccurredAt) {
			late++
		}
	}
	shape["deadline_moves"], shape["back_dated_events"] = moves, late
	shape["business_time"] = fmt.Sprintf("%s to %s", first.Format("2006-01-02"), last.Format("2006-01-02"))
	evs = nil
	runtime.GC()
	if fi, err := os.Stat(path); err == nil {
		shape["db_bytes"] = fi.Size()
	}

	const plan = "bench-plan"
	rng := uint64(0x2545f4914f6cdd1d)
	next := func() uint64 {
		rng ^= rng << 13
		rng ^= rng >> 7
		rng ^= rng << 17
		return rng
	}
	refs := make([]string, opts.Actions)
	for i := range refs {
		refs[i] = fmt.Sprintf("%d.%d", i%8+1, i/8+1)
	}
	ref := func() string { return refs[next()%uint64(len(refs))] }
	firstDay, lastDay := domain.DateOf(first), domain.DateOf(last)
	span := firstDay.DaysUntil(lastDay)
	pastDay := func() domain.Date { return domain.DateOf(firstDay.Time().AddDate(0, 0, 1+int(next()%uint64(span-1)))) }
	past := func() AsOf { return AsOf{Date: pastDay()} }
	cats := domain.ReasonCategories()
	slipFilter := func(at AsOf) SlipFilter {
		f := SlipFilter{Plan: plan, AsOf: at}
		switch next() % 6 {
		case 1:
			f.Priority = fmt.Sprint(next()%8 + 1)
		case 2:
			f.Category = cats[next()%uint64(len(cats))].String()
		case 3:
			f.MinDays = 60
		case 4:
			d := pastDay()
			f.From, f.To = d, domain.DateOf(d.Time().AddDate(0, 3, 0))
		case 5:
			f.Lead = "Mary Diffey"
		}
		return f
	}
	results := map[string]any{}
	type query struct {
		name string
		f    func() (int, error) // returns the answer's size
	}
	queries := []query{
		{"deadline_trail", func() (int, error) {
			t, err := db.DeadlineTrail(ctx, plan, ref(), AsOf{})
			return len(t.GetMoves()), err
		}},
		{"silent_slips", func() (int, error) {
			s, err := db.SilentSlips(ctx, plan, lastDay, AsOf{}, "", "")
			return len(s), err
		}},
		{"slip_analysis", func() (int, error) {
			a, err := db.DeadlineSlips(ctx, slipFilter(AsOf{}))
			return int(a.GetTotal().GetMoves()), err
		}},
		{"explain_action", func() (int, error) {
			e, err := db.ExplainAction(ctx, plan, ref(), AsOf{}, 0, "")
			return len(e.GetLines()), err
		}},
		{"rag_summary", func() (int, error) {
			s, err := db.RagSummary(ctx, plan, AsOf{})
			return int(s.GetActions()), err
		}},
		{"kpi_scorecard", func() (int, error) {
			k, err := db.KpiScorecard(ctx, plan, "", AsOf{})
			return len(k), err
		}},
		{"plan_versions", func() (int, error) {
			v, err := db.PlanVersions(ctx, plan, AsOf{})
			return len(v), err
		}},
		{"get_plan", func() (int, error) {
			p, err := db.GetPlan(ctx, plan)
			return int(p.GetActions()), err
		}},
		// The same questions as of a past date (business time): folded.
		{"asof_get_plan", func() (int, error) {
			p, err := db.GetPlanAt(ctx, plan, past())
			return int(p.GetActions()), err
		}},
		{"asof_list_actions", func() (int, error) {
			a, err := db.ListActionsAt(ctx, ActionFilter{Plan: plan}, past())
			return len(a), err
		}},
		{"asof_get_action", func() (int, error) {
			a, err := db.GetActionAt(ctx, plan, ref(), past())
			return int(a.GetDeadlineMoves()), err
		}},
		{"asof_deadline_trail", func() (int, error) {
			t, err := db.DeadlineTrail(ctx, plan, ref(), past())
			return len(t.GetMoves()), err
		}},
		{"asof_silent_slips", func() (int, error) {
			s, err := db.SilentSlips(ctx, plan, pastDay(), AsOf{}, "", "")
			return len(s), err
		}},
		{"asof_slip_analysis", func() (int, error) {
			a, err := db.DeadlineSlips(ctx, slipFilter(past()))
			return int(a.GetTotal().GetMoves()), err
		}},
		{"asof_explain_action", func() (int, error) {
			e, err := db.ExplainAction(ctx, plan, ref(), past(), 0, "")
			return len(e.GetLines()), err
		}},
		{"asof_rag_summary", func() (int, error) {
			s, err := db.RagSummary(ctx, plan, past())
			return int(s.GetActions()), err
		}},
		{"asof_kpi_scorecard", func() (int, error) {
			k, err := db.KpiScorecard(ctx, plan, "", past())
			return len(k), err
		}},
	}
	// Round robin: each round calls every query once, so that a burst of
	// load on the machine falls on all of them alike.
	lat := make([][]time.Duration, len(queries))
	size := make([]int, len(queries))
	load := loadAverage()
	start = time.Now()
	for range calls {
		for i, q := range queries {
			t := time.Now()
			n, err := q.f()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", q.name, err)
			}
			lat[i] = append(lat[i], time.Since(t))
			size[i] += n
		}
	}
	measured := time.Since(start)
	for i, q := range queries {
		l := lat[i]
		slices.Sort(l)
		results[q.name] = map[string]any{
			"p50_ms": msOf(l[calls/2]), "p99_ms": msOf(l[min(calls-1, calls*99/100)]), "max_ms": msOf(l[calls-1]),
			"calls": calls, "mean_answer_size": size[i] / calls,
		}
	}
	shape["load_average_before"], shape["load_average_after"] = load, loadAverage()
	shape["measure_seconds"] = roundTo(measured.Seconds())
	return map[string]any{
		"data_set": shape, "generate_seconds": roundTo(gen.Seconds()), "build_seconds": roundTo(build.Seconds()),
		"build_events_per_sec": roundTo(float64(shape["events"].(int)) / build.Seconds()),
		"queries":              results,
		"notes": "p50/p99 over calls with varied arguments (random refs, filters and past dates); " +
			"queries without as_of read the current rows, asof_* fold the events that count as of a random past date (business time)",
	}, nil
}

// loadAverage is the machine's 1-minute load average ("" where unknown):
// latencies mean little without it.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return ""
	}
	return f[0] + " on " + fmt.Sprint(runtime.NumCPU()) + " CPUs"
}

func msOf(d time.Duration) float64 { return roundTo(float64(d.Microseconds()) / 1000) }

func roundTo(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }
