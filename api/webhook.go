package api

import (
	"context"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sendtrail/sendtrail/domain"
	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
	"github.com/sendtrail/sendtrail/gen/sendtrail/v1/sendtrailv1connect"
	"github.com/sendtrail/sendtrail/projections"
	"github.com/sendtrail/sendtrail/webhooks"
)

// WebhookServer implements sendtrail.v1.WebhookService.
type WebhookServer struct {
	hooks *webhooks.Service
	db    *projections.DB
}

var _ sendtrailv1connect.WebhookServiceHandler = (*WebhookServer)(nil)

// webhookRules: webhooks are an admin's, on the plan of their token.
var webhookRules = map[string]rule{
	sendtrailv1connect.WebhookServiceAddWebhookProcedure:     {Need: PermManageWebhooks},
	sendtrailv1connect.WebhookServiceListWebhooksProcedure:   {Need: PermManageWebhooks},
	sendtrailv1connect.WebhookServicePauseWebhookProcedure:   {Need: PermManageWebhooks},
	sendtrailv1connect.WebhookServiceResumeWebhookProcedure:  {Need: PermManageWebhooks},
	sendtrailv1connect.WebhookServiceRemoveWebhookProcedure:  {Need: PermManageWebhooks},
	sendtrailv1connect.WebhookServiceListDeliveriesProcedure: {Need: PermManageWebhooks},
	sendtrailv1connect.WebhookServiceReplayDeliveryProcedure: {Need: PermManageWebhooks},
}

func init() {
	registerService(sendtrailv1connect.WebhookServiceName, webhookRules, func(cfg Config, opts []connect.HandlerOption) (string, http.Handler) {
		return sendtrailv1connect.NewWebhookServiceHandler(&WebhookServer{hooks: cfg.Webhooks, db: cfg.DB}, opts...)
	})
}

var errNoWebhooks = &domain.Error{Code: domain.EUNAVAILABLE, Message: "this server does not deliver webhooks"}

func (s *WebhookServer) ready() error {
	if s.hooks == nil {
		return errNoWebhooks
	}
	return nil
}

func whTime(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func webhookPB(w webhooks.Webhook) *pb.Webhook {
	types := w.Types
	if types == nil {
		types = []string{}
	}
	return &pb.Webhook{
		Id: w.ID, Plan: w.Plan, Url: w.URL, Types: types, Status: w.Status, StatusReason: w.Reason,
		StatusSince: whTime(w.Since), ParkedSequence: w.ParkedSequence, CreatedAt: whTime(w.CreatedAt),
		RegisteredSequence: w.Registered, DeliveredSequence: w.Delivered, Pending: w.Pending,
	}
}

func attemptPB(a webhooks.Attempt) *pb.DeliveryAttempt {
	return &pb.DeliveryAttempt{
		At: whTime(a.At), Number: uint32(max(a.Number, 0)), StatusCode: int32(a.StatusCode), Error: a.Error,
		Response: a.Response, DurationMs: uint32(max(a.Duration, 0)), Outcome: a.Outcome, Trigger: a.Trigger,
	}
}

func byName(ctx context.Context) string {
	p, _ := PrincipalFrom(ctx)
	if p.Name != "" {
		return p.Name
	}
	return p.ID
}

// AddWebhook implements sendtrail.v1.WebhookService.AddWebhook.
func (s *WebhookServer) AddWebhook(ctx context.Context, req *connect.Request[pb.AddWebhookRequest]) (*connect.Response[pb.AddWebhookResponse], error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	m := req.Msg
	w, secret, res, err := s.hooks.Add(ctx, m.GetPlan(), m.GetUrl(), m.GetTypes(), meta(ctx, m.GetOptions()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&pb.AddWebhookResponse{Webhook: webhookPB(w), Secret: secret, Result: result(res)}), nil
}

// ListWebhooks implements sendtrail.v1.WebhookService.ListWebhooks.
func (s *WebhookServer) ListWebhooks(ctx context.Context, req *connect.Request[pb.ListWebhooksRequest]) (*connect.Response[pb.ListWebhooksResponse], error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	m := req.Msg
	if err := domain.ValidateSlug(m.GetPlan()); err != nil {
		return nil, err
	}
	if seq := m.GetMinSequence(); seq > 0 {
		wctx, cancel := context.WithTimeout(ctx, MaxWait)
		err := s.db.WaitFor(wctx, seq)
		cancel()
		if err != nil {
			return nil, err
		}
	}
	rows, err := s.db.ListWebhooks(ctx, m.GetPlan(), m.GetIncludeRemoved())
	if err != nil {
		return nil, err
	}
	out := &pb.ListWebhooksResponse{Webhooks: []*pb.Webhook{}}
	for _, r := range rows {
		w := webhooks.Webhook{ID: r.ID, Plan: r.Plan, URL: r.URL, Types: r.Types, Registered: r.Version, CreatedAt: r.CreatedAt}
		if r.Removed {
			w.Status, w.Registered, w.Since = webhooks.StatusRemoved, 0, r.UpdatedAt
		}
		out.Webhooks = append(out.Webhooks, webhookPB(s.hooks.Status(ctx, w)))
	}
	return connect.NewResponse(out), nil
}

// PauseWebhook implements sendtrail.v1.WebhookService.PauseWebhook.
func (s *WebhookServer) PauseWebhook(ctx context.Context, req *connect.Request[pb.PauseWebhookRequest]) (*connect.Response[pb.PauseWebhookResponse], error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	m := req.Msg
	if err := domain.ValidateSlug(m.GetPlan()); err != nil {
		return nil, err
	}
	if len(m.GetReason()) > domain.MaxReason {
		return nil, domain.Invalid("reason", "at most %d characters", domain.MaxReason)
	}
	w, err := s.hooks.Pause(ctx, m.GetPlan(), m.GetWebhookId(), m.GetReason(), byName(ctx))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&pb.PauseWebhookResponse{Webhook: webhookPB(w)}), nil
}

// ResumeWebhook implements sendtrail.v1.WebhookService.ResumeWebhook.
func (s *WebhookServer) ResumeWebhook(ctx context.Context, req *connect.Request[pb.ResumeWebhookRequest]) (*connect.Response[pb.ResumeWebhookResponse], error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	w, err := s.hooks.Resume(ctx, req.Msg.GetPlan(), req.Msg.GetWebhookId(), byName(ctx))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&pb.ResumeWebhookResponse{Webhook: webhookPB(w)}), nil
}

