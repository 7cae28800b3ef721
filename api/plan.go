package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"connectrpc.com/connect"

	"github.com/sendtrail/sendtrail/commands"
	"github.com/sendtrail/sendtrail/domain"
	"github.com/sendtrail/sendtrail/eventpb"
	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
	"github.com/sendtrail/sendtrail/gen/sendtrail/v1/sendtrailv1connect"
	"github.com/sendtrail/sendtrail/importer"
	"github.com/sendtrail/sendtrail/projections"
)

// MaxWait bounds how long a query waits for the read model to reach its
// min_sequence.
const MaxWait = 5 * time.Second

// PlanServer implements sendtrail.v1.PlanService.
type PlanServer struct {
	cmds *commands.Handler
	db   *projections.DB
	log  *slog.Logger
}

var _ sendtrailv1connect.PlanServiceHandler = (*PlanServer)(nil)

func init() {
	registerService(sendtrailv1connect.PlanServiceName, planRules, func(cfg Config, opts []connect.HandlerOption) (string, http.Handler) {
		return sendtrailv1connect.NewPlanServiceHandler(&PlanServer{cmds: cfg.Commands, db: cfg.DB, log: cfg.Log}, opts...)
	})
}

func isUnauthenticated(err error) bool { return domain.ErrorCode(err) == domain.EUNAUTHENTICATED }

// meta turns a request's options into command metadata with the
// authenticated actor.
func meta(ctx context.Context, o *pb.CommandOptions) commands.Meta {
	p, _ := PrincipalFrom(ctx)
	m := commands.Meta{Actor: p.Actor(), CommandID: o.GetCommandId()}
	if o != nil && o.ExpectedVersion != nil {
		v := o.GetExpectedVersion()
		m.ExpectedVersion = &v
	}
	if o.GetOccurredAt() != nil {
		m.OccurredAt = o.GetOccurredAt().AsTime()
	}
	return m
}

func result(r commands.Result) *pb.CommandResult {
	return &pb.CommandResult{Sequence: r.Sequence, Version: r.Version, Appended: uint32(r.Appended)}
}

// action runs an action command after checking the ref, and, for a lead,
// that they lead the action.
func (s *PlanServer) action(ctx context.Context, plan, ref string, cmd domain.Command, o *pb.CommandOptions) (*pb.CommandResult, error) {
	if err := domain.ValidateSlug(plan); err != nil {
		return nil, err
	}
	if err := domain.ValidateRef(ref); err != nil {
		return nil, err
	}
	target := commands.ActionTarget(plan, ref)
	if accessFrom(ctx).ownOnly {
		p, _ := PrincipalFrom(ctx)
		st, err := s.cmds.State(ctx, target)
		if err != nil {
			return nil, err
		}
		a, ok := st.(domain.ActionState)
		if !ok || !a.Exists() {
			return nil, notFoundAction(plan, ref)
		}
		if !a.IsLedBy(p.LeadName) {
			return nil, &domain.Error{Code: domain.EFORBIDDEN, Field: "ref",
				Message: fmt.Sprintf("missing permission %s on action %s: it is led by %s, not %s", PermEdit, ref, ledBy(a), p.LeadName)}
		}
	}
	r, err := s.cmds.Execute(ctx, target, cmd, meta(ctx, o))
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		var de *domain.Error
		if e, ok := err.(*domain.Error); ok {
			de = e
		}
		if de != nil && de.Field == "ref" {
			return nil, notFoundAction(plan, ref)
		}
	}
	if err != nil {
		return nil, err
	}
	return result(r), nil
}

func notFoundAction(plan, ref string) error {
	return &domain.Error{Code: domain.ENOTFOUND, Field: "ref", Message: fmt.Sprintf("plan %s has no action %s", plan, ref)}
}

// ImportPlan implements sendtrail.v1.PlanService.ImportPlan.
func (s *PlanServer) ImportPlan(ctx context.Context, req *connect.Request[pb.ImportPlanRequest]) (*connect.Response[pb.ImportPlanResponse], error) {
	m := req.Msg
	if err := domain.ValidateSlug(m.GetPlan()); err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for _, f := range m.GetFiles() {
		if _, dup := files[f.GetName()]; dup {
			return nil, domain.Invalid("files", "%s is given twice", f.GetName())
		}
		files[f.GetName()] = f.GetContent()
	}
	opts := importer.Options{Slug: m.GetPlan(), Title: m.GetTitle(), AcceptFlagged: m.GetAcceptFlagged()}
	plan, err := importer.ReadFiles(files, opts)
	if err != nil {
		return nil, err
	}
	res := importResponse(plan)
	if err := plan.Err(opts); err != nil {
		ce := connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("%s", domain.ErrorMessage(err)))
		if d, derr := connect.NewErrorDetail(res); derr == nil {
			ce.AddDetail(d)
		}
		return nil, ce
	}
	if m.GetDryRun() {
		return connect.NewResponse(res), nil
	}
	mt := meta(ctx, &pb.CommandOptions{OccurredAt: m.GetOccurredAt()})
	out, err := s.cmds.Import(ctx, plan, mt)
	if err != nil {
		return nil, err
	}
	res.Sequence, res.Appended = out.Sequence, uint32(out.Appended)
	return connect.NewResponse(res), nil
}

