// Package eventpb converts domain events to and from their stored form: the
// deterministic protobuf encoding of sendtrail.v1.Envelope. The bytes it
// writes are the bytes the stream keeps forever and the evidence export
// hashes, so Marshal is deterministic and Unmarshal never needs to
// re-serialise.
package eventpb

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sendtrail/sendtrail/domain"
	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
)

// Subject returns the NATS subject of an event:
// sendtrail.<plan>.<aggregate_type>.<aggregate_id>.<event_type>.
func Subject(env domain.Envelope) string {
	return fmt.Sprintf("sendtrail.%s.%s.%s.%s", env.Plan, env.AggregateType, env.AggregateID, env.Event.Type())
}

// Filter returns the subject filter of one aggregate's events.
func Filter(plan string, t domain.AggregateType, id string) string {
	return fmt.Sprintf("sendtrail.%s.%s.%s.>", plan, t, id)
}

// PlanFilter returns the subject filter of all of a plan's events.
func PlanFilter(plan string) string { return "sendtrail." + plan + ".>" }

var marshal = proto.MarshalOptions{Deterministic: true}

// Marshal encodes env (without its Sequence).
func Marshal(env domain.Envelope) ([]byte, error) {
	m, err := ToProto(env)
	if err != nil {
		return nil, err
	}
	return marshal.Marshal(m)
}