// RemoveWebhook implements sendtrail.v1.WebhookService.RemoveWebhook.
func (s *WebhookServer) RemoveWebhook(ctx context.Context, req *connect.Request[pb.RemoveWebhookRequest]) (*connect.Response[pb.RemoveWebhookResponse], error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	m := req.Msg
	res, err := s.hooks.Remove(ctx, m.GetPlan(), m.GetWebhookId(), meta(ctx, m.GetOptions()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&pb.RemoveWebhookResponse{Result: result(res)}), nil
}

// ListDeliveries implements sendtrail.v1.WebhookService.ListDeliveries.
func (s *WebhookServer) ListDeliveries(ctx context.Context, req *connect.Request[pb.ListDeliveriesRequest]) (*connect.Response[pb.ListDeliveriesResponse], error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	m := req.Msg
	limit := int(m.GetLimit())
	switch {
	case limit <= 0:
		limit = 50
	case limit > webhooks.MaxLogPerWebhook:
		limit = webhooks.MaxLogPerWebhook
	}
	ds, err := s.hooks.Deliveries(ctx, m.GetPlan(), m.GetWebhookId(), limit)
	if err != nil {
		return nil, err
	}
	out := &pb.ListDeliveriesResponse{Deliveries: make([]*pb.Delivery, 0, len(ds))}
	for _, d := range ds {
		pd := &pb.Delivery{Sequence: d.Sequence, EventId: d.EventID, Type: d.Type, Subject: d.Subject, Status: d.Status}
		if d.NextAt != nil {
			pd.NextAttemptAt = timestamppb.New(*d.NextAt)
		}
		for _, a := range d.Attempts {
			pd.Attempts = append(pd.Attempts, attemptPB(a))
		}
		out.Deliveries = append(out.Deliveries, pd)
	}
	return connect.NewResponse(out), nil
}

// ReplayDelivery implements sendtrail.v1.WebhookService.ReplayDelivery.
func (s *WebhookServer) ReplayDelivery(ctx context.Context, req *connect.Request[pb.ReplayDeliveryRequest]) (*connect.Response[pb.ReplayDeliveryResponse], error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	m := req.Msg
	outcome, att, w, err := s.hooks.Replay(ctx, m.GetPlan(), m.GetWebhookId(), m.GetSequence(), byName(ctx))
	if err != nil {
		return nil, err
	}
	res := &pb.ReplayDeliveryResponse{Outcome: outcome, Webhook: webhookPB(w)}
	if att != nil {
		res.Attempt = attemptPB(*att)
	}
	return connect.NewResponse(res), nil
}
