package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"connectrpc.com/connect"

	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
	"github.com/sendtrail/sendtrail/gen/sendtrail/v1/sendtrailv1connect"
)

func init() {
	register("webhook", "signed webhooks (admins): webhook add|list|pause|resume|remove|deliveries|replay", verbs("webhook",
		verb{name: "add", summary: "register a webhook; its signing secret is printed once",
			example: "sendtrail webhook add --plan bcp-2023-26 --url https://casework.example.org/hooks/sendtrail --types rag_changed,deadline_moved",
			run:     runWebhookAdd},
		verb{name: "list", summary: "list a plan's webhooks with their delivery status",
			example: "sendtrail webhook list --plan bcp-2023-26", run: runWebhookList},
		verb{name: "pause", summary: "stop deliveries; events queue, none is lost",
			example: `sendtrail webhook pause --plan bcp-2023-26 WEBHOOK_ID --reason "receiver maintenance"`, run: runWebhookPause},
		verb{name: "resume", summary: "deliver again, from the first event not yet delivered",
			example: "sendtrail webhook resume --plan bcp-2023-26 WEBHOOK_ID", run: runWebhookResume},
		verb{name: "remove", summary: "remove a webhook and delete its secret",
			example: "sendtrail webhook remove --plan bcp-2023-26 WEBHOOK_ID", run: runWebhookRemove},
		verb{name: "deliveries", summary: "a webhook's recent deliveries with every attempt and response",
			example: "sendtrail webhook deliveries --plan bcp-2023-26 WEBHOOK_ID --limit 20", run: runWebhookDeliveries},
		verb{name: "replay", summary: "resume a parked webhook at its parked delivery, or send one past event again",
			example: "sendtrail webhook replay --plan bcp-2023-26 WEBHOOK_ID [--seq 4211]", run: runWebhookReplay},
	))
}

func (c *clientFlags) webhookClient() (sendtrailv1connect.WebhookServiceClient, error) {
	opts, err := c.options()
	if err != nil {
		return nil, err
	}
	return sendtrailv1connect.NewWebhookServiceClient(&http.Client{Timeout: c.timeout}, strings.TrimRight(c.server, "/"), opts...), nil
}

func printWebhook(w io.Writer, h *pb.Webhook) {
	types := "every type"
	if len(h.GetTypes()) > 0 {
		types = strings.Join(h.GetTypes(), ", ")
	}
	fmt.Fprintf(w, "webhook %s on %s: %s\n  url:       %s\n  types:     %s\n", h.GetId(), h.GetPlan(), statusText(h), h.GetUrl(), types)
	fmt.Fprintf(w, "  delivered: up to sequence %d; %d pending\n", h.GetDeliveredSequence(), h.GetPending())
}

func statusText(h *pb.Webhook) string {
	s := h.GetStatus()
	if h.GetStatusReason() != "" {
		s += " (" + h.GetStatusReason() + ")"
	}
	if h.GetParkedSequence() > 0 {
		s += fmt.Sprintf(" at sequence %d", h.GetParkedSequence())
	}
	return s
}

func runWebhookAdd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf clientFlags
	var cmd commandFlags
	var req pb.AddWebhookRequest
	var types string
	fs := newFlagSet("webhook add", "webhook add --plan PLAN --url URL [--types T,T]",
		"sendtrail webhook add --plan bcp-2023-26 --url https://casework.example.org/hooks/sendtrail --types rag_changed,deadline_moved,leads_reassigned", stderr)
	cf.register(fs)
	fs.StringVar(&req.Plan, "plan", "", "the plan's slug (required)")
	fs.StringVar(&req.Url, "url", "", "where to POST deliveries: an http:// or https:// URL (required)")
	fs.StringVar(&types, "types", "", "event types to deliver, comma-separated (default: every type)")
	fs.StringVar(&cmd.commandID, "command-id", "", "your id for this registration: repeating it registers one webhook and answers the same secret")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || req.Plan == "" || req.Url == "" {
		return usagef("webhook add: want --plan PLAN --url URL")
	}
	for _, t := range strings.Split(types, ",") {
		if t = strings.TrimSpace(t); t != "" {
			req.Types = append(req.Types, t)
		}
	}
	req.Options = &pb.CommandOptions{CommandId: cmd.commandID}
	c, err := cf.webhookClient()
	if err != nil {
		return err
	}
	res, err := call(ctx, &cf, func(ctx context.Context) (*connect.Response[pb.AddWebhookResponse], error) {
		return c.AddWebhook(ctx, connect.NewRequest(&req))
	})
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(stdout, res.Msg)
	}
	printWebhook(stdout, res.Msg.GetWebhook())
	fmt.Fprintf(stdout, "  secret:    %s\n", res.Msg.GetSecret())
	fmt.Fprintf(stdout, "the signing secret is shown only once: keep it secret, verify every delivery with it (docs/subscribing.md)\n")
	return nil
}

