package main

import (
	"context"
	"fmt"
	"io"

	"connectrpc.com/connect"

	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
)

func init() {
	register("history", "an action's whole trail: who changed what, when, and why", runHistory)
}

func runHistory(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf clientFlags
	var minSeq uint64
	fs := newFlagSet("history", "history PLAN REF [--json]", "sendtrail history bcp-2023-26 3.4", stderr)
	cf.register(fs)
	fs.Uint64Var(&minSeq, "min-sequence", 0, "wait until the server has applied this stream sequence")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := want("history", pos, "PLAN", "REF"); err != nil {
		return err
	}
	c, err := cf.planClient()
	if err != nil {
		return err
	}
	res, err := call(ctx, &cf, func(ctx context.Context) (*connect.Response[pb.GetActionHistoryResponse], error) {
		return c.GetActionHistory(ctx, connect.NewRequest(&pb.GetActionHistoryRequest{Plan: pos[0], Ref: pos[1], MinSequence: minSeq}))
	})
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(stdout, res.Msg)
	}
	printEntries(stdout, res.Msg.GetEntries(), false)
	return nil
}

// printEntries prints history entries as a table: when it was decided,
// when it was recorded, who, what, and the reason given.
func printEntries(w io.Writer, es []*pb.HistoryEntry, subject bool) {
	tw := newTable(w)
	head := "SEQ\tOCCURRED\tRECORDED\tBY\tEVENT\t"
	if subject {
		head += "SUBJECT\t"
	}
	fmt.Fprintln(tw, head+"WHAT\tWHY")
	for _, e := range es {
		why := e.GetReason()
		if e.GetReasonCategory() != "" {
			why = e.GetReasonCategory() + ": " + why
		}
		if e.GetCommentary() != "" {
			why = e.GetCommentary()
		}
		by := e.GetActor().GetDisplayName()
		if r := e.GetActor().GetRole(); r != "" {
			by += " (" + r + ")"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t", e.GetSequence(), fmtTS(e.GetOccurredAt()), fmtTS(e.GetRecordedAt()), cell(by, 40), e.GetType())
		if subject {
			fmt.Fprintf(tw, "%s\t", cell(e.GetSubject(), 30))
		}
		fmt.Fprintf(tw, "%s\t%s\n", cell(e.GetSummary(), 70), cell(why, 60))
	}
	tw.Flush()
	fmt.Fprintf(w, "%d events\n", len(es))
}
