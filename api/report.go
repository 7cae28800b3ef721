package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"connectrpc.com/connect"

	"github.com/sendtrail/sendtrail/commands"
	"github.com/sendtrail/sendtrail/domain"
	"github.com/sendtrail/sendtrail/eventstore"
	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
	"github.com/sendtrail/sendtrail/gen/sendtrail/v1/sendtrailv1connect"
	"github.com/sendtrail/sendtrail/projections"
)

// ReportServer implements sendtrail.v1.ReportService: the questions quality
// assurance officers and the board ask of a plan's history.
type ReportServer struct {
	cmds  *commands.Handler
	db    *projections.DB
	store *eventstore.Store
	now   func() time.Time
	log   *slog.Logger
}

var _ sendtrailv1connect.ReportServiceHandler = (*ReportServer)(nil)

// reportRules: reading needs plan.read; closing a period and publishing a
// version change the plan and need plan.edit.
var reportRules = map[string]rule{
	sendtrailv1connect.ReportServiceGetDeadlineTrailProcedure:     {Need: PermRead},
	sendtrailv1connect.ReportServiceListSilentSlipsProcedure:      {Need: PermRead},
	sendtrailv1connect.ReportServiceListDeadlineSlipsProcedure:    {Need: PermRead},
	sendtrailv1connect.ReportServiceExplainActionProcedure:        {Need: PermRead},
	sendtrailv1connect.ReportServiceGetRagSummaryProcedure:        {Need: PermRead},
	sendtrailv1connect.ReportServiceClosePeriodProcedure:          {Need: PermEdit},
	sendtrailv1connect.ReportServiceListReportingPeriodsProcedure: {Need: PermRead},
	sendtrailv1connect.ReportServiceGetKpiScorecardProcedure:      {Need: PermRead},
	sendtrailv1connect.ReportServicePublishPlanVersionProcedure:   {Need: PermEdit},
	sendtrailv1connect.ReportServiceListPlanVersionsProcedure:     {Need: PermRead},
}

func init() {
	registerService(sendtrailv1connect.ReportServiceName, reportRules, func(cfg Config, opts []connect.HandlerOption) (string, http.Handler) {
		return sendtrailv1connect.NewReportServiceHandler(&ReportServer{cmds: cfg.Commands, db: cfg.DB, store: cfg.Store, now: cfg.Now, log: cfg.Log}, opts...)
	})
}

// asOf reads a request's as_of. The zero AsOf is now.
func asOf(a *pb.AsOf) (projections.AsOf, error) {
	if a == nil {
		return projections.AsOf{}, nil
	}
	out := projections.AsOf{Sequence: a.GetSequence(), Version: a.GetPlanVersion()}
	if a.GetDate() != "" {
		d, err := domain.ParseDate(a.GetDate())
		if err != nil {
			return out, domain.Invalid("asOf.date", "%q is not a date (YYYY-MM-DD)", a.GetDate())
		}
		out.Date = d
	}
	switch a.GetBasis() {
	case pb.TimeBasis_TIME_BASIS_UNSPECIFIED, pb.TimeBasis_TIME_BASIS_BUSINESS:
	case pb.TimeBasis_TIME_BASIS_RECORDED:
		out.Recorded = true
	default:
		return out, domain.Invalid("asOf.basis", "unknown time basis %d (want business or recorded)", a.GetBasis())
	}
	return out, out.Validate()
}

// readAt waits, bounded, until the read model has applied the request's
// min_sequence and its as-of sequence (or, with neither, this instance's
// last write: see readAfter), and returns its as-of.
func readAt(ctx context.Context, db *projections.DB, cmds *commands.Handler, minSeq uint64, a *pb.AsOf) (projections.AsOf, error) {
	at, err := asOf(a)
	if err != nil {
		return at, err
	}
	return at, readAfter(ctx, db, cmds, max(minSeq, at.Sequence))
}

func date(field, s string, required bool) (domain.Date, error) {
	if s == "" {
		if required {
			return domain.Date{}, domain.Invalid(field, "a date is required (YYYY-MM-DD)")
		}
		return domain.Date{}, nil
	}
	d, err := domain.ParseDate(s)
	if err != nil {
		return d, domain.Invalid(field, "%q is not a date (YYYY-MM-DD)", s)
	}
	return d, nil
}

func planAndRef(plan, ref string) error {
	if err := domain.ValidateSlug(plan); err != nil {
		return err
	}
	return domain.ValidateRef(ref)
}