func importResponse(p *importer.Plan) *pb.ImportPlanResponse {
	res := &pb.ImportPlanResponse{
		Priorities: uint32(len(p.Priorities)), Actions: uint32(len(p.Actions)), Kpis: uint32(len(p.Kpis)), Notes: p.Notes,
	}
	for _, k := range p.Kpis {
		res.KpiValues += uint32(len(k.Values))
	}
	for _, a := range p.Actions {
		if len(a.Flags) > 0 {
			res.FlaggedActions++
		}
	}
	for _, pr := range p.Problems {
		res.Problems = append(res.Problems, &pb.ImportProblem{File: pr.File, Row: int32(pr.Row), Column: pr.Column, Ref: pr.Ref, Value: pr.Value, Message: pr.Message, Flaggable: pr.Flaggable})
	}
	return res
}

// AddAction implements sendtrail.v1.PlanService.AddAction.
func (s *PlanServer) AddAction(ctx context.Context, req *connect.Request[pb.AddActionRequest]) (*connect.Response[pb.AddActionResponse], error) {
	m := req.Msg
	if err := domain.ValidateSlug(m.GetPlan()); err != nil {
		return nil, err
	}
	st, err := s.cmds.State(ctx, commands.PriorityTarget(m.GetPlan(), m.GetPriority()))
	if err != nil {
		return nil, err
	}
	if !st.Exists() {
		return nil, &domain.Error{Code: domain.EINVALID, Field: "priority", Message: fmt.Sprintf("plan %s has no priority area %q", m.GetPlan(), m.GetPriority())}
	}
	cmd := domain.AddAction{Ref: m.GetRef(), Priority: m.GetPriority(), Origin: m.GetOrigin(), Text: m.GetText(),
		Leads: eventpb.LeadsFromProto(m.GetLeads()), Deadline: m.GetDeadline(), Rag: m.GetRag(), SuccessMeasures: m.GetSuccessMeasures()}
	r, err := s.action(ctx, m.GetPlan(), m.GetRef(), cmd, m.GetOptions())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&pb.AddActionResponse{Result: r}), nil
}

// ChangeRag implements sendtrail.v1.PlanService.ChangeRag.
func (s *PlanServer) ChangeRag(ctx context.Context, req *connect.Request[pb.ChangeRagRequest]) (*connect.Response[pb.ChangeRagResponse], error) {
	m := req.Msg
	r, err := s.action(ctx, m.GetPlan(), m.GetRef(), domain.ChangeRag{Rag: m.GetRag(), Commentary: m.GetCommentary()}, m.GetOptions())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&pb.ChangeRagResponse{Result: r}), nil
}

// MoveDeadline implements sendtrail.v1.PlanService.MoveDeadline.
func (s *PlanServer) MoveDeadline(ctx context.Context, req *connect.Request[pb.MoveDeadlineRequest]) (*connect.Response[pb.MoveDeadlineResponse], error) {
	m := req.Msg
	cmd := domain.MoveDeadline{Deadline: m.GetDeadline(), Category: m.GetReasonCategory(), Reason: m.GetReason()}
	r, err := s.action(ctx, m.GetPlan(), m.GetRef(), cmd, m.GetOptions())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&pb.MoveDeadlineResponse{Result: r}), nil
}

// ReassignLeads implements sendtrail.v1.PlanService.ReassignLeads.
func (s *PlanServer) ReassignLeads(ctx context.Context, req *connect.Request[pb.ReassignLeadsRequest]) (*connect.Response[pb.ReassignLeadsResponse], error) {
	m := req.Msg
	cmd := domain.ReassignLeads{Leads: eventpb.LeadsFromProto(m.GetLeads()), Reason: m.GetReason()}
	r, err := s.action(ctx, m.GetPlan(), m.GetRef(), cmd, m.GetOptions())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&pb.ReassignLeadsResponse{Result: r}), nil
}

