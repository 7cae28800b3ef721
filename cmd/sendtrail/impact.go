package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"connectrpc.com/connect"

	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
)

func init() {
	register("impact", "record an action's impact to date: impact record PLAN REF TEXT", verbs("impact", verb{
		name: "record", summary: "record an action's impact to date (an argument, or --file)",
		example: `sendtrail impact record bcp-2023-26 3.4 "EHCP requests from early years settings up 12%"`,
		run:     runImpactRecord,
	}))
}

func runImpactRecord(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf clientFlags
	var co commandFlags
	var file string
	fs := newFlagSet("impact record", "impact record PLAN REF TEXT | --file FILE",
		`sendtrail impact record bcp-2023-26 3.4 "EHCP requests from early years settings up 12%"`, stderr)
	cf.register(fs)
	co.register(fs)
	fs.StringVar(&file, "file", "", "read the text from FILE (- for standard input)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		return usagef("impact record: want PLAN REF TEXT (or PLAN REF --file FILE)")
	}
	text, err := textArg("impact record", pos[2:], file, os.Stdin)
	if err != nil {
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
	res, err := call(ctx, &cf, func(ctx context.Context) (*connect.Response[pb.RecordImpactResponse], error) {
		return c.RecordImpact(ctx, connect.NewRequest(&pb.RecordImpactRequest{Plan: pos[0], Ref: pos[1], Text: text, Options: opts}))
	})
	if err != nil {
		return err
	}
	return printResult(stdout, cf.json, res.Msg, res.Msg.GetResult(), fmt.Sprintf("%s %s: impact recorded", pos[0], pos[1]))
}