// GetDeadlineTrail implements sendtrail.v1.ReportService.GetDeadlineTrail.
func (s *ReportServer) GetDeadlineTrail(ctx context.Context, req *connect.Request[pb.GetDeadlineTrailRequest]) (*connect.Response[pb.GetDeadlineTrailResponse], error) {
	m := req.Msg
	if err := planAndRef(m.GetPlan(), m.GetRef()); err != nil {
		return nil, err
	}
	at, err := readAt(ctx, s.db, s.cmds, m.GetMinSequence(), m.GetAsOf())
	if err != nil {
		return nil, err
	}
	t, err := s.db.DeadlineTrail(ctx, m.GetPlan(), m.GetRef(), at)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&pb.GetDeadlineTrailResponse{Trail: t}), nil
}

// ListSilentSlips implements sendtrail.v1.ReportService.ListSilentSlips.
func (s *ReportServer) ListSilentSlips(ctx context.Context, req *connect.Request[pb.ListSilentSlipsRequest]) (*connect.Response[pb.ListSilentSlipsResponse], error) {
	m := req.Msg
	if err := domain.ValidateSlug(m.GetPlan()); err != nil {
		return nil, err
	}
	at, err := readAt(ctx, s.db, s.cmds, m.GetMinSequence(), m.GetAsOf())
	if err != nil {
		return nil, err
	}
	on, err := date("on", m.GetOn(), false)
	if err != nil {
		return nil, err
	}
	if on.IsZero() {
		on = at.Date
		if on.IsZero() {
			on = domain.DateOf(s.now().UTC())
		}
	}
	slips, err := s.db.SilentSlips(ctx, m.GetPlan(), on, at, m.GetPriority(), m.GetLead())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&pb.ListSilentSlipsResponse{On: on.String(), Slips: slips}), nil
}

// ListDeadlineSlips implements sendtrail.v1.ReportService.ListDeadlineSlips.
func (s *ReportServer) ListDeadlineSlips(ctx context.Context, req *connect.Request[pb.ListDeadlineSlipsRequest]) (*connect.Response[pb.ListDeadlineSlipsResponse], error) {
	m := req.Msg
	if err := domain.ValidateSlug(m.GetPlan()); err != nil {
		return nil, err
	}
	at, err := readAt(ctx, s.db, s.cmds, m.GetMinSequence(), m.GetAsOf())
	if err != nil {
		return nil, err
	}
	f := projections.SlipFilter{Plan: m.GetPlan(), Priority: m.GetPriority(), Lead: m.GetLead(), Origin: m.GetOrigin(),
		Category: m.GetReasonCategory(), MinDays: int(m.GetMinDays()), AsOf: at, PageSize: int(m.GetPageSize()), PageToken: m.GetPageToken()}
	if f.From, err = date("from", m.GetFrom(), false); err != nil {
		return nil, err
	}
	if f.To, err = date("to", m.GetTo(), false); err != nil {
		return nil, err
	}
	res, err := s.db.DeadlineSlips(ctx, f)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(res), nil
}

// ExplainAction implements sendtrail.v1.ReportService.ExplainAction.
func (s *ReportServer) ExplainAction(ctx context.Context, req *connect.Request[pb.ExplainActionRequest]) (*connect.Response[pb.ExplainActionResponse], error) {
	m := req.Msg
	if err := planAndRef(m.GetPlan(), m.GetRef()); err != nil {
		return nil, err
	}
	at, err := readAt(ctx, s.db, s.cmds, m.GetMinSequence(), m.GetAsOf())
	if err != nil {
		return nil, err
	}
	res, err := s.db.ExplainAction(ctx, m.GetPlan(), m.GetRef(), at, int(m.GetPageSize()), m.GetPageToken())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(res), nil
}

// GetRagSummary implements sendtrail.v1.ReportService.GetRagSummary.
func (s *ReportServer) GetRagSummary(ctx context.Context, req *connect.Request[pb.GetRagSummaryRequest]) (*connect.Response[pb.GetRagSummaryResponse], error) {
	m := req.Msg
	if err := domain.ValidateSlug(m.GetPlan()); err != nil {
		return nil, err
	}
	at, err := readAt(ctx, s.db, s.cmds, m.GetMinSequence(), m.GetAsOf())
	if err != nil {
		return nil, err
	}
	sum, err := s.db.RagSummary(ctx, m.GetPlan(), at)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&pb.GetRagSummaryResponse{Summary: sum}), nil
}

