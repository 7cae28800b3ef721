package projections

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sendtrail/sendtrail/domain"
	"github.com/sendtrail/sendtrail/eventpb"
)

// BenchBatch is the batch size of the benchmarks: the runner's batch.
const BenchBatch = 1000

// BenchEvents returns a deterministic stream of n events for benchmarks: a
// plan with 8 priority areas, one action for every 10 events (at most
// 400), 20 KPIs, and then the traffic of a plan in use: RAG changes,
// progress, deadline moves, lead changes, KPI values and corrections over
// 36 monthly periods. Sequences are 1..n.
func BenchEvents(n int) ([]Event, error) {
	const plan = "bench-plan"
	var (
		out    []Event
		seq    uint64
		clock  = time.Date(2024, 1, 1, 9, 0, 0, 0, time.UTC)
		actor  = domain.Actor{ID: "u-bench", DisplayName: "Bench Officer", Role: domain.RoleEditor}
		rng    = uint64(0x9e3779b97f4a7c15)
		rags   = domain.RAGCodes()
		states = map[string]domain.ActionState{}
		refs   []string
		kpis   []string
	)
	next := func() uint64 { // xorshift: deterministic, no dependency
		rng ^= rng << 13
		rng ^= rng >> 7
		rng ^= rng << 17
		return rng
	}
	add := func(t domain.AggregateType, id string, e domain.Event) error {
		seq++
		clock = clock.Add(time.Minute)
		env := domain.Envelope{
			EventID: fmt.Sprintf("bench-%012d", seq), Plan: plan, AggregateType: t, AggregateID: id,
			OccurredAt: clock, RecordedAt: clock.Add(time.Second), Actor: actor,
			CorrelationID: fmt.Sprintf("cmd-%012d", seq), SchemaVersion: domain.SchemaVersion, Sequence: seq, Event: e,
		}
		raw, err := eventpb.Marshal(env)
		if err != nil {
			return err
		}
		out = append(out, Event{Envelope: env, Raw: raw, Subject: eventpb.Subject(env)})
		if t == domain.AggAction {
			states[id] = domain.Evolve(states[id], env).(domain.ActionState)
		}
		return nil
	}
	if err := add(domain.AggPlan, plan, domain.PlanCreated{Slug: plan, Title: "Bench SEND Improvement Plan"}); err != nil {
		return nil, err
	}
	for p := 1; p <= 8 && len(out) < n; p++ {
		num := fmt.Sprint(p)
		if err := add(domain.AggPriority, domain.PriorityID(plan, num), domain.PriorityAreaAdded{Number: num, Title: "Priority " + num, Summary: "What the area must achieve."}); err != nil {
			return nil, err
		}
	}
	base, _ := domain.NewDate(2024, 3, 31)
	nActions := min(max(n/10, 1), 400)
	for i := 0; i < nActions && len(out) < n; i++ {
		ref := fmt.Sprintf("%d.%d", i%8+1, i/8+1)
		id := domain.ActionID(plan, ref)
		refs = append(refs, id)
		lead := domain.Lead{Name: fmt.Sprintf("Lead %d", i%37), Role: "Service manager", Organisation: "Council"}
		deadline, _ := domain.NewDate(2024, 1+i%12, 1+i%28)
		if err := add(domain.AggAction, id, domain.ActionAdded{
			Ref: ref, Priority: fmt.Sprint(i%8 + 1), Origin: "Written Statement of Action",
			Text: "Deliver the improvement described in the plan for this area, with partners.", Leads: []domain.Lead{lead},
			LeadsRaw: lead.String(), Deadline: deadline, DeadlineRaw: deadline.String(), Rag: rags[i%len(rags)],
			SuccessMeasures: "Measured by the scorecard.", Progress: "Started.",
		}); err != nil {
			return nil, err
		}
	}
	for i := 0; i < 20 && len(out) < n; i++ {
		name := fmt.Sprintf("Indicator %d", i)
		id := domain.KpiID(plan, name)
		kpis = append(kpis, id)
		if err := add(domain.AggKpi, id, domain.KpiDefined{Priority: fmt.Sprint(i%8 + 1), Name: name, Direction: domain.DirectionUp, Target: "90%", National: "85%"}); err != nil {
			return nil, err
		}
	}
	capacity, _ := domain.ParseReasonCategory("capacity")
	var months []string
	for m := 0; m < 36; m++ {
		months = append(months, time.Date(2023, time.Month(9+m), 1, 0, 0, 0, 0, time.UTC).Format("Jan-06"))
	}
	kpiValues := map[string]string{}
	for len(out) < n && len(refs) > 0 && len(kpis) > 0 {
		r := next()
		id := refs[r%uint64(len(refs))]
		st := states[id]
		var err error
		switch k := (r >> 20) % 10; {
		case k < 3:
			to := rags[(r>>32)%uint64(len(rags))]
			if to == st.Rag() {
				to = domain.RagAmber
				if st.Rag() == domain.RagAmber {
					to = domain.RagPurple
				}
			}
			err = add(domain.AggAction, id, domain.RagChanged{From: st.Rag(), To: to, Commentary: "Reviewed at the board."})
		case k < 6:
			err = add(domain.AggAction, id, domain.ProgressRecorded{Before: st.Progress(), Text: fmt.Sprintf("Progress at event %d: on track.", seq+1)})
		case k < 7:
			from := st.Deadline()
			if from.IsZero() {
				from = base
			}
			to := domain.DateOf(from.Time().AddDate(0, 0, 30))
			err = add(domain.AggAction, id, domain.DeadlineMoved{From: st.Deadline(), To: to, Category: capacity, Reason: "Team capacity."})
		case k < 8:
			to := []domain.Lead{{Name: fmt.Sprintf("Lead %d", r%41), Role: "Head of service"}}
			err = add(domain.AggAction, id, domain.LeadsReassigned{From: st.Leads(), To: to, Reason: "Restructure."})
		default:
			// 36 monthly periods per indicator, as a three-year plan has;
			// a period that has a value gets a correction.
			kid := kpis[r%uint64(len(kpis))]
			period := months[(r>>40)%uint64(len(months))]
			value := fmt.Sprintf("%d.%d%%", r%100, (r>>8)%10)
			key := kid + "\x00" + period
			if old, ok := kpiValues[key]; !ok {
				err = add(domain.AggKpi, kid, domain.KpiValueRecorded{Period: period, Value: value})
			} else {
				if old == value {
					value += "1"
				}
				err = add(domain.AggKpi, kid, domain.KpiValueCorrected{Period: period, Old: old, New: value, Reason: "Late return."})
			}
			kpiValues[key] = value
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// BenchApply measures the projector: it opens a fresh read model in dir
// and applies BenchEvents(n) with Apply in batches of BenchBatch, returning
// events per second.
func BenchApply(dir string, n int) (perSec float64, err error) {
	events, err := BenchEvents(n)
	if err != nil {
		return 0, err
	}
	path := filepath.Join(dir, "bench-apply.db")
	removeDB(path)
	defer removeDB(path)
	db, err := Open(path)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	ctx := context.Background()
	start := time.Now()
	for i := 0; i < len(events); i += BenchBatch {
		if err := db.Apply(ctx, events[i:min(i+BenchBatch, len(events))]); err != nil {
			return 0, err
		}
	}
	return float64(len(events)) / time.Since(start).Seconds(), nil
}

// BenchRaw measures the raw limit of the same SQLite set-up on the same
// data set: per event one plain INSERT into an events-like table (same
// columns and indexes, history columns left empty) and one UPSERT into an
// actions-like table, in transactions of BenchBatch events, with no
// decoding, no state and no formatting. It returns events per second.
func BenchRaw(dir string, n int) (perSec float64, err error) {
	events, err := BenchEvents(n)
	if err != nil {
		return 0, err
	}
	path := filepath.Join(dir, "bench-raw.db")
	removeDB(path)
	defer removeDB(path)
	db, err := sql.Open("sqlite3", dsn(path, false))
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, rawSchema); err != nil {
		return 0, err
	}
	start := time.Now()
	if err := rawInsert(ctx, db, events); err != nil {
		return 0, err
	}
	return float64(len(events)) / time.Since(start).Seconds(), nil
}

const rawSchema = `
CREATE TABLE raw_events (
	sequence INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, plan TEXT NOT NULL,
	aggregate_type TEXT NOT NULL, aggregate_id TEXT NOT NULL, type TEXT NOT NULL, subject TEXT NOT NULL,
	schema_version INTEGER NOT NULL, occurred_at TEXT NOT NULL, recorded_at TEXT NOT NULL,
	actor_id TEXT NOT NULL, actor_name TEXT NOT NULL, actor_role TEXT NOT NULL, correlation_id TEXT NOT NULL,
	known INTEGER NOT NULL, subject_ref TEXT NOT NULL, "before" TEXT NOT NULL, "after" TEXT NOT NULL,
	reason TEXT NOT NULL, reason_category TEXT NOT NULL, commentary TEXT NOT NULL, summary TEXT NOT NULL,
	raw BLOB NOT NULL
);
CREATE INDEX raw_events_by_aggregate   ON raw_events (aggregate_type, aggregate_id, sequence);
CREATE INDEX raw_events_by_plan        ON raw_events (plan, sequence);
CREATE INDEX raw_events_by_plan_type   ON raw_events (plan, type, sequence);
CREATE INDEX raw_events_by_actor       ON raw_events (actor_id, sequence);
CREATE INDEX raw_events_by_correlation ON raw_events (correlation_id);
CREATE TABLE raw_actions (
	id TEXT PRIMARY KEY, plan TEXT NOT NULL, type TEXT NOT NULL, version INTEGER NOT NULL,
	updated_at TEXT NOT NULL, payload BLOB NOT NULL
);
CREATE TABLE raw_checkpoint (id INTEGER PRIMARY KEY, sequence INTEGER NOT NULL);
INSERT INTO raw_checkpoint VALUES (1, 0);
`

func rawInsert(ctx context.Context, db *sql.DB, events []Event) error {
	for i := 0; i < len(events); i += BenchBatch {
		batch := events[i:min(i+BenchBatch, len(events))]
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		ins, err := tx.PrepareContext(ctx, `INSERT INTO raw_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, '', '', '', '', '', '', '', ?)`)
		if err != nil {
			tx.Rollback()
			return err
		}
		up, err := tx.PrepareContext(ctx, `INSERT INTO raw_actions VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET type = excluded.type, version = excluded.version, updated_at = excluded.updated_at, payload = excluded.payload`)
		if err != nil {
			tx.Rollback()
			return err
		}
		for _, ev := range batch {
			e := ev.Envelope
			if _, err := ins.ExecContext(ctx, int64(e.Sequence), e.EventID, e.Plan, string(e.AggregateType), e.AggregateID, e.Event.Type(), ev.Subject,
				e.SchemaVersion, fmtTime(e.OccurredAt), fmtTime(e.RecordedAt), e.Actor.ID, e.Actor.DisplayName, string(e.Actor.Role), e.CorrelationID, ev.Raw); err != nil {
				tx.Rollback()
				return err
			}
			if _, err := up.ExecContext(ctx, e.AggregateID, e.Plan, e.Event.Type(), int64(e.Sequence), fmtTime(e.OccurredAt), ev.Raw); err != nil {
				tx.Rollback()
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE raw_checkpoint SET sequence = ? WHERE id = 1`, int64(batch[len(batch)-1].Envelope.Sequence)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

func removeDB(path string) {
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(path + suffix)
	}
}
