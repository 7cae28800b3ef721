package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sendtrail/sendtrail/commands"
	"github.com/sendtrail/sendtrail/domain"
	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
	"github.com/sendtrail/sendtrail/gen/sendtrail/v1/sendtrailv1connect"
	"github.com/sendtrail/sendtrail/projections"
)

// TokenServer implements sendtrail.v1.TokenService.
type TokenServer struct {
	cmds *commands.Handler
	db   *projections.DB
	now  func() time.Time
	log  *slog.Logger
}

var _ sendtrailv1connect.TokenServiceHandler = (*TokenServer)(nil)

// tokenRules: only an admin manages tokens, and only for the plan of their
// own token (authorize compares the request's plan with the token's, so a
// request for "*" needs a token for "*").
var tokenRules = map[string]rule{
	sendtrailv1connect.TokenServiceIssueTokenProcedure:  {Need: PermManageTokens},
	sendtrailv1connect.TokenServiceListTokensProcedure:  {Need: PermManageTokens},
	sendtrailv1connect.TokenServiceRevokeTokenProcedure: {Need: PermManageTokens},
}

func init() {
	registerService(sendtrailv1connect.TokenServiceName, tokenRules, func(cfg Config, opts []connect.HandlerOption) (string, http.Handler) {
		return sendtrailv1connect.NewTokenServiceHandler(&TokenServer{cmds: cfg.Commands, db: cfg.DB, now: cfg.Now, log: cfg.Log}, opts...)
	})
}

// AllPlans is the plan of a token for every plan.
const AllPlans = "*"

var principalRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+\-]{0,127}$`)

// PrincipalFromName derives a principal id from a display name: lower
// case, every run of other characters than letters and digits made one
// "-" ("Jeanette Yorke" → "jeanette-yorke"). It returns "" when the name
// has no ASCII letter or digit.
func PrincipalFromName(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			if b.Len() >= 100 {
				break
			}
			continue
		}
		dash = true
	}
	return b.String()
}

func validTokenPlan(plan string) error {
	if plan == AllPlans {
		return nil
	}
	if err := domain.ValidateSlug(plan); err != nil {
		return domain.Invalid("plan", "%q is neither a plan slug (e.g. bcp-2023-26) nor * (every plan)", plan)
	}
	if plan == domain.ReservedSlug {
		return domain.Invalid("plan", "%q is reserved; use * for a token for every plan", plan)
	}
	return nil
}

// IssueToken implements sendtrail.v1.TokenService.IssueToken.
func (s *TokenServer) IssueToken(ctx context.Context, req *connect.Request[pb.IssueTokenRequest]) (*connect.Response[pb.IssueTokenResponse], error) {
	m := req.Msg
	if err := validTokenPlan(m.GetPlan()); err != nil {
		return nil, err
	}
	role, err := domain.ParseRole(m.GetRole())
	if err != nil {
		return nil, err
	}
	name := strings.TrimSpace(m.GetName())
	if name == "" {
		return nil, domain.Invalid("name", "is required: the holder's name as events will show it")
	}
	principal := strings.TrimSpace(m.GetPrincipal())
	if principal == "" {
		principal = PrincipalFromName(name)
		if principal == "" {
			return nil, domain.Invalid("principal", "cannot be derived from the name %q: give one (letters, digits and . _ @ + -)", name)
		}
	}
	if !principalRE.MatchString(principal) {
		return nil, domain.Invalid("principal", "%q: want up to 128 letters, digits and . _ @ + -, starting with a letter or digit", principal)
	}
	leadName := strings.TrimSpace(m.GetLeadName())
	if len(leadName) > domain.MaxShort {
		return nil, domain.Invalid("leadName", "at most %d characters", domain.MaxShort)
	}
	if leadName != "" && role != domain.RoleLead {
		return nil, domain.Invalid("leadName", "is only for the lead role, not %s", role)
	}
	now := s.now()
	var expires time.Time
	if m.GetExpiresAt() != nil {
		if err := m.GetExpiresAt().CheckValid(); err != nil {
			return nil, domain.Invalid("expiresAt", "%v", err)
		}
		expires = m.GetExpiresAt().AsTime().UTC()
		if !expires.After(now) {
			return nil, domain.Invalid("expiresAt", "%s is not in the future", expires.Format(time.RFC3339))
		}
	}
	tok, id, hash, err := NewSecret()
	if err != nil {
		return nil, err
	}
	// The command id is always the server's: a retried issue must make a
	// new token, never answer a secret that was not stored.
	r, err := s.cmds.Execute(ctx, commands.TokenTarget(m.GetPlan(), id), domain.IssueToken{
		TokenID: id, Principal: principal, Name: name, Role: string(role), Plan: m.GetPlan(), LeadName: leadName, Hash: hash, ExpiresAt: expires,
	}, meta(ctx, nil))
	if err != nil {
		return nil, err
	}
	if r.Appended != 1 {
		return nil, domain.Errorf(domain.EINTERNAL, "token %s: %d events appended", id, r.Appended)
	}
	// Wait until the read model knows the token, so that it works as soon
	// as it is shown. It is issued either way: say so in the log only.
	if err := s.wait(ctx, r.Sequence); err != nil {
		s.log.WarnContext(ctx, "issued token not yet in the read model", "token", id, "sequence", r.Sequence, "err", err)
	}
	info := &pb.TokenInfo{Id: id, Principal: principal, Name: name, Role: string(role), Plan: m.GetPlan(), LeadName: leadName,
		IssuedAt: timestamppb.New(now)}
	if !expires.IsZero() {
		info.ExpiresAt = timestamppb.New(expires)
	}
	return connect.NewResponse(&pb.IssueTokenResponse{BearerToken: tok, Token: info, Result: result(r)}), nil
}

// ListTokens implements sendtrail.v1.TokenService.ListTokens.
func (s *TokenServer) ListTokens(ctx context.Context, req *connect.Request[pb.ListTokensRequest]) (*connect.Response[pb.ListTokensResponse], error) {
	m := req.Msg
	if err := validTokenPlan(m.GetPlan()); err != nil {
		return nil, err
	}
	if err := s.wait(ctx, m.GetMinSequence()); err != nil {
		return nil, err
	}
	f := projections.TokenFilter{Plan: m.GetPlan(), AllPlans: m.GetPlan() == AllPlans}
	if !m.GetIncludeInactive() {
		f.ActiveAt = s.now()
	}
	ts, err := s.db.ListTokens(ctx, f)
	if err != nil {
		return nil, err
	}
	out := &pb.ListTokensResponse{Tokens: make([]*pb.TokenInfo, 0, len(ts))}
	for _, t := range ts {
		out.Tokens = append(out.Tokens, tokenInfo(t))
	}
	return connect.NewResponse(out), nil
}

func tokenInfo(t projections.TokenListing) *pb.TokenInfo {
	ts := func(t time.Time) *timestamppb.Timestamp {
		if t.IsZero() {
			return nil
		}
		return timestamppb.New(t)
	}
	return &pb.TokenInfo{Id: t.ID, Principal: t.Principal, Name: t.Name, Role: string(t.Role), Plan: t.Plan, LeadName: t.LeadName,
		IssuedAt: ts(t.IssuedAt), ExpiresAt: ts(t.ExpiresAt), Revoked: t.Revoked, RevokedAt: ts(t.RevokedAt)}
}

// RevokeToken implements sendtrail.v1.TokenService.RevokeToken.
func (s *TokenServer) RevokeToken(ctx context.Context, req *connect.Request[pb.RevokeTokenRequest]) (*connect.Response[pb.RevokeTokenResponse], error) {
	m := req.Msg
	if err := validTokenPlan(m.GetPlan()); err != nil {
		return nil, err
	}
	id := strings.TrimSpace(m.GetTokenId())
	if tid, _, ok := parseToken(id); ok {
		id = tid // the whole token was given
	}
	if !tokenIDRE.MatchString(id) {
		return nil, domain.Invalid("tokenId", "%q is not a token id (16 hex digits, as token list shows)", m.GetTokenId())
	}
	if err := checkReason(m.GetReason()); err != nil {
		return nil, err
	}
	// A token is revoked under the plan it is for: naming another plan
	// reaches nothing.
	notFound := &domain.Error{Code: domain.ENOTFOUND, Field: "tokenId", Message: fmt.Sprintf("plan %s has no token %s", m.GetPlan(), id)}
	if t, err := s.db.TokenByID(ctx, id); domain.ErrorCode(err) == domain.ENOTFOUND || (err == nil && t.Plan != m.GetPlan()) {
		return nil, notFound
	} else if err != nil {
		return nil, err
	}
	r, err := s.cmds.Execute(ctx, commands.TokenTarget(m.GetPlan(), id), domain.RevokeToken{TokenID: id, Reason: strings.TrimSpace(m.GetReason())}, meta(ctx, m.GetOptions()))
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	// Refused from the moment this returns: authentication reads the read
	// model, so wait for it to apply the revocation.
	if err := s.wait(ctx, r.Sequence); err != nil {
		return nil, &domain.Error{Code: domain.EUNAVAILABLE, Message: fmt.Sprintf(
			"the revocation is recorded at sequence %d but not yet applied here; retry with the same commandId to confirm", r.Sequence)}
	}
	return connect.NewResponse(&pb.RevokeTokenResponse{Result: result(r)}), nil
}

var tokenIDRE = regexp.MustCompile(`^[0-9a-f]{16}$`)

func checkReason(reason string) error {
	if len(reason) > domain.MaxShort*4 {
		return domain.Invalid("reason", "at most %d characters", domain.MaxShort*4)
	}
	return nil
}

func (s *TokenServer) wait(ctx context.Context, seq uint64) error {
	return readAfter(ctx, s.db, s.cmds, seq)
}
