package main

import (
	"context"
	"fmt"
	"io"

	"connectrpc.com/connect"

	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
)

func init() {
	register("lead", "change who leads an action, with a reason: lead reassign PLAN REF --lead …", verbs("lead", verb{
		name: "reassign", summary: "replace an action's leads, with a reason",
		example: `sendtrail lead reassign bcp-2023-26 3.4 --lead "Sam Best – Principal Lead – NHS Dorset" --reason "Commissioning moved to the ICB"`,
		run:     runLeadReassign,
	}))
}

func runLeadReassign(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf clientFlags
	var co commandFlags
	var leads leadFlags
	var reason string
	fs := newFlagSet("lead reassign", "lead reassign PLAN REF --lead \"Name – Role – Organisation\" [--lead …] --reason TEXT",
		`sendtrail lead reassign bcp-2023-26 3.4 --lead "Sam Best – Principal Lead – NHS Dorset" --lead "Jeanette Yorke" --reason "Commissioning moved to the ICB"`, stderr)
	cf.register(fs)
	co.register(fs)
	fs.Var(&leads, "lead", "a new lead: \"Name – Role – Organisation\" or \"Name|Role|Organisation\" (role and organisation optional); repeat for each lead (required)")
	fs.StringVar(&reason, "reason", "", "why (required)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := want("lead reassign", pos, "PLAN", "REF"); err != nil {
		return err
	}
	if len(leads) == 0 {
		return usagef("lead reassign: at least one --lead is required")
	}
	opts, err := co.options()
	if err != nil {
		return err
	}
	c, err := cf.planClient()
	if err != nil {
		return err
	}
	res, err := call(ctx, &cf, func(ctx context.Context) (*connect.Response[pb.ReassignLeadsResponse], error) {
		return c.ReassignLeads(ctx, connect.NewRequest(&pb.ReassignLeadsRequest{Plan: pos[0], Ref: pos[1], Leads: leads, Reason: reason, Options: opts}))
	})
	if err != nil {
		return err
	}
	return printResult(stdout, cf.json, res.Msg, res.Msg.GetResult(), fmt.Sprintf("%s %s: now led by %s", pos[0], pos[1], leadsText(leads)))
}
