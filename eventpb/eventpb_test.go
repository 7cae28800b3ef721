package eventpb_test

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/sendtrail/sendtrail/domain"
	"github.com/sendtrail/sendtrail/eventpb"
	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
)

func date(t *testing.T, s string) domain.Date {
	t.Helper()
	d, err := domain.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// samples has one event of every type the schema defines.
func samples(t *testing.T) []domain.Event {
	lead := domain.Lead{Name: "Jude Nash", Role: "Head of SEND", Organisation: "BCP Council"}
	cat, _ := domain.ParseReasonCategory("capacity")
	return []domain.Event{
		domain.PlanCreated{Slug: "bcp-2023-26", Title: "BCP", RagScheme: []domain.RagSchemeRow{{Code: "R", Description: "High", Count: "2", Percent: "1%", Direction: "↓"}}},
		domain.PriorityAreaAdded{Number: "1", Title: "Leadership", Summary: "s", ParentCarerVoice: "v"},
		domain.PriorityAreaRevised{Number: "1", Title: "Leadership 2", Summary: "s", ParentCarerVoice: "v"},
		domain.ReportingPeriodClosed{Label: "March 2024", Date: date(t, "2024-03-31"), RagCounts: map[string]int{"A": 30, "": 3}},
		domain.PlanVersionPublished{Version: "1.2", Note: "n", Date: date(t, "2024-04-12")},
		domain.ActionAdded{Ref: "1.7", Priority: "1", Origin: "o", Text: "t", Leads: []domain.Lead{lead}, LeadsRaw: "Jude Nash",
			DeadlineRaw: "31/04/24", Milestones: []domain.Milestone{{Date: date(t, "2024-04-30"), Text: "x"}, {Text: "no date"}},
			Rag: domain.RagNotYet, RagRaw: "NS", Trend: "↑", SuccessMeasures: "sm", Progress: "p", Impact: "i",
			Flags: []domain.Flag{{Field: "deadline", Raw: "31/04/24", Message: "not a date"}}},
		domain.ActionRevised{Origin: "o2", Text: "t2", SuccessMeasures: "s2", Before: domain.ActionTexts{Origin: "o", Text: "t", SuccessMeasures: "s"}},
		domain.RagChanged{From: domain.NotRated, To: domain.RagAmber, Commentary: "c"},
		domain.DeadlineMoved{From: date(t, "2024-03-31"), To: date(t, "2024-06-30"), Category: cat, Reason: "restructure delayed"},
		domain.LeadsReassigned{From: []domain.Lead{lead}, To: []domain.Lead{{Name: "Sam Best"}}, Reason: "r"},
		domain.ProgressRecorded{Before: "a", Text: "b"},
		domain.ImpactRecorded{Before: "a", Text: "b"},
		domain.ActionWithdrawn{Reason: "r"},
		domain.ActionReinstated{Reason: "r"},
		domain.FlagResolved{Field: "deadline", Note: "n"},
		domain.KpiDefined{Priority: "1", Name: "No. of complaints", Direction: domain.DirectionDown, Target: "0", National: "n/a"},
		domain.KpiValueRecorded{Period: "Jan-24", Value: "41.6% %"},
		domain.KpiValueCorrected{Period: "Jan-24", Old: "41.6% %", New: "41.6%", Reason: "typo"},
		domain.KpiTargetChanged{From: "90%", To: "95%", Reason: "board"},
		domain.TokenIssued{TokenID: "t1", Principal: "p1", Name: "Mary", Role: domain.RoleEditor, Plan: "bcp-2023-26", Hash: "ab", ExpiresAt: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		domain.TokenRevoked{TokenID: "t1", Reason: "left"},
		domain.EvidenceExported{AsOf: time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC), TreeSize: 9, RootHash: "ff"},
		domain.WebhookRegistered{WebhookID: "w", URL: "https://example.org/h", Types: []string{"rag_changed"}, SecretRef: "s"},
		domain.WebhookRemoved{WebhookID: "w"},
	}
}

func TestRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range samples(t) {
		env := domain.Envelope{
			EventID: "0193", Plan: "bcp-2023-26", AggregateType: domain.AggAction, AggregateID: "id",
			OccurredAt: time.Date(2024, 3, 14, 0, 0, 0, 0, time.UTC), RecordedAt: time.Date(2024, 3, 15, 9, 30, 0, 0, time.UTC),
			Actor: domain.Actor{ID: "p1", DisplayName: "Mary Diffey", Role: domain.RoleEditor}, CorrelationID: "cmd-1",
			SchemaVersion: domain.SchemaVersion, Event: e,
		}
		b, err := eventpb.Marshal(env)
		if err != nil {
			t.Fatalf("%T: %v", e, err)
		}
		again, _ := eventpb.Marshal(env)
		if !bytes.Equal(b, again) {
			t.Errorf("%T: marshalling is not deterministic", e)
		}
		got, err := eventpb.Unmarshal(b, 42)
		if err != nil {
			t.Fatalf("%T: %v", e, err)
		}
		env.Sequence = 42
		if !reflect.DeepEqual(got, env) {
			t.Errorf("%T round trip:\n got %+v\nwant %+v", e, got, env)
		}
		seen[e.Type()] = true
	}
	// Every payload of the schema must have a sample above, so a new event
	// cannot be added without its conversion being tested.
	oneof := (&pb.Envelope{}).ProtoReflect().Descriptor().Oneofs().ByName("payload")
	for i := 0; i < oneof.Fields().Len(); i++ {
		name := string(oneof.Fields().Get(i).Name())
		if !seen[name] {
			t.Errorf("payload %s has no round-trip sample", name)
		}
	}
}

func TestUnknownPayloadIsSkipped(t *testing.T) {
	b, err := eventpb.Marshal(domain.Envelope{EventID: "x", Event: domain.ActionWithdrawn{Reason: "r"}})
	if err != nil {
		t.Fatal(err)
	}
	// Field 999 stands for an event type written by a newer version.
	b = append(b[:0:0], 0xba, 0x3e, 0x00) // tag 999, wire type 2, length 0
	env, err := eventpb.Unmarshal(b, 1)
	if err != nil || env.Event != nil {
		t.Fatalf("unknown payload: env %+v, err %v", env, err)
	}
}

func TestSubject(t *testing.T) {
	env := domain.Envelope{Plan: "bcp-2023-26", AggregateType: domain.AggAction, AggregateID: "abc", Event: domain.RagChanged{}}
	if got, want := eventpb.Subject(env), "sendtrail.bcp-2023-26.action.abc.rag_changed"; got != want {
		t.Errorf("Subject = %q, want %q", got, want)
	}
	if got, want := eventpb.Filter("p", domain.AggAction, "abc"), "sendtrail.p.action.abc.>"; got != want {
		t.Errorf("Filter = %q, want %q", got, want)
	}
}