// RecordProgress implements sendtrail.v1.PlanService.RecordProgress.
func (s *PlanServer) RecordProgress(ctx context.Context, req *connect.Request[pb.RecordProgressRequest]) (*connect.Response[pb.RecordProgressResponse], error) {
	m := req.Msg
	r, err := s.action(ctx, m.GetPlan(), m.GetRef(), domain.RecordProgress{Text: m.GetText()}, m.GetOptions())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&pb.RecordProgressResponse{Result: r}), nil
}

// RecordImpact implements sendtrail.v1.PlanService.RecordImpact.
func (s *PlanServer) RecordImpact(ctx context.Context, req *connect.Request[pb.RecordImpactRequest]) (*connect.Response[pb.RecordImpactResponse], error) {
	m := req.Msg
	r, err := s.action(ctx, m.GetPlan(), m.GetRef(), domain.RecordImpact{Text: m.GetText()}, m.GetOptions())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&pb.RecordImpactResponse{Result: r}), nil
}

// WithdrawAction implements sendtrail.v1.PlanService.WithdrawAction.
func (s *PlanServer) WithdrawAction(ctx context.Context, req *connect.Request[pb.WithdrawActionRequest]) (*connect.Response[pb.WithdrawActionResponse], error) {
	m := req.Msg
	r, err := s.action(ctx, m.GetPlan(), m.GetRef(), domain.WithdrawAction{Reason: m.GetReason()}, m.GetOptions())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&pb.WithdrawActionResponse{Result: r}), nil
}

// ReinstateAction implements sendtrail.v1.PlanService.ReinstateAction.
func (s *PlanServer) ReinstateAction(ctx context.Context, req *connect.Request[pb.ReinstateActionRequest]) (*connect.Response[pb.ReinstateActionResponse], error) {
	m := req.Msg
	r, err := s.action(ctx, m.GetPlan(), m.GetRef(), domain.ReinstateAction{Reason: m.GetReason()}, m.GetOptions())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&pb.ReinstateActionResponse{Result: r}), nil
}

func (s *PlanServer) kpi(ctx context.Context, plan, name string, cmd domain.Command, o *pb.CommandOptions) (*pb.CommandResult, error) {
	if err := domain.ValidateSlug(plan); err != nil {
		return nil, err
	}
	if name == "" {
		return nil, domain.Invalid("indicator", "is required")
	}
	r, err := s.cmds.Execute(ctx, commands.KpiTarget(plan, name), cmd, meta(ctx, o))
	if e, ok := err.(*domain.Error); ok && e.Code == domain.ENOTFOUND && e.Field == "kpi" {
		return nil, &domain.Error{Code: domain.ENOTFOUND, Field: "indicator", Message: fmt.Sprintf("plan %s has no indicator %q", plan, name)}
	}
	if err != nil {
		return nil, err
	}
	return result(r), nil
}

// RecordKpiValue implements sendtrail.v1.PlanService.RecordKpiValue.
func (s *PlanServer) RecordKpiValue(ctx context.Context, req *connect.Request[pb.RecordKpiValueRequest]) (*connect.Response[pb.RecordKpiValueResponse], error) {
	m := req.Msg
	r, err := s.kpi(ctx, m.GetPlan(), m.GetIndicator(), domain.RecordKpiValue{Period: m.GetPeriod(), Value: m.GetValue()}, m.GetOptions())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&pb.RecordKpiValueResponse{Result: r}), nil
}

// CorrectKpiValue implements sendtrail.v1.PlanService.CorrectKpiValue.
func (s *PlanServer) CorrectKpiValue(ctx context.Context, req *connect.Request[pb.CorrectKpiValueRequest]) (*connect.Response[pb.CorrectKpiValueResponse], error) {
	m := req.Msg
	cmd := domain.CorrectKpiValue{Period: m.GetPeriod(), Value: m.GetValue(), Reason: m.GetReason()}
	r, err := s.kpi(ctx, m.GetPlan(), m.GetIndicator(), cmd, m.GetOptions())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&pb.CorrectKpiValueResponse{Result: r}), nil
}

func (s *PlanServer) wait(ctx context.Context, seq uint64) error {
	return readAfter(ctx, s.db, s.cmds, seq)
}

// GetPlan implements sendtrail.v1.PlanService.GetPlan.
func (s *PlanServer) GetPlan(ctx context.Context, req *connect.Request[pb.GetPlanRequest]) (*connect.Response[pb.GetPlanResponse], error) {
	at, err := readAt(ctx, s.db, s.cmds, req.Msg.GetMinSequence(), req.Msg.GetAsOf())
	if err != nil {
		return nil, err
	}
	p, err := s.db.GetPlanAt(ctx, req.Msg.GetPlan(), at)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&pb.GetPlanResponse{Plan: p}), nil
}