// ClosePeriod implements sendtrail.v1.ReportService.ClosePeriod. The
// snapshot is counted from the read model once it has caught up with the
// stream, as the plan stood at the end of the period's date.
func (s *ReportServer) ClosePeriod(ctx context.Context, req *connect.Request[pb.ClosePeriodRequest]) (*connect.Response[pb.ClosePeriodResponse], error) {
	m := req.Msg
	if err := domain.ValidateSlug(m.GetPlan()); err != nil {
		return nil, err
	}
	d, err := date("date", m.GetDate(), true)
	if err != nil {
		return nil, err
	}
	if err := s.caughtUp(ctx); err != nil {
		return nil, err
	}
	counts, err := s.db.RagCountsAt(ctx, m.GetPlan(), d)
	if err != nil {
		return nil, err
	}
	r, err := s.cmds.Execute(ctx, commands.PlanTarget(m.GetPlan()), domain.ClosePeriod{Label: m.GetLabel(), Date: m.GetDate(), RagCounts: counts},
		meta(ctx, m.GetOptions()))
	if err != nil {
		return nil, err
	}
	res := &pb.ClosePeriodResponse{Result: result(r)}
	if err := s.waitFor(ctx, r.Sequence); err != nil {
		return nil, err
	}
	periods, err := s.db.ReportingPeriods(ctx, m.GetPlan(), projections.AsOf{})
	if err != nil {
		return nil, err
	}
	for _, p := range periods {
		if p.GetLabel() == m.GetLabel() {
			res.Period = p
		}
	}
	return connect.NewResponse(res), nil
}

// caughtUp waits, bounded, until the read model has applied everything the
// stream holds.
func (s *ReportServer) caughtUp(ctx context.Context) error {
	if s.store == nil {
		return nil
	}
	last, err := s.store.LastSequence(ctx)
	if err != nil {
		return &domain.Error{Code: domain.EUNAVAILABLE, Message: "the event store is unavailable; nothing was written"}
	}
	return s.waitFor(ctx, last)
}

func (s *ReportServer) waitFor(ctx context.Context, seq uint64) error {
	return readAfter(ctx, s.db, s.cmds, seq)
}

// ListReportingPeriods implements sendtrail.v1.ReportService.ListReportingPeriods.
func (s *ReportServer) ListReportingPeriods(ctx context.Context, req *connect.Request[pb.ListReportingPeriodsRequest]) (*connect.Response[pb.ListReportingPeriodsResponse], error) {
	m := req.Msg
	if err := domain.ValidateSlug(m.GetPlan()); err != nil {
		return nil, err
	}
	at, err := readAt(ctx, s.db, s.cmds, m.GetMinSequence(), m.GetAsOf())
	if err != nil {
		return nil, err
	}
	ps, err := s.db.ReportingPeriods(ctx, m.GetPlan(), at)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&pb.ListReportingPeriodsResponse{Periods: ps}), nil
}

// GetKpiScorecard implements sendtrail.v1.ReportService.GetKpiScorecard.
func (s *ReportServer) GetKpiScorecard(ctx context.Context, req *connect.Request[pb.GetKpiScorecardRequest]) (*connect.Response[pb.GetKpiScorecardResponse], error) {
	m := req.Msg
	if err := domain.ValidateSlug(m.GetPlan()); err != nil {
		return nil, err
	}
	at, err := readAt(ctx, s.db, s.cmds, m.GetMinSequence(), m.GetAsOf())
	if err != nil {
		return nil, err
	}
	ks, err := s.db.KpiScorecard(ctx, m.GetPlan(), m.GetPriority(), at)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&pb.GetKpiScorecardResponse{Indicators: ks}), nil
}

// PublishPlanVersion implements sendtrail.v1.ReportService.PublishPlanVersion.
func (s *ReportServer) PublishPlanVersion(ctx context.Context, req *connect.Request[pb.PublishPlanVersionRequest]) (*connect.Response[pb.PublishPlanVersionResponse], error) {
	m := req.Msg
	if err := domain.ValidateSlug(m.GetPlan()); err != nil {
		return nil, err
	}
	r, err := s.cmds.Execute(ctx, commands.PlanTarget(m.GetPlan()), domain.PublishPlanVersion{Version: m.GetVersion(), Note: m.GetNote(), Date: m.GetDate()},
		meta(ctx, m.GetOptions()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&pb.PublishPlanVersionResponse{Result: result(r)}), nil
}

// ListPlanVersions implements sendtrail.v1.ReportService.ListPlanVersions.
func (s *ReportServer) ListPlanVersions(ctx context.Context, req *connect.Request[pb.ListPlanVersionsRequest]) (*connect.Response[pb.ListPlanVersionsResponse], error) {
	m := req.Msg
	if err := domain.ValidateSlug(m.GetPlan()); err != nil {
		return nil, err
	}
	at, err := readAt(ctx, s.db, s.cmds, m.GetMinSequence(), m.GetAsOf())
	if err != nil {
		return nil, err
	}
	vs, err := s.db.PlanVersions(ctx, m.GetPlan(), at)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&pb.ListPlanVersionsResponse{Versions: vs}), nil
}
