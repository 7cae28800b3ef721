package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"connectrpc.com/connect"

	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
)

func init() {
	register("action", "one action: action show|add|withdraw|reinstate PLAN REF", verbs("action",
		verb{name: "show", summary: "show an action's current state (and the version to pass as --expected-version)",
			example: "sendtrail action show bcp-2023-26 3.4", run: runActionShow},
		verb{name: "add", summary: "add an action to a priority area",
			example: `sendtrail action add bcp-2023-26 3.20 --priority 3 --text "Audit EY SEND support" --lead "Jeanette Yorke" --deadline 2025-03-31`,
			run:     runActionAdd},
		verb{name: "withdraw", summary: "withdraw an action, with a reason",
			example: `sendtrail action withdraw bcp-2023-26 3.12 --reason "Merged into 3.6 by the board"`, run: runActionWithdraw},
		verb{name: "reinstate", summary: "bring a withdrawn action back, with a reason",
			example: `sendtrail action reinstate bcp-2023-26 3.12 --reason "Withdrawn in error"`, run: runActionReinstate},
	))
}

func runActionShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf clientFlags
	var minSeq uint64
	var at asOfFlags
	fs := newFlagSet("action show", "action show PLAN REF [--as-of YYYY-MM-DD | --as-of-sequence N | --as-of-version V] [--json]",
		"sendtrail action show bcp-2023-26 3.4\nsendtrail action show bcp-2023-26 3.4 --as-of 2024-06-30", stderr)
	cf.register(fs)
	at.register(fs)
	fs.Uint64Var(&minSeq, "min-sequence", 0, "wait until the server has applied this stream sequence (a change's output names it)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := want("action show", pos, "PLAN", "REF"); err != nil {
		return err
	}
	asOf, err := at.proto()
	if err != nil {
		return err
	}
	c, err := cf.planClient()
	if err != nil {
		return err
	}
	res, err := call(ctx, &cf, func(ctx context.Context) (*connect.Response[pb.GetActionResponse], error) {
		return c.GetAction(ctx, connect.NewRequest(&pb.GetActionRequest{Plan: pos[0], Ref: pos[1], MinSequence: minSeq, AsOf: asOf}))
	})
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(stdout, res.Msg)
	}
	printAction(stdout, res.Msg.GetAction())
	return nil
}

func printAction(w io.Writer, a *pb.Action) {
	tw := newTable(w)
	row := func(k, v string) {
		if v == "" {
			v = "-"
		}
		lines := strings.Split(strings.TrimSpace(v), "\n")
		fmt.Fprintf(tw, "%s\t%s\n", k, strings.TrimSpace(lines[0]))
		for _, l := range lines[1:] {
			if l = strings.TrimSpace(l); l != "" {
				fmt.Fprintf(tw, "\t%s\n", l)
			}
		}
	}
	row("Plan", a.GetPlan())
	row("Ref", a.GetRef())
	row("Priority", a.GetPriority())
	row("Action", a.GetText())
	row("Origin", a.GetOrigin())
	leads := leadsText(a.GetLeads())
	if leads == "" {
		leads = a.GetLeadsRaw()
	}
	row("Leads", leads)
	dl := a.GetDeadline()
	if dl == "" && a.GetDeadlineRaw() != "" {
		dl = fmt.Sprintf("(unset; written %q)", a.GetDeadlineRaw())
	}
	if a.GetOriginalDeadline() != "" && a.GetOriginalDeadline() != a.GetDeadline() {
		dl += fmt.Sprintf(" (originally %s, moved %d times)", a.GetOriginalDeadline(), a.GetDeadlineMoves())
	}
	row("Deadline", dl)
	for _, m := range a.GetMilestones() {
		row("  milestone", strings.TrimSpace(m.GetDate()+" "+m.GetText()))
	}
	rag := a.GetRag()
	if rag == "" {
		rag = "not rated"
	} else if a.GetRagDescription() != "" {
		rag += " – " + a.GetRagDescription()
	}
	row("RAG", rag)
	row("Trend", a.GetTrend())
	row("Success measures", a.GetSuccessMeasures())
	row("Progress", a.GetProgress())
	row("Impact", a.GetImpact())
	for _, f := range a.GetFlags() {
		row("Flag", fmt.Sprintf("%s %q: %s", f.GetField(), f.GetRaw(), f.GetMessage()))
	}
	if a.GetWithdrawn() {
		row("Withdrawn", a.GetWithdrawnReason())
	}
	row("Updated", fmtTS(a.GetUpdatedAt()))
	row("Version", fmt.Sprint(a.GetVersion()))
	tw.Flush()
}

