package main

import (
	"context"
	"fmt"
	"io"

	"connectrpc.com/connect"

	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
)

func init() {
	register("trail", "an action's deadline trail: every move, its reason and the days slipped", runTrail)
}

func runTrail(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		cf     clientFlags
		at     asOfFlags
		minSeq uint64
	)
	fs := newFlagSet("trail", "trail PLAN REF [--as-of YYYY-MM-DD | --as-of-sequence N | --as-of-version V] [--recorded] [--json]",
		`sendtrail trail bcp-2023-26 3.4
sendtrail trail bcp-2023-26 3.4 --as-of 2024-06-30 --json`, stderr)
	cf.register(fs)
	at.register(fs)
	fs.Uint64Var(&minSeq, "min-sequence", 0, "wait until the server has applied this stream sequence")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := want("trail", pos, "PLAN", "REF"); err != nil {
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
	res, err := call(ctx, &cf, func(ctx context.Context) (*connect.Response[pb.GetDeadlineTrailResponse], error) {
		return c.GetDeadlineTrail(ctx, connect.NewRequest(&pb.GetDeadlineTrailRequest{Plan: pos[0], Ref: pos[1], AsOf: asOf, MinSequence: minSeq}))
	})
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(stdout, res.Msg)
	}
	printTrail(stdout, res.Msg.GetTrail(), at.describe())
	return nil
}

func printTrail(w io.Writer, t *pb.DeadlineTrail, when string) {
	fmt.Fprintf(w, "Deadline trail of %s (priority %s)%s: %s\n", t.GetRef(), t.GetPriority(), when, cell(t.GetText(), 90))
	fmt.Fprintf(w, "Leads: %s\n", orDash(leadsText(t.GetLeads())))
	orig := orDash(t.GetOriginalDeadline())
	if t.GetOriginalDeadline() == "" && t.GetDeadlineRaw() != "" {
		orig = fmt.Sprintf("none (imported as %q)", t.GetDeadlineRaw())
	}
	fmt.Fprintf(w, "Original deadline %s; baseline %s; deadline now %s; RAG %s", orig, orDash(t.GetBaselineDeadline()), orDash(t.GetDeadline()), orDash(t.GetRag()))
	if t.GetWithdrawn() {
		fmt.Fprint(w, " (withdrawn)")
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w)
	if len(t.GetMoves()) == 0 {
		fmt.Fprintln(w, "No deadline move recorded.")
		return
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "DECIDED\tRECORDED\tFROM\tTO\tDAYS\tCATEGORY\tBY\tREASON")
	for _, m := range t.GetMoves() {
		days, cat := signed(m.GetDays()), m.GetReasonCategory()
		switch {
		case m.GetBaseline():
			days, cat = "baseline", cat+" (deadline set)"
		case !m.GetSlip():
			cat += " (not slippage)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", day(m.GetOccurredAt()), day(m.GetRecordedAt()), orDash(m.GetFrom()), m.GetTo(),
			days, cat, cell(actorText(m.GetActor()), 30), cell(m.GetReason(), 60))
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%s: %s, %s days slipped", plural(t.GetMoveCount(), "move"), plural(t.GetSlipCount(), "slip"), signed(t.GetDaysSlipped()))
	if t.GetRebaselinedCount() > 0 {
		fmt.Fprintf(w, "; %d re-baselined (%s days, agreed with the DfE/NHS England adviser, not slippage)", t.GetRebaselinedCount(), signed(t.GetDaysRebaselined()))
	}
	fmt.Fprintln(w)
}
