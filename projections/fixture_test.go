package projections_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/sendtrail/sendtrail/domain"
	"github.com/sendtrail/sendtrail/eventpb"
	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
	"github.com/sendtrail/sendtrail/projections"
)

const plan = "bcp-2023-26"

var (
	admin  = domain.Actor{ID: "u-admin", DisplayName: "Alex Admin", Role: domain.RoleAdmin}
	editor = domain.Actor{ID: "u-ppmo", DisplayName: "Pat Officer", Role: domain.RoleEditor}
	qa     = domain.Actor{ID: "u-qa", DisplayName: "Quinn QA", Role: domain.RoleEditor}
)

// stream builds stored events the way the command side does: Decide on
// the aggregate's current state, then an envelope with the next stream
// sequence, then the stored bytes.
type stream struct {
	t      *testing.T
	seq    uint64
	clock  time.Time
	states map[string]domain.State
	events []projections.Event
	seqs   map[string]uint64 // label → sequence, for assertions
}

func newStream(t *testing.T) *stream {
	return &stream{t: t, clock: time.Date(2024, 1, 8, 9, 0, 0, 0, time.UTC), states: map[string]domain.State{}, seqs: map[string]uint64{}}
}

// gap skips stream sequences, as other subjects would.
func (s *stream) gap(n uint64) { s.seq += n }

func (s *stream) do(label string, actor domain.Actor, id string, cmd domain.Command) {
	s.t.Helper()
	key := string(cmd.AggregateType()) + "/" + id
	st, ok := s.states[key]
	if !ok {
		st = domain.NewState(cmd.AggregateType())
	}
	evs, err := domain.Decide(st, cmd)
	if err != nil {
		s.t.Fatalf("%s: Decide(%T): %v", label, cmd, err)
	}
	if len(evs) == 0 {
		s.t.Fatalf("%s: Decide(%T) produced no event", label, cmd)
	}
	for _, e := range evs {
		s.seq++
		s.clock = s.clock.Add(26 * time.Hour)
		env := domain.Envelope{
			EventID:       "evt-" + label,
			Plan:          plan,
			AggregateType: cmd.AggregateType(),
			AggregateID:   id,
			OccurredAt:    s.clock,
			RecordedAt:    s.clock.Add(90 * time.Minute), // recorded after the board decided
			Actor:         actor,
			CorrelationID: "cmd-" + label,
			SchemaVersion: domain.SchemaVersion,
			Sequence:      s.seq,
			Event:         e,
		}
		raw, err := eventpb.Marshal(env)
		if err != nil {
			s.t.Fatal(err)
		}
		// What the runner hands over: the envelope decoded from the stored bytes.
		dec, err := eventpb.Unmarshal(raw, s.seq)
		if err != nil {
			s.t.Fatal(err)
		}
		s.events = append(s.events, projections.Event{Envelope: dec, Raw: raw, Subject: eventpb.Subject(env)})
		st = domain.Evolve(st, env)
		s.seqs[label] = s.seq
	}
	s.states[key] = st
}

// unknown appends an event of a type this code does not know.
func (s *stream) unknown(label string) {
	s.t.Helper()
	s.seq++
	s.clock = s.clock.Add(time.Hour)
	m := &pb.Envelope{EventId: "evt-" + label, Plan: plan, AggregateType: "survey", AggregateId: "s-1", Type: "survey_opened",
		Actor: eventpb.ActorToProto(editor), CorrelationId: "cmd-" + label, SchemaVersion: 2}
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		s.t.Fatal(err)
	}
	env, err := eventpb.Unmarshal(raw, s.seq)
	if err != nil {
		s.t.Fatal(err)
	}
	if env.Event != nil {
		s.t.Fatal("want an unknown event")
	}
	s.events = append(s.events, projections.Event{Envelope: env, Raw: raw, Subject: "sendtrail." + plan + ".survey.s-1.survey_opened"})
	s.seqs[label] = s.seq
}

