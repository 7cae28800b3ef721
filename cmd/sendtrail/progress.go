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
	register("progress", "record an action's progress to date: progress record PLAN REF TEXT", verbs("progress", verb{
		name: "record", summary: "record an action's progress to date (an argument, or --file)",
		example: `sendtrail progress record bcp-2023-26 3.4 "Two EY SEND advisers recruited; training plan agreed"`,
		run:     runProgressRecord,
	}))
}

func runProgressRecord(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf clientFlags
	var co commandFlags
	var file string
	fs := newFlagSet("progress record", "progress record PLAN REF TEXT | --file FILE",
		`sendtrail progress record bcp-2023-26 3.4 "Two EY SEND advisers recruited; training plan agreed"
sendtrail progress record bcp-2023-26 3.4 --file progress-3.4.txt`, stderr)
	cf.register(fs)
	co.register(fs)
	fs.StringVar(&file, "file", "", "read the text from FILE (- for standard input)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		return usagef("progress record: want PLAN REF TEXT (or PLAN REF --file FILE)")
	}
	text, err := textArg("progress record", pos[2:], file, os.Stdin)
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
	res, err := call(ctx, &cf, func(ctx context.Context) (*connect.Response[pb.RecordProgressResponse], error) {
		return c.RecordProgress(ctx, connect.NewRequest(&pb.RecordProgressRequest{Plan: pos[0], Ref: pos[1], Text: text, Options: opts}))
	})
	if err != nil {
		return err
	}
	return printResult(stdout, cf.json, res.Msg, res.Msg.GetResult(), fmt.Sprintf("%s %s: progress recorded", pos[0], pos[1]))
}
