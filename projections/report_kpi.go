package projections

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/sendtrail/sendtrail/domain"
	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
)

// KpiValue is a value as written, read: plans write "41.6%", "41.6% %",
// "1,656", "3.9M", "£1.2m", "7.78 (rate)", "TBC", "Being scoped".
type KpiValue struct {
	Number    float64
	Numeric   bool // reads as a number
	Available bool // false for TBC, Being scoped, Not avail, n/a, "-" and empty
	Percent   bool // written with %
	Qualified bool // carries a qualifier in brackets: "7.78 (rate)", "1 (0.10)"
}

var (
	notAvailable = map[string]bool{"": true, "tbc": true, "tbd": true, "being scoped": true, "not avail": true, "not available": true,
		"n/a": true, "na": true, "-": true, "–": true, "—": true, "nk": true, "not known": true}
	numberRE = regexp.MustCompile(`^([£$€])?\s*([-+]?(?:\d[\d,]*(?:\.\d+)?|\.\d+))\s*(k|m|bn)?\s*((?:%\s*)*)(\([^)]*\))?\s*((?:%\s*)*)$`)
)

// ParseKpiValue reads a value as written.
func ParseKpiValue(s string) KpiValue {
	t := strings.ToLower(strings.Join(strings.Fields(s), " "))
	if notAvailable[strings.TrimRight(t, ".")] {
		return KpiValue{}
	}
	v := KpiValue{Available: true}
	// Most values are a plain number or percentage: read those without the
	// regular expression.
	plain := strings.TrimRight(t, "% ")
	if f, err := strconv.ParseFloat(strings.ReplaceAll(plain, ",", ""), 64); err == nil && plain != "" && !strings.ContainsAny(plain, "+eEnNiI_x") {
		v.Number, v.Numeric, v.Percent = f, true, len(plain) < len(t) && strings.Contains(t[len(plain):], "%")
		return v
	}
	m := numberRE.FindStringSubmatch(t)
	if m == nil {
		return v
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(m[2], ",", ""), 64)
	if err != nil {
		return v
	}
	switch m[3] {
	case "k":
		f *= 1e3
	case "m":
		f *= 1e6
	case "bn":
		f *= 1e9
	}
	v.Number, v.Numeric = f, true
	v.Percent = strings.Contains(m[4]+m[6], "%")
	v.Qualified = m[5] != ""
	return v
}

// kpiView is an indicator as the scorecard reads it.
type kpiView struct {
	id                                       string
	priority, name, direction, target, natnl string
	points                                   []kpiPointView
}

type kpiPointView struct{ period, value string }

