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
	register("explain", "an action's whole story in plain English, in order", runExplain)
}

func runExplain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		cf     clientFlags
		at     asOfFlags
		minSeq uint64
	)
	fs := newFlagSet("explain", "explain PLAN REF [--as-of YYYY-MM-DD | --as-of-sequence N | --as-of-version V] [--recorded] [--json]",
		`sendtrail explain bcp-2023-26 3.4
sendtrail explain bcp-2023-26 3.4 --as-of 2024-06-30`, stderr)
	cf.register(fs)
	at.register(fs)
	fs.Uint64Var(&minSeq, "min-sequence", 0, "wait until the server has applied this stream sequence")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := want("explain", pos, "PLAN", "REF"); err != nil {
		return err
	}
	asOf, err := at.proto()
	if err != nil {
		return err
	}
	c, err := cf.reportClient()
	if err != nil {
		return err
	}
	// The whole story: every page, oldest first.
	var r *pb.ExplainActionResponse
	token := ""
	for {
		res, err := call(ctx, &cf, func(ctx context.Context) (*connect.Response[pb.ExplainActionResponse], error) {
			return c.ExplainAction(ctx, connect.NewRequest(&pb.ExplainActionRequest{Plan: pos[0], Ref: pos[1], AsOf: asOf, MinSequence: minSeq,
				PageSize: 5000, PageToken: token}))
		})
		if err != nil {
			return err
		}
		if r == nil {
			r = res.Msg
		} else {
			r.Lines = append(r.Lines, res.Msg.GetLines()...)
			r.Summary = res.Msg.GetSummary()
		}
		if token = res.Msg.GetNextPageToken(); token == "" {
			break
		}
	}
	r.NextPageToken = ""
	if cf.json {
		return printJSON(stdout, r)
	}
	fmt.Fprintf(stdout, "Action %s%s: %s\n\n", r.GetRef(), at.describe(), cell(r.GetText(), 200))
	for _, l := range r.GetLines() {
		fmt.Fprintln(stdout, sentenceEnd(l.GetText()))
	}
	_, err = fmt.Fprintf(stdout, "\n%s\n", sentenceEnd(r.GetSummary()))
	return err
}

// sentenceEnd ends a line with a full stop unless it ends with one already.
func sentenceEnd(s string) string {
	if strings.HasSuffix(s, ".") || strings.HasSuffix(s, "…") || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "!") {
		return s
	}
	return s + "."
}
