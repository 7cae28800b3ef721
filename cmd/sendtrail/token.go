package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
	"github.com/sendtrail/sendtrail/gen/sendtrail/v1/sendtrailv1connect"
)

func init() {
	register("token", "access tokens (admins): token issue|list|revoke", verbs("token",
		verb{name: "issue", summary: "issue a token for a role on a plan; it is printed once",
			example: `sendtrail token issue --plan bcp-2023-26 --role lead --name "Jeanette Yorke" --lead-name "Jeanette Yorke" --expires 90d --out jeanette.token`,
			run:     runTokenIssue},
		verb{name: "list", summary: "list a plan's tokens (never their secrets)",
			example: "sendtrail token list --plan bcp-2023-26 --all", run: runTokenList},
		verb{name: "revoke", summary: "revoke a token: it is refused from then on",
			example: `sendtrail token revoke --plan bcp-2023-26 3f9c0a1b2c3d4e5f --reason "Left the council"`, run: runTokenRevoke},
	))
}

func (c *clientFlags) tokenClient() (sendtrailv1connect.TokenServiceClient, error) {
	opts, err := c.options()
	if err != nil {
		return nil, err
	}
	return sendtrailv1connect.NewTokenServiceClient(&http.Client{Timeout: c.timeout}, strings.TrimRight(c.server, "/"), opts...), nil
}

// parseExpires reads "90d", a Go duration ("12h"), a date (the token
// works to the end of that day, UTC) or an RFC 3339 time.
func parseExpires(s string, now time.Time) (time.Time, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(d); err == nil && n > 0 {
			return now.Add(time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(d), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t.Add(24 * time.Hour), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q: want days (90d), a duration (12h), a date (2025-03-31) or an RFC 3339 time", s)
}

func runTokenIssue(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf clientFlags
	var req pb.IssueTokenRequest
	var expires, out string
	fs := newFlagSet("token issue", "token issue --plan PLAN|'*' --role ROLE --name NAME [--principal ID] [--lead-name NAME] [--expires WHEN] [--out FILE]",
		`sendtrail token issue --plan bcp-2023-26 --role lead --name "Jeanette Yorke" --lead-name "Jeanette Yorke" --expires 90d --out jeanette.token
sendtrail token issue --plan bcp-2023-26 --role viewer --name "SEND Improvement Board" > board.token`, stderr)
	cf.register(fs)
	fs.StringVar(&req.Plan, "plan", "", "the plan's slug, or '*' for every plan (required)")
	fs.StringVar(&req.Role, "role", "", "admin, editor, lead, viewer, inspector or service (required)")
	fs.StringVar(&req.Name, "name", "", "the holder's name, as events will show it (required)")
	fs.StringVar(&req.Principal, "principal", "", "a stable id for the holder, e.g. an email address (default: from the name, \"Jeanette Yorke\" → jeanette-yorke)")
	fs.StringVar(&req.LeadName, "lead-name", "", "for --role lead: the lead's name as the plan writes it; the token may update the actions they lead")
	fs.StringVar(&expires, "expires", "", "when it stops working: 90d, 12h, 2025-03-31 (to the end of that day, UTC) or RFC 3339 (default: never)")
	fs.StringVar(&out, "out", "", "write the token to this new file (mode 0600) instead of standard output")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("token issue takes flags only, got %q", pos)
	}
	if req.Plan == "" || req.Role == "" || req.Name == "" {
		return usagef("token issue: --plan, --role and --name are required")
	}
	if req.Role == "lead" && req.LeadName == "" {
		return usagef("token issue: a lead token needs --lead-name, the lead's name as the plan writes it")
	}
	if expires != "" {
		t, err := parseExpires(expires, time.Now())
		if err != nil {
			return usagef("token issue: --expires %v", err)
		}
		req.ExpiresAt = timestamppb.New(t)
	}
	var f *os.File
	if out != "" {
		// Create the file first: a token that cannot be written is not issued.
		if f, err = os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err != nil {
			return usagef("token issue: --out: %v", err)
		}
		defer f.Close()
	}
	c, err := cf.tokenClient()
	if err != nil {
		return err
	}
	res, err := call(ctx, &cf, func(ctx context.Context) (*connect.Response[pb.IssueTokenResponse], error) {
		return c.IssueToken(ctx, connect.NewRequest(&req))
	})
	if err != nil {
		if f != nil {
			f.Close()
			os.Remove(out)
		}
		return err
	}
	m := res.Msg
	if f != nil {
		if _, err := fmt.Fprintln(f, m.GetBearerToken()); err != nil {
			return fmt.Errorf("token issue: write %s: %w (the token %s was issued: revoke it)", out, err, m.GetToken().GetId())
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("token issue: write %s: %w (the token %s was issued: revoke it)", out, err, m.GetToken().GetId())
		}
	}
	if cf.json {
		return printJSON(stdout, m)
	}
	info := stderr
	if f != nil {
		info = stdout
	} else {
		fmt.Fprintln(stdout, m.GetBearerToken())
	}
	t := m.GetToken()
	fmt.Fprintf(info, "issued token %s to %s (principal %s): %s on %s", t.GetId(), t.GetName(), t.GetPrincipal(), t.GetRole(), planLabel(t.GetPlan()))
	if t.GetLeadName() != "" {
		fmt.Fprintf(info, ", for the actions %s leads", t.GetLeadName())
	}
	if t.GetExpiresAt() != nil {
		fmt.Fprintf(info, ", expires %s", fmtTS(t.GetExpiresAt()))
	}
	fmt.Fprintf(info, " (stream sequence %d)\n", m.GetResult().GetSequence())
	if f != nil {
		fmt.Fprintf(info, "the token is in %s; it is shown only once and cannot be recovered\n", out)
	} else {
		fmt.Fprintln(info, "the token is shown only once and cannot be recovered: keep it secret")
	}
	return nil
}

func planLabel(p string) string {
	if p == "*" {
		return "every plan"
	}
	return p
}

func runTokenList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf clientFlags
	var req pb.ListTokensRequest
	fs := newFlagSet("token list", "token list --plan PLAN|'*' [--all]", "sendtrail token list --plan bcp-2023-26 --all", stderr)
	cf.register(fs)
	fs.StringVar(&req.Plan, "plan", "", "the plan's slug, or '*' for the tokens of every plan (required)")
	fs.BoolVar(&req.IncludeInactive, "all", false, "include revoked and expired tokens")
	fs.Uint64Var(&req.MinSequence, "min-sequence", 0, "wait until the server has applied this stream sequence")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 1 && req.Plan == "" {
		req.Plan, pos = pos[0], nil
	}
	if len(pos) > 0 || req.Plan == "" {
		return usagef("token list: want --plan PLAN (or '*')")
	}
	c, err := cf.tokenClient()
	if err != nil {
		return err
	}
	res, err := call(ctx, &cf, func(ctx context.Context) (*connect.Response[pb.ListTokensResponse], error) {
		return c.ListTokens(ctx, connect.NewRequest(&req))
	})
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(stdout, res.Msg)
	}
	tw := newTable(stdout)
	fmt.Fprintln(tw, "ID\tPRINCIPAL\tNAME\tROLE\tPLAN\tLEAD\tISSUED\tEXPIRES\tSTATUS")
	now := time.Now()
	for _, t := range res.Msg.GetTokens() {
		status := "active"
		switch {
		case t.GetRevoked():
			status = "revoked " + fmtTS(t.GetRevokedAt())
		case t.GetExpiresAt() != nil && !now.Before(t.GetExpiresAt().AsTime()):
			status = "expired"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.GetId(), cell(t.GetPrincipal(), 40), cell(t.GetName(), 30), t.GetRole(), t.GetPlan(),
			cell(t.GetLeadName(), 30), fmtTS(t.GetIssuedAt()), fmtTS(t.GetExpiresAt()), status)
	}
	tw.Flush()
	fmt.Fprintf(stdout, "%d tokens\n", len(res.Msg.GetTokens()))
	return nil
}