func currentKpiViews(ctx context.Context, q querier, plan, priority string) ([]kpiView, error) {
	where, args := "k.plan = ?", []any{plan}
	if priority != "" {
		where, args = where+" AND k.priority = ?", append(args, priority)
	}
	rows, err := q.QueryContext(ctx, `SELECT k.id, k.priority, k.name, k.direction, k.target, k.national FROM kpis k WHERE `+where+` ORDER BY k.defined_seq`, args...)
	if err != nil {
		return nil, fmt.Errorf("projections: scorecard of %s: %w", plan, err)
	}
	defer rows.Close()
	var out []kpiView
	byID := map[string]int{}
	for rows.Next() {
		var k kpiView
		if err := rows.Scan(&k.id, &k.priority, &k.name, &k.direction, &k.target, &k.natnl); err != nil {
			return nil, fmt.Errorf("projections: scorecard of %s: %w", plan, err)
		}
		byID[k.id] = len(out)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	vrows, err := q.QueryContext(ctx, `SELECT v.kpi_id, v.period, v.value FROM kpi_values v JOIN kpis k ON k.id = v.kpi_id
WHERE `+where+` ORDER BY v.kpi_id, v.position`, args...)
	if err != nil {
		return nil, fmt.Errorf("projections: scorecard of %s: %w", plan, err)
	}
	defer vrows.Close()
	for vrows.Next() {
		var id string
		var p kpiPointView
		if err := vrows.Scan(&id, &p.period, &p.value); err != nil {
			return nil, fmt.Errorf("projections: scorecard of %s: %w", plan, err)
		}
		if i, ok := byID[id]; ok {
			out[i].points = append(out[i].points, p)
		}
	}
	return out, vrows.Err()
}

func foldedKpiViews(f *folded, priority string) []kpiView {
	type ordered struct {
		first uint64
		v     kpiView
	}
	var ks []ordered
	for k, s := range f.states {
		st, ok := s.(domain.KpiState)
		if !ok || !st.Exists() {
			continue
		}
		d := st.Definition()
		if priority != "" && d.Priority != priority {
			continue
		}
		v := kpiView{id: k.id, priority: d.Priority, name: d.Name, direction: d.Direction.String(), target: d.Target, natnl: d.National}
		for _, p := range st.Periods() {
			val, _ := st.Value(p)
			v.points = append(v.points, kpiPointView{period: p, value: val})
		}
		ks = append(ks, ordered{f.first[k], v})
	}
	slices.SortFunc(ks, func(a, b ordered) int { return int(int64(a.first) - int64(b.first)) })
	out := make([]kpiView, len(ks))
	for i, k := range ks {
		out[i] = k.v
	}
	return out
}

// KpiScorecard returns every indicator of the plan (or of one priority
// area) as of at: its series in the plan's period order with each value
// read and its corrections, the latest and previous numeric values, the
// movement against the required direction, and the status against target
// and national comparator.
func (db *DB) KpiScorecard(ctx context.Context, plan, priority string, at AsOf) ([]*pb.KpiScore, error) {
	out := []*pb.KpiScore{}
	err := db.report(ctx, plan, at, func(tx *sql.Tx, c cutoff) error {
		if ok, err := planExists(ctx, tx, plan); err != nil {
			return err
		} else if !ok {
			return noPlan(plan)
		}
		var views []kpiView
		if c.now {
			var err error
			if views, err = currentKpiViews(ctx, tx, plan, priority); err != nil {
				return err
			}
		} else {
			f, err := foldAsOf(ctx, tx, plan, c, "", domain.AggPlan, domain.AggKpi)
			if err != nil {
				return err
			}
			if !f.plan(plan).Exists() {
				return planNotYet(ctx, tx, plan, c)
			}
			views = foldedKpiViews(f, priority)
		}
		corrections, err := kpiCorrections(ctx, tx, plan, c)
		if err != nil {
			return err
		}
		for _, v := range views {
			out = append(out, score(v, corrections[v.id]))
		}
		return nil
	})
	return out, err
}

// kpiCorrections returns the corrections that count at c, by indicator id
// and period, oldest first.
func kpiCorrections(ctx context.Context, tx *sql.Tx, plan string, c cutoff) (map[string]map[string][]*pb.KpiCorrection, error) {
	where, args := "plan = ?", []any{plan}
	if !c.now {
		cond, arg := c.sqlFilter("")
		where, args = where+" AND "+cond, append(args, arg)
	}
	rows, err := tx.QueryContext(ctx, `SELECT sequence, kpi_id, period, old_value, new_value, reason, occurred_at, recorded_at, actor_id, actor_name, actor_role
FROM kpi_corrections WHERE `+where+` ORDER BY sequence`, args...)
	if err != nil {
		return nil, fmt.Errorf("projections: corrections of %s: %w", plan, err)
	}
	defer rows.Close()
	out := map[string]map[string][]*pb.KpiCorrection{}
	for rows.Next() {
		var (
			seq        int64
			id, period string
			occ, rec   string
			k          pb.KpiCorrection
			a          pb.Actor
		)
		if err := rows.Scan(&seq, &id, &period, &k.Old, &k.New, &k.Reason, &occ, &rec, &a.Id, &a.DisplayName, &a.Role); err != nil {
			return nil, fmt.Errorf("projections: corrections of %s: %w", plan, err)
		}
		k.Actor, k.Sequence = &a, uint64(seq)
		k.OccurredAt, _ = ts(occ)
		k.RecordedAt, _ = ts(rec)
		if out[id] == nil {
			out[id] = map[string][]*pb.KpiCorrection{}
		}
		out[id][period] = append(out[id][period], &k)
	}
	return out, rows.Err()
}

func score(v kpiView, corrections map[string][]*pb.KpiCorrection) *pb.KpiScore {
	s := &pb.KpiScore{Priority: v.priority, Name: v.name, Direction: v.direction, Target: v.target, National: v.natnl, Series: []*pb.KpiPoint{}}
	var numeric []*pb.KpiPoint
	for _, p := range v.points {
		r := ParseKpiValue(p.value)
		pt := &pb.KpiPoint{Period: p.period, Value: p.value, Numeric: r.Numeric, Number: r.Number, Available: r.Available,
			Corrections: corrections[p.period]}
		s.Series = append(s.Series, pt)
		if r.Numeric {
			numeric = append(numeric, pt)
		} else {
			s.NotAvailable = append(s.NotAvailable, p.period+": "+p.value)
		}
	}
	if len(numeric) == 0 {
		return s
	}
	latest := numeric[len(numeric)-1]
	s.Latest = latest
	if len(numeric) > 1 {
		s.Previous = numeric[len(numeric)-2]
		d := compare(latest.Number, s.Previous.Number)
		s.Movement = map[int]string{1: "up", -1: "down", 0: "level"}[d]
		if v.direction != "" {
			s.Trend = map[int]string{1: "improved", -1: "worsened", 0: "unchanged"}[towards(v.direction, d)]
		}
	}
	lv := ParseKpiValue(latest.Value)
	if t := ParseKpiValue(v.target); t.Numeric && !t.Qualified && v.direction != "" {
		if towards(v.direction, compare(latest.Number, t.Number)) >= 0 {
			s.TargetStatus = "met"
		} else {
			s.TargetStatus = "not met"
		}
	}
	if n := ParseKpiValue(v.natnl); n.Numeric && comparable(lv, n, v.name) && v.direction != "" {
		s.NationalStatus = map[int]string{1: "better", -1: "worse", 0: "same"}[towards(v.direction, compare(latest.Number, n.Number))]
	}
	return s
}

// compare is the sign of a − b, with a tolerance for figures printed to a
// few decimals.
func compare(a, b float64) int {
	switch {
	case math.Abs(a-b) < 1e-9:
		return 0
	case a > b:
		return 1
	}
	return -1
}

// towards turns a movement (+1 up, −1 down, 0 level) into +1 better, −1
// worse, 0 the same, by the required direction; 0 when there is none.
func towards(direction string, d int) int {
	switch direction {
	case "up":
		return d
	case "down":
		return -d
	}
	return 0
}

// comparable reports whether a value can be set against a national
// comparator: like for like (both percentages, or a percentage indicator,
// or counts of the same order of magnitude), never a qualified figure such
// as a rate ("7.78 (rate)"); a national total is not a local count's peer.
func comparable(v, n KpiValue, name string) bool {
	if v.Qualified || n.Qualified {
		return false
	}
	if v.Percent || n.Percent {
		return v.Percent == n.Percent || strings.Contains(name, "%") || strings.Contains(strings.ToLower(name), "percent")
	}
	if v.Number == 0 || n.Number == 0 {
		return v.Number == n.Number
	}
	r := v.Number / n.Number
	return r > 0.1 && r < 10
}
