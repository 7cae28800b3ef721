package main

import (
	"context"
	"fmt"
	"io"

	"connectrpc.com/connect"

	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
)

func init() {
	register("summary", "the RAG summary: per code its count, % and direction of travel since the last closed period", runSummary)
}

func runSummary(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		cf     clientFlags
		at     asOfFlags
		minSeq uint64
	)
	fs := newFlagSet("summary", "summary PLAN [--as-of YYYY-MM-DD | --as-of-sequence N | --as-of-version V] [--recorded] [--json]",
		`sendtrail summary bcp-2023-26
sendtrail summary bcp-2023-26 --as-of 2024-06-30`, stderr)
	cf.register(fs)
	at.register(fs)
	fs.Uint64Var(&minSeq, "min-sequence", 0, "wait until the server has applied this stream sequence")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := want("summary", pos, "PLAN"); err != nil {
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
	res, err := call(ctx, &cf, func(ctx context.Context) (*connect.Response[pb.GetRagSummaryResponse], error) {
		return c.GetRagSummary(ctx, connect.NewRequest(&pb.GetRagSummaryRequest{Plan: pos[0], AsOf: asOf, MinSequence: minSeq}))
	})
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(stdout, res.Msg)
	}
	s := res.Msg.GetSummary()
	fmt.Fprintf(stdout, "RAG summary of %s%s: %d actions (%d withdrawn, %d flagged for review)\n", pos[0], at.describe(), s.GetActions(), s.GetWithdrawn(), s.GetFlagged())
	prev := s.GetComparedWith()
	if prev != nil {
		fmt.Fprintf(stdout, "Direction of travel against period %q closed on %s by %s (%d actions)\n", prev.GetLabel(), prev.GetDate(), actorText(prev.GetActor()), prev.GetActions())
	} else {
		fmt.Fprintln(stdout, "No reporting period closed yet: no direction of travel (close one with 'sendtrail period close')")
	}
	fmt.Fprintln(stdout)
	tw := newTable(stdout)
	fmt.Fprintln(tw, "RAG\tDESCRIPTION\tCOUNT\t%\tDIRECTION\tPREVIOUS\tPUBLISHED")
	rows := append(append([]*pb.RagSummaryRow(nil), s.GetRows()...), s.GetNotRated())
	for _, r := range rows {
		code, prevText, pub := r.GetCode(), "-", "-"
		if code == "" {
			code = "not rated"
		}
		if prev != nil {
			prevText = fmt.Sprintf("%d (%.0f%%)", r.GetPreviousCount(), r.GetPreviousPercent())
		}
		if r.GetPublishedCount() != "" {
			pub = fmt.Sprintf("%s (%s) %s", r.GetPublishedCount(), orDash(r.GetPublishedPercent()), r.GetPublishedDirection())
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", code, cell(r.GetDescription(), 60), r.GetCount(), r.GetPercentText(), orDash(r.GetDirection()), prevText, pub)
	}
	tw.Flush()
	if len(s.GetDiscrepancies()) > 0 {
		fmt.Fprintln(stdout, "\nThe plan's own published table disagrees with its actions:")
		for _, d := range s.GetDiscrepancies() {
			fmt.Fprintf(stdout, "  - %s\n", d)
		}
	}
	return nil
}