func runWebhookList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf clientFlags
	var req pb.ListWebhooksRequest
	fs := newFlagSet("webhook list", "webhook list --plan PLAN [--all]", "sendtrail webhook list --plan bcp-2023-26", stderr)
	cf.register(fs)
	fs.StringVar(&req.Plan, "plan", "", "the plan's slug (required)")
	fs.BoolVar(&req.IncludeRemoved, "all", false, "include removed webhooks")
	fs.Uint64Var(&req.MinSequence, "min-sequence", 0, "wait until the server has applied this stream sequence")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || req.Plan == "" {
		return usagef("webhook list: want --plan PLAN")
	}
	c, err := cf.webhookClient()
	if err != nil {
		return err
	}
	res, err := call(ctx, &cf, func(ctx context.Context) (*connect.Response[pb.ListWebhooksResponse], error) {
		return c.ListWebhooks(ctx, connect.NewRequest(&req))
	})
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(stdout, res.Msg)
	}
	tw := newTable(stdout)
	fmt.Fprintln(tw, "ID\tSTATUS\tDELIVERED\tPENDING\tTYPES\tURL")
	for _, h := range res.Msg.GetWebhooks() {
		types := "all"
		if len(h.GetTypes()) > 0 {
			types = strings.Join(h.GetTypes(), ",")
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\n", h.GetId(), cell(statusText(h), 60), h.GetDeliveredSequence(), h.GetPending(), types, h.GetUrl())
	}
	return tw.Flush()
}

// oneWebhook parses the flags of a verb on one webhook: --plan and the id.
func oneWebhook(name, example string, args []string, stderr io.Writer, more func(fsAdd func(name, value, usage string) *string)) (*clientFlags, string, string, map[string]*string, error) {
	var cf clientFlags
	var plan string
	fs := newFlagSet("webhook "+name, "webhook "+name+" --plan PLAN WEBHOOK_ID", example, stderr)
	cf.register(fs)
	fs.StringVar(&plan, "plan", "", "the plan's slug (required)")
	extra := map[string]*string{}
	if more != nil {
		more(func(n, v, u string) *string {
			p := fs.String(n, v, u)
			extra[n] = p
			return p
		})
	}
	pos, err := parse(fs, args)
	if err != nil {
		return nil, "", "", nil, err
	}
	if len(pos) != 1 || plan == "" {
		return nil, "", "", nil, usagef("webhook %s: want --plan PLAN WEBHOOK_ID", name)
	}
	return &cf, plan, pos[0], extra, nil
}

func runWebhookPause(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cf, plan, id, extra, err := oneWebhook("pause", `sendtrail webhook pause --plan bcp-2023-26 WEBHOOK_ID --reason "receiver maintenance"`, args, stderr,
		func(add func(string, string, string) *string) {
			add("reason", "", "why (shown in the webhook's status)")
		})
	if err != nil {
		return err
	}
	c, err := cf.webhookClient()
	if err != nil {
		return err
	}
	res, err := call(ctx, cf, func(ctx context.Context) (*connect.Response[pb.PauseWebhookResponse], error) {
		return c.PauseWebhook(ctx, connect.NewRequest(&pb.PauseWebhookRequest{Plan: plan, WebhookId: id, Reason: *extra["reason"]}))
	})
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(stdout, res.Msg)
	}
	printWebhook(stdout, res.Msg.GetWebhook())
	return nil
}

func runWebhookResume(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cf, plan, id, _, err := oneWebhook("resume", "sendtrail webhook resume --plan bcp-2023-26 WEBHOOK_ID", args, stderr, nil)
	if err != nil {
		return err
	}
	c, err := cf.webhookClient()
	if err != nil {
		return err
	}
	res, err := call(ctx, cf, func(ctx context.Context) (*connect.Response[pb.ResumeWebhookResponse], error) {
		return c.ResumeWebhook(ctx, connect.NewRequest(&pb.ResumeWebhookRequest{Plan: plan, WebhookId: id}))
	})
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(stdout, res.Msg)
	}
	printWebhook(stdout, res.Msg.GetWebhook())
	return nil
}