func hashOf(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

var (
	id12  = domain.ActionID(plan, "1.2")
	id110 = domain.ActionID(plan, "1.10")
	id21  = domain.ActionID(plan, "2.1")
	id22  = domain.ActionID(plan, "2.2")
	kpi1  = domain.KpiID(plan, "No. of complaints")
	kpi2  = domain.KpiID(plan, "EHCPs issued within 20 weeks")
)

// fixture is a small plan with a life: two priority areas, four actions
// (one with a flagged deadline, one withdrawn), RAG changes, deadline
// moves (one a re-baselining), a lead change, progress and impact, a
// withdrawal and reinstatement, two indicators with values and a
// correction, tokens issued and revoked, and an event of a type this code
// does not know.
func fixture(t *testing.T) *stream {
	s := newStream(t)
	s.do("plan", admin, plan, domain.CreatePlan{Slug: plan, Title: "BCP SEND Improvement Plan 2023-26",
		RagScheme: []domain.RagSchemeRow{{Code: "R", Description: "High risk", Count: "2", Percent: "5%", Direction: "↓"}, {Code: "A", Description: "Significant risk", Count: "10"}}})
	s.gap(3)
	s.do("p1", admin, domain.PriorityID(plan, "1"), domain.AddPriorityArea{Number: "1", Title: "SEND Leadership, Management and Governance", Summary: "Leaders work together."})
	s.do("p2", admin, domain.PriorityID(plan, "2"), domain.AddPriorityArea{Number: "2", Title: "Timeliness of EHC plans", Summary: "Plans on time."})
	s.do("a12", admin, id12, domain.AddAction{Ref: "1.2", Priority: "1", Origin: "SEND Governance review", Text: "Finalise the role of the SLIP.",
		Leads: []domain.Lead{{Name: "Jude Nash", Role: "Head of SEND", Organisation: "BCP Council"}}, LeadsRaw: "Jude Nash – Head of SEND",
		Deadline: "2024-03-31", DeadlineRaw: "31/03/24", Rag: "P", SuccessMeasures: "RAP agreed with DfE."})
	s.do("a110", admin, id110, domain.AddAction{Ref: "1.10", Priority: "1", Text: "Review the Schools' SEF for SEND.",
		Leads: []domain.Lead{{Name: "Sam  Best"}, {Name: "Mary Jones", Role: "QA lead"}}, LeadsRaw: "Sam Best/ Mary Jones",
		Deadline: "2024-09-30", DeadlineRaw: "30/09/24", RagRaw: "TBC",
		Flags: []domain.Flag{{Field: "rag", Raw: "TBC", Message: "not a RAG code"}, {Field: "leads", Raw: "Sam Best/ Mary Jones", Message: "two leads in one cell"}}})
	s.do("a21", admin, id21, domain.AddAction{Ref: "2.1", Priority: "2", Text: "Clear the EHCP backlog.",
		Leads: []domain.Lead{{Name: "Sharon Muldoon"}}, LeadsRaw: "Sharon Muldoon/ Interim Director of Education",
		DeadlineRaw: "31/04/24", Milestones: []domain.Milestone{{Date: mustDate(t, "2024-04-30"), Text: "Phase 1"}}, Rag: "A",
		Flags: []domain.Flag{{Field: "deadline", Raw: "31/04/24", Message: "April has 30 days"}}})
	s.do("a22", admin, id22, domain.AddAction{Ref: "2.2", Priority: "2", Text: "Pilot a new panel.", Leads: []domain.Lead{{Name: "Jo Bloggs"}}, Deadline: "2024-02-29"})
	s.do("k1", admin, kpi1, domain.DefineKpi{Priority: "1", Name: "No. of complaints", Direction: "down", Target: "0", National: "n/a"})
	s.do("k2", admin, kpi2, domain.DefineKpi{Priority: "2", Name: "EHCPs issued within 20 weeks", Direction: "up", Target: "60%", National: "50.3%"})
	s.do("k1jan", editor, kpi1, domain.RecordKpiValue{Period: "Jan-24", Value: "12"})
	s.do("k1feb", editor, kpi1, domain.RecordKpiValue{Period: "Feb-24", Value: "9"})
	s.do("k2jan", editor, kpi2, domain.RecordKpiValue{Period: "Jan-24", Value: "41.6% %"})
	s.do("rag12", qa, id12, domain.ChangeRag{Rag: "A", Commentary: "SLIP not yet appointed."})
	s.do("rag22", editor, id22, domain.ChangeRag{Rag: "R"})
	s.gap(1)
	s.do("move12", editor, id12, domain.MoveDeadline{Deadline: "2024-06-30", Category: "capacity", Reason: "Team restructure delayed the work."})
	s.do("base21", editor, id21, domain.MoveDeadline{Deadline: "2024-05-31", Category: "rebaselined", Reason: "Agreed with the DfE adviser."})
	s.do("move21", qa, id21, domain.MoveDeadline{Deadline: "2024-07-31", Category: "dependency", Reason: "Waiting on 1.2."})
	s.do("leads12", editor, id12, domain.ReassignLeads{Leads: []domain.Lead{{Name: "Sam Best", Role: "Principal Lead", Organisation: "NHS Dorset"}}, Reason: "Jude Nash left."})
	s.do("prog12", editor, id12, domain.RecordProgress{Text: "SLIP shortlisted."})
	s.do("imp12", editor, id12, domain.RecordImpact{Text: "Board meets monthly."})
	s.unknown("future")
	s.do("wd110", editor, id110, domain.WithdrawAction{Reason: "Merged into 1.2."})
	s.do("re110", qa, id110, domain.ReinstateAction{Reason: "Board kept it separate."})
	s.do("wd22", editor, id22, domain.WithdrawAction{Reason: "Pilot cancelled."})
	s.do("k2fix", qa, kpi2, domain.CorrectKpiValue{Period: "Jan-24", Value: "41.6%", Reason: "Typo in the return."})
	s.do("rag21", editor, id21, domain.ChangeRag{Rag: "G", Commentary: "Backlog cleared."})
	s.do("rev12", editor, id12, domain.ReviseAction{Origin: "SEND Governance review", Text: "Finalise the role of the SLIP and its reporting.", SuccessMeasures: "RAP agreed with DfE."})
	s.do("fix110", qa, id110, domain.ResolveFlag{Field: "leads", Note: "Both lead it."})
	s.do("p1rev", admin, domain.PriorityID(plan, "1"), domain.AddPriorityArea{Number: "1", Title: "Leadership and governance", Summary: "Leaders work together."})
	s.do("target1", qa, kpi1, domain.ChangeKpiTarget{Target: "5", Reason: "Zero is not realistic."})
	s.do("close1", admin, plan, domain.ClosePeriod{Label: "March 2024", Date: "2024-03-31", RagCounts: map[string]int{"A": 2, "G": 1, "": 1}})
	s.do("ver1", admin, plan, domain.PublishPlanVersion{Version: "1.1", Note: "After the March board.", Date: "2024-04-02"})
	s.do("export", admin, plan, domain.RecordExport{AsOf: time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC), TreeSize: 30, RootHash: "ab12"})
	s.do("hook1", admin, "wh-1", domain.RegisterWebhook{WebhookID: "wh-1", URL: "https://dash.example.org/hook", Types: []string{"rag_changed"}, SecretRef: "vault:wh-1"})
	s.do("hook2", admin, "wh-2", domain.RegisterWebhook{WebhookID: "wh-2", URL: "https://cms.example.org/hook"})
	s.do("unhook1", admin, "wh-1", domain.RemoveWebhook{WebhookID: "wh-1"})
	s.do("tok1", admin, "tok-1", domain.IssueToken{TokenID: "tok-1", Principal: "u-ppmo", Name: "Pat Officer", Role: "editor", Plan: plan, Hash: hashOf("secret-1"), ExpiresAt: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)})
	s.do("tok2", admin, "tok-2", domain.IssueToken{TokenID: "tok-2", Principal: "u-lead", Name: "Sam Best", Role: "lead", Plan: plan, LeadName: "Sam Best", Hash: hashOf("secret-2")})
	s.do("rev2", admin, "tok-2", domain.RevokeToken{TokenID: "tok-2", Reason: "Left the partnership."})
	return s
}

func mustDate(t *testing.T, s string) domain.Date {
	t.Helper()
	d, err := domain.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func open(t testing.TB, name string) *projections.DB {
	t.Helper()
	db, err := projections.Open(filepath.Join(t.TempDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func apply(t testing.TB, db *projections.DB, batch []projections.Event) {
	t.Helper()
	if err := db.Apply(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
}

// applyIn applies events in batches of n.
func applyIn(t testing.TB, db *projections.DB, events []projections.Event, n int) {
	t.Helper()
	for i := 0; i < len(events); i += n {
		apply(t, db, events[i:min(i+n, len(events))])
	}
}

func dump(t testing.TB, db *projections.DB) string {
	t.Helper()
	var b bytes.Buffer
	if err := db.Dump(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func sameDump(t *testing.T, what, got, want string) {
	t.Helper()
	if got == want {
		return
	}
	gl, wl := bytes.Split([]byte(got), []byte("\n")), bytes.Split([]byte(want), []byte("\n"))
	for i := 0; i < max(len(gl), len(wl)); i++ {
		var g, w []byte
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if !bytes.Equal(g, w) {
			t.Fatalf("%s: dumps differ at line %d:\n got: %s\nwant: %s", what, i+1, g, w)
		}
	}
}