func runTokenRevoke(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf clientFlags
	var co commandFlags
	var plan, reason, file string
	fs := newFlagSet("token revoke", "token revoke --plan PLAN|'*' TOKEN_ID [--reason TEXT] | --plan PLAN --token-to-revoke FILE",
		`sendtrail token revoke --plan bcp-2023-26 3f9c0a1b2c3d4e5f --reason "Left the council"`, stderr)
	cf.register(fs)
	co.register(fs)
	fs.StringVar(&plan, "plan", "", "the plan the token is for, or '*' (required)")
	fs.StringVar(&reason, "reason", "", "why")
	fs.StringVar(&file, "token-to-revoke", "", "a file holding the token to revoke, instead of its id")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if plan == "" {
		return usagef("token revoke: --plan is required (the plan the token is for, as token list shows)")
	}
	var id string
	switch {
	case file != "" && len(pos) == 0:
		b, err := os.ReadFile(file)
		if err != nil {
			return usagef("token revoke: --token-to-revoke: %v", err)
		}
		id = strings.TrimSpace(string(b))
	case file == "" && len(pos) == 1:
		id = pos[0]
	default:
		return usagef("token revoke: want one TOKEN_ID (as token list shows it) or --token-to-revoke FILE")
	}
	opts, err := co.options()
	if err != nil {
		return err
	}
	c, err := cf.tokenClient()
	if err != nil {
		return err
	}
	res, err := call(ctx, &cf, func(ctx context.Context) (*connect.Response[pb.RevokeTokenResponse], error) {
		return c.RevokeToken(ctx, connect.NewRequest(&pb.RevokeTokenRequest{Plan: plan, TokenId: id, Reason: reason, Options: opts}))
	})
	if err != nil {
		return err
	}
	shown := id
	if strings.HasPrefix(id, "st_") && len(id) > 19 {
		shown = id[3:19]
	}
	return printResult(stdout, cf.json, res.Msg, res.Msg.GetResult(), fmt.Sprintf("token %s revoked", shown))
}
