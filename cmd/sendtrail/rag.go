package main

import (
	"context"
	"fmt"
	"io"

	"connectrpc.com/connect"

	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
)

func init() {
	register("rag", "rate an action: rag set PLAN REF CODE", verbs("rag", verb{
		name: "set", summary: "set an action's RAG rating (R, A, P, G, C or NS), with a commentary",
		example: `sendtrail rag set bcp-2023-26 3.4 A --commentary "Recruitment to the EY SEND team delayed"`,
		run:     runRagSet,
	}))
}

func runRagSet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf clientFlags
	var co commandFlags
	var commentary string
	fs := newFlagSet("rag set", "rag set PLAN REF CODE [--commentary TEXT] [--expected-version N]",
		`sendtrail rag set bcp-2023-26 3.4 A --commentary "Recruitment to the EY SEND team delayed"`, stderr)
	cf.register(fs)
	co.register(fs)
	fs.StringVar(&commentary, "commentary", "", "why the rating is what it is")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := want("rag set", pos, "PLAN", "REF", "CODE"); err != nil {
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
	res, err := call(ctx, &cf, func(ctx context.Context) (*connect.Response[pb.ChangeRagResponse], error) {
		return c.ChangeRag(ctx, connect.NewRequest(&pb.ChangeRagRequest{Plan: pos[0], Ref: pos[1], Rag: pos[2], Commentary: commentary, Options: opts}))
	})
	if err != nil {
		return err
	}
	return printResult(stdout, cf.json, res.Msg, res.Msg.GetResult(), fmt.Sprintf("%s %s: RAG set to %s", pos[0], pos[1], pos[2]))
}