func runWebhookRemove(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cf, plan, id, _, err := oneWebhook("remove", "sendtrail webhook remove --plan bcp-2023-26 WEBHOOK_ID", args, stderr, nil)
	if err != nil {
		return err
	}
	c, err := cf.webhookClient()
	if err != nil {
		return err
	}
	res, err := call(ctx, cf, func(ctx context.Context) (*connect.Response[pb.RemoveWebhookResponse], error) {
		return c.RemoveWebhook(ctx, connect.NewRequest(&pb.RemoveWebhookRequest{Plan: plan, WebhookId: id}))
	})
	if err != nil {
		return err
	}
	return printResult(stdout, cf.json, res.Msg, res.Msg.GetResult(), "removed webhook "+id)
}

func runWebhookDeliveries(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cf, plan, id, extra, err := oneWebhook("deliveries", "sendtrail webhook deliveries --plan bcp-2023-26 WEBHOOK_ID --limit 20", args, stderr,
		func(add func(string, string, string) *string) {
			add("limit", "50", "at most this many deliveries, newest first")
		})
	if err != nil {
		return err
	}
	limit, err := strconv.ParseUint(*extra["limit"], 10, 32)
	if err != nil {
		return usagef("webhook deliveries: --limit %q is not a number", *extra["limit"])
	}
	c, err := cf.webhookClient()
	if err != nil {
		return err
	}
	res, err := call(ctx, cf, func(ctx context.Context) (*connect.Response[pb.ListDeliveriesResponse], error) {
		return c.ListDeliveries(ctx, connect.NewRequest(&pb.ListDeliveriesRequest{Plan: plan, WebhookId: id, Limit: uint32(limit)}))
	})
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(stdout, res.Msg)
	}
	tw := newTable(stdout)
	fmt.Fprintln(tw, "SEQ\tTYPE\tSUBJECT\tSTATUS\tATTEMPTS\tLAST ATTEMPT\tANSWER\tNEXT")
	for _, d := range res.Msg.GetDeliveries() {
		var last *pb.DeliveryAttempt
		n := 0
		for _, a := range d.GetAttempts() {
			if a.GetOutcome() != "resumed" {
				last = a
				n++
			}
		}
		when, answer := "-", "-"
		if last != nil {
			when = fmtTS(last.GetAt())
			answer = last.GetError()
			if answer == "" {
				answer = fmt.Sprintf("HTTP %d", last.GetStatusCode())
			}
			if last.GetResponse() != "" {
				answer += ": " + last.GetResponse()
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", d.GetSequence(), d.GetType(), cell(d.GetSubject(), 20), d.GetStatus(), n, when,
			cell(answer, 60), fmtTS(d.GetNextAttemptAt()))
	}
	return tw.Flush()
}

func runWebhookReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cf, plan, id, extra, err := oneWebhook("replay", "sendtrail webhook replay --plan bcp-2023-26 WEBHOOK_ID [--seq 4211]", args, stderr,
		func(add func(string, string, string) *string) {
			add("seq", "0", "the stream sequence of a past event to send once more (default: the parked delivery)")
		})
	if err != nil {
		return err
	}
	seq, err := strconv.ParseUint(*extra["seq"], 10, 64)
	if err != nil {
		return usagef("webhook replay: --seq %q is not a sequence", *extra["seq"])
	}
	c, err := cf.webhookClient()
	if err != nil {
		return err
	}
	res, err := call(ctx, cf, func(ctx context.Context) (*connect.Response[pb.ReplayDeliveryResponse], error) {
		return c.ReplayDelivery(ctx, connect.NewRequest(&pb.ReplayDeliveryRequest{Plan: plan, WebhookId: id, Sequence: seq}))
	})
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(stdout, res.Msg)
	}
	m := res.Msg
	switch m.GetOutcome() {
	case "resumed":
		fmt.Fprintf(stdout, "webhook %s resumed: delivering again from the parked event, in order\n", id)
	default:
		a := m.GetAttempt()
		answer := a.GetError()
		if answer == "" {
			answer = fmt.Sprintf("HTTP %d", a.GetStatusCode())
		}
		fmt.Fprintf(stdout, "sequence %d sent again to webhook %s: %s (%s, %d ms)\n", seq, id, m.GetOutcome(), answer, a.GetDurationMs())
	}
	printWebhook(stdout, m.GetWebhook())
	return nil
}