// ListActions implements sendtrail.v1.PlanService.ListActions.
func (s *PlanServer) ListActions(ctx context.Context, req *connect.Request[pb.ListActionsRequest]) (*connect.Response[pb.ListActionsResponse], error) {
	m := req.Msg
	at, err := readAt(ctx, s.db, s.cmds, m.GetMinSequence(), m.GetAsOf())
	if err != nil {
		return nil, err
	}
	f := projections.ActionFilter{Plan: m.GetPlan(), Priority: m.GetPriority(), Rag: m.GetRag(), Lead: m.GetLead(),
		Flagged: m.GetFlagged(), IncludeWithdrawn: m.GetIncludeWithdrawn()}
	if m.GetRag() != "" && m.GetRag() != "none" {
		if _, err := domain.ParseRAG(m.GetRag()); err != nil {
			return nil, err
		}
	}
	if m.GetOverdueOn() != "" {
		d, err := domain.ParseDate(m.GetOverdueOn())
		if err != nil {
			return nil, domain.Invalid("overdueOn", "%q is not a date (YYYY-MM-DD)", m.GetOverdueOn())
		}
		f.OverdueOn = d
	}
	if err := s.requirePlan(ctx, m.GetPlan()); err != nil {
		return nil, err
	}
	as, err := s.db.ListActionsAt(ctx, f, at)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&pb.ListActionsResponse{Actions: as}), nil
}

func (s *PlanServer) requirePlan(ctx context.Context, plan string) error {
	ok, err := s.db.PlanExists(ctx, plan)
	if err != nil {
		return err
	}
	if !ok {
		return &domain.Error{Code: domain.ENOTFOUND, Field: "plan", Message: fmt.Sprintf("no plan %s", plan)}
	}
	return nil
}

// GetAction implements sendtrail.v1.PlanService.GetAction.
func (s *PlanServer) GetAction(ctx context.Context, req *connect.Request[pb.GetActionRequest]) (*connect.Response[pb.GetActionResponse], error) {
	at, err := readAt(ctx, s.db, s.cmds, req.Msg.GetMinSequence(), req.Msg.GetAsOf())
	if err != nil {
		return nil, err
	}
	a, err := s.db.GetActionAt(ctx, req.Msg.GetPlan(), req.Msg.GetRef(), at)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&pb.GetActionResponse{Action: a}), nil
}

// GetActionHistory implements sendtrail.v1.PlanService.GetActionHistory.
func (s *PlanServer) GetActionHistory(ctx context.Context, req *connect.Request[pb.GetActionHistoryRequest]) (*connect.Response[pb.GetActionHistoryResponse], error) {
	if err := s.wait(ctx, req.Msg.GetMinSequence()); err != nil {
		return nil, err
	}
	h, err := s.db.ActionHistory(ctx, req.Msg.GetPlan(), req.Msg.GetRef())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&pb.GetActionHistoryResponse{Entries: h}), nil
}

// ListEvents implements sendtrail.v1.PlanService.ListEvents.
func (s *PlanServer) ListEvents(ctx context.Context, req *connect.Request[pb.ListEventsRequest]) (*connect.Response[pb.ListEventsResponse], error) {
	m := req.Msg
	if err := s.wait(ctx, m.GetMinSequence()); err != nil {
		return nil, err
	}
	if err := s.requirePlan(ctx, m.GetPlan()); err != nil {
		return nil, err
	}
	f := projections.EventFilter{Plan: m.GetPlan(), Types: m.GetTypes(), Actor: m.GetActor(),
		AggregateType: m.GetAggregateType(), AggregateID: m.GetAggregateId(), PageSize: int(m.GetPageSize()), PageToken: m.GetPageToken()}
	if m.GetSince() != nil {
		f.Since = m.GetSince().AsTime()
	}
	if m.GetUntil() != nil {
		f.Until = m.GetUntil().AsTime()
	}
	evs, next, err := s.db.ListEvents(ctx, f)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&pb.ListEventsResponse{Events: evs, NextPageToken: next}), nil
}

// ListKpis implements sendtrail.v1.PlanService.ListKpis.
func (s *PlanServer) ListKpis(ctx context.Context, req *connect.Request[pb.ListKpisRequest]) (*connect.Response[pb.ListKpisResponse], error) {
	if err := s.wait(ctx, req.Msg.GetMinSequence()); err != nil {
		return nil, err
	}
	if err := s.requirePlan(ctx, req.Msg.GetPlan()); err != nil {
		return nil, err
	}
	ks, err := s.db.ListKpis(ctx, req.Msg.GetPlan(), req.Msg.GetPriority())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&pb.ListKpisResponse{Kpis: ks}), nil
}
