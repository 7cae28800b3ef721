package main

import (
	"context"
	"fmt"
	"io"

	"connectrpc.com/connect"

	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
)

func init() {
	register("deadline", "move an action's deadline, with a reason: deadline move PLAN REF --to DATE", verbs("deadline", verb{
		name: "move", summary: "move an action's deadline, with a reason category and a reason",
		example: `sendtrail deadline move bcp-2023-26 3.4 --to 2024-12-31 --category capacity --reason "Restructure delayed recruitment"`,
		run:     runDeadlineMove,
	}))
}

func runDeadlineMove(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf clientFlags
	var co commandFlags
	var to, category, reason string
	fs := newFlagSet("deadline move", "deadline move PLAN REF --to YYYY-MM-DD --category CATEGORY --reason TEXT [--expected-version N]",
		`sendtrail deadline move bcp-2023-26 3.4 --to 2024-12-31 --category capacity --reason "Restructure delayed recruitment"`, stderr)
	cf.register(fs)
	co.register(fs)
	fs.StringVar(&to, "to", "", "the new deadline, YYYY-MM-DD (required)")
	fs.StringVar(&category, "category", "", "capacity, dependency, scope, external, funding, reprioritised, rebaselined or other (required)")
	fs.StringVar(&reason, "reason", "", "why, in words (required)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := want("deadline move", pos, "PLAN", "REF"); err != nil {
		return err
	}
	if to == "" {
		return usagef("deadline move: --to YYYY-MM-DD is required")
	}
	opts, err := co.options()
	if err != nil {
		return err
	}
	c, err := cf.planClient()
	if err != nil {
		return err
	}
	res, err := call(ctx, &cf, func(ctx context.Context) (*connect.Response[pb.MoveDeadlineResponse], error) {
		return c.MoveDeadline(ctx, connect.NewRequest(&pb.MoveDeadlineRequest{Plan: pos[0], Ref: pos[1], Deadline: to,
			ReasonCategory: category, Reason: reason, Options: opts}))
	})
	if err != nil {
		return err
	}
	return printResult(stdout, cf.json, res.Msg, res.Msg.GetResult(), fmt.Sprintf("%s %s: deadline moved to %s (%s)", pos[0], pos[1], to, category))
}