func runActionAdd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf clientFlags
	var co commandFlags
	var leads leadFlags
	var priority, origin, text, deadline, rag, measures string
	fs := newFlagSet("action add", "action add PLAN REF --priority N --text TEXT [--lead L]… [--deadline YYYY-MM-DD] [--rag CODE] [--origin O] [--success-measures S]",
		`sendtrail action add bcp-2023-26 3.20 --priority 3 --text "Audit EY SEND support" --lead "Jeanette Yorke – Early Years Operational Manager" --deadline 2025-03-31`, stderr)
	cf.register(fs)
	co.register(fs)
	fs.StringVar(&priority, "priority", "", "the priority area's number, e.g. 3 (required)")
	fs.StringVar(&text, "text", "", "the action (required)")
	fs.StringVar(&origin, "origin", "", "where the action comes from, e.g. \"WSOA\"")
	fs.Var(&leads, "lead", "a lead: \"Name – Role – Organisation\" (role and organisation optional); repeat for each lead")
	fs.StringVar(&deadline, "deadline", "", "YYYY-MM-DD")
	fs.StringVar(&rag, "rag", "", "initial RAG code")
	fs.StringVar(&measures, "success-measures", "", "success measures")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := want("action add", pos, "PLAN", "REF"); err != nil {
		return err
	}
	if priority == "" || text == "" {
		return usagef("action add: --priority and --text are required")
	}
	opts, err := co.options()
	if err != nil {
		return err
	}
	c, err := cf.planClient()
	if err != nil {
		return err
	}
	res, err := call(ctx, &cf, func(ctx context.Context) (*connect.Response[pb.AddActionResponse], error) {
		return c.AddAction(ctx, connect.NewRequest(&pb.AddActionRequest{Plan: pos[0], Ref: pos[1], Priority: priority, Origin: origin,
			Text: text, Leads: leads, Deadline: deadline, Rag: rag, SuccessMeasures: measures, Options: opts}))
	})
	if err != nil {
		return err
	}
	return printResult(stdout, cf.json, res.Msg, res.Msg.GetResult(), fmt.Sprintf("%s %s: added to priority area %s", pos[0], pos[1], priority))
}

func runActionWithdraw(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return withdrawOrReinstate(ctx, "withdraw", args, stdout, stderr)
}

func runActionReinstate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return withdrawOrReinstate(ctx, "reinstate", args, stdout, stderr)
}

func withdrawOrReinstate(ctx context.Context, what string, args []string, stdout, stderr io.Writer) error {
	var cf clientFlags
	var co commandFlags
	var reason string
	example := `sendtrail action withdraw bcp-2023-26 3.12 --reason "Merged into 3.6 by the board"`
	if what == "reinstate" {
		example = `sendtrail action reinstate bcp-2023-26 3.12 --reason "Withdrawn in error"`
	}
	fs := newFlagSet("action "+what, "action "+what+" PLAN REF --reason TEXT [--expected-version N]", example, stderr)
	cf.register(fs)
	co.register(fs)
	fs.StringVar(&reason, "reason", "", "why (required)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := want("action "+what, pos, "PLAN", "REF"); err != nil {
		return err
	}
	opts, err := co.options()
	if err != nil {
		return err
	}
	c, err := cf.planClient()
	if err != nil {
		return err
	}
	if what == "withdraw" {
		res, err := call(ctx, &cf, func(ctx context.Context) (*connect.Response[pb.WithdrawActionResponse], error) {
			return c.WithdrawAction(ctx, connect.NewRequest(&pb.WithdrawActionRequest{Plan: pos[0], Ref: pos[1], Reason: reason, Options: opts}))
		})
		if err != nil {
			return err
		}
		return printResult(stdout, cf.json, res.Msg, res.Msg.GetResult(), fmt.Sprintf("%s %s: withdrawn", pos[0], pos[1]))
	}
	res, err := call(ctx, &cf, func(ctx context.Context) (*connect.Response[pb.ReinstateActionResponse], error) {
		return c.ReinstateAction(ctx, connect.NewRequest(&pb.ReinstateActionRequest{Plan: pos[0], Ref: pos[1], Reason: reason, Options: opts}))
	})
	if err != nil {
		return err
	}
	return printResult(stdout, cf.json, res.Msg, res.Msg.GetResult(), fmt.Sprintf("%s %s: reinstated", pos[0], pos[1]))
}