// Unmarshal decodes stored bytes; seq is the stream sequence they were
// stored at. An event type this code does not know decodes with a nil Event
// and no error, so that older readers skip newer events.
func Unmarshal(data []byte, seq uint64) (domain.Envelope, error) {
	var m pb.Envelope
	if err := proto.Unmarshal(data, &m); err != nil {
		return domain.Envelope{}, fmt.Errorf("event at sequence %d: %w", seq, err)
	}
	env, err := FromProto(&m)
	if err != nil {
		return domain.Envelope{}, fmt.Errorf("event at sequence %d: %w", seq, err)
	}
	env.Sequence = seq
	return env, nil
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func fromTS(t *timestamppb.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.AsTime()
}

// ToProto converts an envelope to its protobuf message.
func ToProto(env domain.Envelope) (*pb.Envelope, error) {
	m := &pb.Envelope{
		EventId:       env.EventID,
		Plan:          env.Plan,
		AggregateType: string(env.AggregateType),
		AggregateId:   env.AggregateID,
		OccurredAt:    ts(env.OccurredAt),
		RecordedAt:    ts(env.RecordedAt),
		Actor:         ActorToProto(env.Actor),
		CorrelationId: env.CorrelationID,
		SchemaVersion: uint32(env.SchemaVersion),
	}
	if env.Event == nil {
		return nil, fmt.Errorf("envelope %s has no event", env.EventID)
	}
	m.Type = env.Event.Type()
	switch e := env.Event.(type) {
	case domain.PlanCreated:
		m.Payload = &pb.Envelope_PlanCreated{PlanCreated: &pb.PlanCreated{Slug: e.Slug, Title: e.Title, RagScheme: schemaToProto(e.RagScheme)}}
	case domain.PriorityAreaAdded:
		m.Payload = &pb.Envelope_PriorityAreaAdded{PriorityAreaAdded: &pb.PriorityAreaAdded{Number: e.Number, Title: e.Title, Summary: e.Summary, ParentCarerVoice: e.ParentCarerVoice}}
	case domain.PriorityAreaRevised:
		m.Payload = &pb.Envelope_PriorityAreaRevised{PriorityAreaRevised: &pb.PriorityAreaRevised{Number: e.Number, Title: e.Title, Summary: e.Summary, ParentCarerVoice: e.ParentCarerVoice}}
	case domain.ReportingPeriodClosed:
		counts := make(map[string]int32, len(e.RagCounts))
		for k, v := range e.RagCounts {
			counts[k] = int32(v)
		}
		m.Payload = &pb.Envelope_ReportingPeriodClosed{ReportingPeriodClosed: &pb.ReportingPeriodClosed{Label: e.Label, Date: e.Date.String(), RagCounts: counts}}
	case domain.PlanVersionPublished:
		m.Payload = &pb.Envelope_PlanVersionPublished{PlanVersionPublished: &pb.PlanVersionPublished{Version: e.Version, Note: e.Note, Date: e.Date.String()}}
	case domain.ActionAdded:
		m.Payload = &pb.Envelope_ActionAdded{ActionAdded: &pb.ActionAdded{
			Ref: e.Ref, Priority: e.Priority, Origin: e.Origin, Text: e.Text,
			Leads: LeadsToProto(e.Leads), LeadsRaw: e.LeadsRaw,
			Deadline: e.Deadline.String(), DeadlineRaw: e.DeadlineRaw, Milestones: milestonesToProto(e.Milestones),
			Rag: e.Rag.String(), RagRaw: e.RagRaw, Trend: e.Trend,
			SuccessMeasures: e.SuccessMeasures, Progress: e.Progress, Impact: e.Impact, Flags: FlagsToProto(e.Flags),
		}}
	case domain.ActionRevised:
		m.Payload = &pb.Envelope_ActionRevised{ActionRevised: &pb.ActionRevised{Origin: e.Origin, Text: e.Text, SuccessMeasures: e.SuccessMeasures,
			BeforeOrigin: e.Before.Origin, BeforeText: e.Before.Text, BeforeSuccessMeasures: e.Before.SuccessMeasures}}
	case domain.RagChanged:
		m.Payload = &pb.Envelope_RagChanged{RagChanged: &pb.RagChanged{From: e.From.String(), To: e.To.String(), Commentary: e.Commentary}}
	case domain.DeadlineMoved:
		m.Payload = &pb.Envelope_DeadlineMoved{DeadlineMoved: &pb.DeadlineMoved{From: e.From.String(), To: e.To.String(), ReasonCategory: e.Category.String(), Reason: e.Reason}}
	case domain.LeadsReassigned:
		m.Payload = &pb.Envelope_LeadsReassigned{LeadsReassigned: &pb.LeadsReassigned{From: LeadsToProto(e.From), To: LeadsToProto(e.To), Reason: e.Reason}}
	case domain.ProgressRecorded:
		m.Payload = &pb.Envelope_ProgressRecorded{ProgressRecorded: &pb.ProgressRecorded{Text: e.Text, Before: e.Before}}
	case domain.ImpactRecorded:
		m.Payload = &pb.Envelope_ImpactRecorded{ImpactRecorded: &pb.ImpactRecorded{Text: e.Text, Before: e.Before}}
	case domain.ActionWithdrawn:
		m.Payload = &pb.Envelope_ActionWithdrawn{ActionWithdrawn: &pb.ActionWithdrawn{Reason: e.Reason}}
	case domain.ActionReinstated:
		m.Payload = &pb.Envelope_ActionReinstated{ActionReinstated: &pb.ActionReinstated{Reason: e.Reason}}
	case domain.FlagResolved:
		m.Payload = &pb.Envelope_FlagResolved{FlagResolved: &pb.FlagResolved{Field: e.Field, Note: e.Note}}
	case domain.KpiDefined:
		m.Payload = &pb.Envelope_KpiDefined{KpiDefined: &pb.KpiDefined{Priority: e.Priority, Name: e.Name, Direction: e.Direction.String(), Target: e.Target, National: e.National}}
	case domain.KpiValueRecorded:
		m.Payload = &pb.Envelope_KpiValueRecorded{KpiValueRecorded: &pb.KpiValueRecorded{Period: e.Period, Value: e.Value}}
	case domain.KpiValueCorrected:
		m.Payload = &pb.Envelope_KpiValueCorrected{KpiValueCorrected: &pb.KpiValueCorrected{Period: e.Period, Old: e.Old, New: e.New, Reason: e.Reason}}
	case domain.KpiTargetChanged:
		m.Payload = &pb.Envelope_KpiTargetChanged{KpiTargetChanged: &pb.KpiTargetChanged{From: e.From, To: e.To, Reason: e.Reason}}
	case domain.TokenIssued:
		m.Payload = &pb.Envelope_TokenIssued{TokenIssued: &pb.TokenIssued{TokenId: e.TokenID, Principal: e.Principal, Name: e.Name, Role: string(e.Role), Plan: e.Plan, LeadName: e.LeadName, Hash: e.Hash, ExpiresAt: ts(e.ExpiresAt)}}
	case domain.TokenRevoked:
		m.Payload = &pb.Envelope_TokenRevoked{TokenRevoked: &pb.TokenRevoked{TokenId: e.TokenID, Reason: e.Reason}}
	case domain.EvidenceExported:
		m.Payload = &pb.Envelope_EvidenceExported{EvidenceExported: &pb.EvidenceExported{AsOf: ts(e.AsOf), TreeSize: e.TreeSize, RootHash: e.RootHash}}
	case domain.WebhookRegistered:
		m.Payload = &pb.Envelope_WebhookRegistered{WebhookRegistered: &pb.WebhookRegistered{WebhookId: e.WebhookID, Url: e.URL, Types: e.Types, SecretRef: e.SecretRef}}
	case domain.WebhookRemoved:
		m.Payload = &pb.Envelope_WebhookRemoved{WebhookRemoved: &pb.WebhookRemoved{WebhookId: e.WebhookID}}
	default:
		return nil, fmt.Errorf("no protobuf form for %T", env.Event)
	}
	return m, nil
}

// FromProto converts a protobuf envelope to the domain's. A payload this
// code does not know gives a nil Event.
func FromProto(m *pb.Envelope) (domain.Envelope, error) {
	env := domain.Envelope{
		EventID:       m.GetEventId(),
		Plan:          m.GetPlan(),
		AggregateType: domain.AggregateType(m.GetAggregateType()),
		AggregateID:   m.GetAggregateId(),
		OccurredAt:    fromTS(m.GetOccurredAt()),
		RecordedAt:    fromTS(m.GetRecordedAt()),
		Actor:         ActorFromProto(m.GetActor()),
		CorrelationID: m.GetCorrelationId(),
		SchemaVersion: int(m.GetSchemaVersion()),
	}
	var err error
	date := func(s string) domain.Date {
		d, e := domain.ParseDate(s)
		if e != nil && err == nil {
			err = e
		}
		return d
	}
	rag := func(s string) domain.RAG {
		r, e := domain.ParseRAG(s)
		if e != nil && err == nil {
			err = e
		}
		return r
	}
	switch p := m.GetPayload().(type) {
	case *pb.Envelope_PlanCreated:
		e := p.PlanCreated
		env.Event = domain.PlanCreated{Slug: e.GetSlug(), Title: e.GetTitle(), RagScheme: schemaFromProto(e.GetRagScheme())}
	case *pb.Envelope_PriorityAreaAdded:
		e := p.PriorityAreaAdded
		env.Event = domain.PriorityAreaAdded{Number: e.GetNumber(), Title: e.GetTitle(), Summary: e.GetSummary(), ParentCarerVoice: e.GetParentCarerVoice()}
	case *pb.Envelope_PriorityAreaRevised:
		e := p.PriorityAreaRevised
		env.Event = domain.PriorityAreaRevised{Number: e.GetNumber(), Title: e.GetTitle(), Summary: e.GetSummary(), ParentCarerVoice: e.GetParentCarerVoice()}
	case *pb.Envelope_ReportingPeriodClosed:
		e := p.ReportingPeriodClosed
		counts := make(map[string]int, len(e.GetRagCounts()))
		for k, v := range e.GetRagCounts() {
			counts[k] = int(v)
		}
		env.Event = domain.ReportingPeriodClosed{Label: e.GetLabel(), Date: date(e.GetDate()), RagCounts: counts}
	case *pb.Envelope_PlanVersionPublished:
		e := p.PlanVersionPublished
		env.Event = domain.PlanVersionPublished{Version: e.GetVersion(), Note: e.GetNote(), Date: date(e.GetDate())}
	case *pb.Envelope_ActionAdded:
		e := p.ActionAdded
		env.Event = domain.ActionAdded{
			Ref: e.GetRef(), Priority: e.GetPriority(), Origin: e.GetOrigin(), Text: e.GetText(),
			Leads: LeadsFromProto(e.GetLeads()), LeadsRaw: e.GetLeadsRaw(),
			Deadline: date(e.GetDeadline()), DeadlineRaw: e.GetDeadlineRaw(), Milestones: milestonesFromProto(e.GetMilestones(), date),
			Rag: rag(e.GetRag()), RagRaw: e.GetRagRaw(), Trend: e.GetTrend(),
			SuccessMeasures: e.GetSuccessMeasures(), Progress: e.GetProgress(), Impact: e.GetImpact(), Flags: FlagsFromProto(e.GetFlags()),
		}
	case *pb.Envelope_ActionRevised:
		e := p.ActionRevised
		env.Event = domain.ActionRevised{Origin: e.GetOrigin(), Text: e.GetText(), SuccessMeasures: e.GetSuccessMeasures(),
			Before: domain.ActionTexts{Origin: e.GetBeforeOrigin(), Text: e.GetBeforeText(), SuccessMeasures: e.GetBeforeSuccessMeasures()}}
	case *pb.Envelope_RagChanged:
		e := p.RagChanged
		env.Event = domain.RagChanged{From: rag(e.GetFrom()), To: rag(e.GetTo()), Commentary: e.GetCommentary()}
	case *pb.Envelope_DeadlineMoved:
		e := p.DeadlineMoved
		cat, cerr := domain.ParseReasonCategory(e.GetReasonCategory())
		if cerr != nil && err == nil {
			err = cerr
		}
		env.Event = domain.DeadlineMoved{From: date(e.GetFrom()), To: date(e.GetTo()), Category: cat, Reason: e.GetReason()}
	case *pb.Envelope_LeadsReassigned:
		e := p.LeadsReassigned
		env.Event = domain.LeadsReassigned{From: LeadsFromProto(e.GetFrom()), To: LeadsFromProto(e.GetTo()), Reason: e.GetReason()}
	case *pb.Envelope_ProgressRecorded:
		env.Event = domain.ProgressRecorded{Text: p.ProgressRecorded.GetText(), Before: p.ProgressRecorded.GetBefore()}
	case *pb.Envelope_ImpactRecorded:
		env.Event = domain.ImpactRecorded{Text: p.ImpactRecorded.GetText(), Before: p.ImpactRecorded.GetBefore()}
	case *pb.Envelope_ActionWithdrawn:
		env.Event = domain.ActionWithdrawn{Reason: p.ActionWithdrawn.GetReason()}
	case *pb.Envelope_ActionReinstated:
		env.Event = domain.ActionReinstated{Reason: p.ActionReinstated.GetReason()}
	case *pb.Envelope_FlagResolved:
		env.Event = domain.FlagResolved{Field: p.FlagResolved.GetField(), Note: p.FlagResolved.GetNote()}
	case *pb.Envelope_KpiDefined:
		e := p.KpiDefined
		dir, derr := domain.ParseDirection(e.GetDirection())
		if derr != nil && err == nil {
			err = derr
		}
		env.Event = domain.KpiDefined{Priority: e.GetPriority(), Name: e.GetName(), Direction: dir, Target: e.GetTarget(), National: e.GetNational()}
	case *pb.Envelope_KpiValueRecorded:
		env.Event = domain.KpiValueRecorded{Period: p.KpiValueRecorded.GetPeriod(), Value: p.KpiValueRecorded.GetValue()}
	case *pb.Envelope_KpiValueCorrected:
		e := p.KpiValueCorrected
		env.Event = domain.KpiValueCorrected{Period: e.GetPeriod(), Old: e.GetOld(), New: e.GetNew(), Reason: e.GetReason()}
	case *pb.Envelope_KpiTargetChanged:
		e := p.KpiTargetChanged
		env.Event = domain.KpiTargetChanged{From: e.GetFrom(), To: e.GetTo(), Reason: e.GetReason()}
	case *pb.Envelope_TokenIssued:
		e := p.TokenIssued
		env.Event = domain.TokenIssued{TokenID: e.GetTokenId(), Principal: e.GetPrincipal(), Name: e.GetName(), Role: domain.Role(e.GetRole()), Plan: e.GetPlan(), LeadName: e.GetLeadName(), Hash: e.GetHash(), ExpiresAt: fromTS(e.GetExpiresAt())}
	case *pb.Envelope_TokenRevoked:
		env.Event = domain.TokenRevoked{TokenID: p.TokenRevoked.GetTokenId(), Reason: p.TokenRevoked.GetReason()}
	case *pb.Envelope_EvidenceExported:
		e := p.EvidenceExported
		env.Event = domain.EvidenceExported{AsOf: fromTS(e.GetAsOf()), TreeSize: e.GetTreeSize(), RootHash: e.GetRootHash()}
	case *pb.Envelope_WebhookRegistered:
		e := p.WebhookRegistered
		env.Event = domain.WebhookRegistered{WebhookID: e.GetWebhookId(), URL: e.GetUrl(), Types: e.GetTypes(), SecretRef: e.GetSecretRef()}
	case *pb.Envelope_WebhookRemoved:
		env.Event = domain.WebhookRemoved{WebhookID: p.WebhookRemoved.GetWebhookId()}
	}
	return env, err
}

// ActorToProto converts an actor.
func ActorToProto(a domain.Actor) *pb.Actor {
	return &pb.Actor{Id: a.ID, DisplayName: a.DisplayName, Role: string(a.Role)}
}

// ActorFromProto converts an actor.
func ActorFromProto(a *pb.Actor) domain.Actor {
	return domain.Actor{ID: a.GetId(), DisplayName: a.GetDisplayName(), Role: domain.Role(a.GetRole())}
}

// LeadsToProto converts leads.
func LeadsToProto(ls []domain.Lead) []*pb.Lead {
	out := make([]*pb.Lead, len(ls))
	for i, l := range ls {
		out[i] = &pb.Lead{Name: l.Name, Role: l.Role, Organisation: l.Organisation}
	}
	return out
}

// LeadsFromProto converts leads.
func LeadsFromProto(ls []*pb.Lead) []domain.Lead {
	if len(ls) == 0 {
		return nil
	}
	out := make([]domain.Lead, len(ls))
	for i, l := range ls {
		out[i] = domain.Lead{Name: l.GetName(), Role: l.GetRole(), Organisation: l.GetOrganisation()}
	}
	return out
}

// FlagsToProto converts flags.
func FlagsToProto(fs []domain.Flag) []*pb.Flag {
	out := make([]*pb.Flag, len(fs))
	for i, f := range fs {
		out[i] = &pb.Flag{Field: f.Field, Raw: f.Raw, Message: f.Message}
	}
	return out
}

// FlagsFromProto converts flags.
func FlagsFromProto(fs []*pb.Flag) []domain.Flag {
	if len(fs) == 0 {
		return nil
	}
	out := make([]domain.Flag, len(fs))
	for i, f := range fs {
		out[i] = domain.Flag{Field: f.GetField(), Raw: f.GetRaw(), Message: f.GetMessage()}
	}
	return out
}

// milestonesToProto converts milestones.
func milestonesToProto(ms []domain.Milestone) []*pb.Milestone {
	out := make([]*pb.Milestone, len(ms))
	for i, m := range ms {
		out[i] = &pb.Milestone{Date: m.Date.String(), Text: m.Text}
	}
	return out
}

func milestonesFromProto(ms []*pb.Milestone, date func(string) domain.Date) []domain.Milestone {
	if len(ms) == 0 {
		return nil
	}
	out := make([]domain.Milestone, len(ms))
	for i, m := range ms {
		out[i] = domain.Milestone{Date: date(m.GetDate()), Text: m.GetText()}
	}
	return out
}

func schemaToProto(rows []domain.RagSchemeRow) []*pb.RagSchemeRow {
	out := make([]*pb.RagSchemeRow, len(rows))
	for i, r := range rows {
		out[i] = &pb.RagSchemeRow{Code: r.Code, Description: r.Description, Count: r.Count, Percent: r.Percent, Direction: r.Direction}
	}
	return out
}

func schemaFromProto(rows []*pb.RagSchemeRow) []domain.RagSchemeRow {
	if len(rows) == 0 {
		return nil
	}
	out := make([]domain.RagSchemeRow, len(rows))
	for i, r := range rows {
		out[i] = domain.RagSchemeRow{Code: r.GetCode(), Description: r.GetDescription(), Count: r.GetCount(), Percent: r.GetPercent(), Direction: r.GetDirection()}
	}
	return out
}
