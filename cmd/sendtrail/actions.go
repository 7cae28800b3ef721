package main

import (
	"context"
	"fmt"
	"io"

	"connectrpc.com/connect"

	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
)

func init() {
	register("actions", "list a plan's actions, filtered: actions list PLAN", verbs("actions", verb{
		name: "list", summary: "list a plan's actions by priority, RAG, lead, flags or overdue date",
		example: `sendtrail actions list bcp-2023-26 --rag R --lead "Jeanette Yorke"`,
		run:     runActionsList,
	}))
}

func runActionsList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf clientFlags
	var req pb.ListActionsRequest
	var at asOfFlags
	fs := newFlagSet("actions list", "actions list PLAN [--priority N] [--rag CODE|none] [--lead NAME] [--flagged] [--overdue-on YYYY-MM-DD] [--include-withdrawn] [--as-of YYYY-MM-DD]",
		`sendtrail actions list bcp-2023-26 --rag R --lead "Jeanette Yorke"
sendtrail actions list bcp-2023-26 --overdue-on 2024-06-01 --json
sendtrail actions list bcp-2023-26 --rag A --as-of 2024-06-30`, stderr)
	cf.register(fs)
	at.register(fs)
	fs.StringVar(&req.Priority, "priority", "", "only this priority area, e.g. 3")
	fs.StringVar(&req.Rag, "rag", "", "only this RAG code; none for not yet rated")
	fs.StringVar(&req.Lead, "lead", "", "only actions this person leads")
	fs.BoolVar(&req.Flagged, "flagged", false, "only actions with values flagged for review at import")
	fs.StringVar(&req.OverdueOn, "overdue-on", "", "only actions overdue on this date: deadline before it, not rated G or C")
	fs.BoolVar(&req.IncludeWithdrawn, "include-withdrawn", false, "include withdrawn actions")
	fs.Uint64Var(&req.MinSequence, "min-sequence", 0, "wait until the server has applied this stream sequence")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := want("actions list", pos, "PLAN"); err != nil {
		return err
	}
	req.Plan = pos[0]
	if req.AsOf, err = at.proto(); err != nil {
		return err
	}
	c, err := cf.planClient()
	if err != nil {
		return err
	}
	res, err := call(ctx, &cf, func(ctx context.Context) (*connect.Response[pb.ListActionsResponse], error) {
		return c.ListActions(ctx, connect.NewRequest(&req))
	})
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(stdout, res.Msg)
	}
	tw := newTable(stdout)
	fmt.Fprintln(tw, "REF\tRAG\tDEADLINE\tMOVED\tLEADS\tACTION\tNOTE")
	for _, a := range res.Msg.GetActions() {
		dl := a.GetDeadline()
		if dl == "" && a.GetDeadlineRaw() != "" {
			dl = "?" + cell(a.GetDeadlineRaw(), 12)
		}
		note := ""
		if len(a.GetFlags()) > 0 {
			note = "flagged"
		}
		if a.GetWithdrawn() {
			note = "withdrawn"
		}
		leads := leadNames(a)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", a.GetRef(), cell(a.GetRag(), 0), cell(dl, 0), a.GetDeadlineMoves(),
			cell(leads, 40), cell(a.GetText(), 60), note)
	}
	tw.Flush()
	fmt.Fprintf(stdout, "%d actions\n", len(res.Msg.GetActions()))
	return nil
}

// leadNames is the leads' names, or the lead cell as written.
func leadNames(a *pb.Action) string {
	if len(a.GetLeads()) == 0 {
		return a.GetLeadsRaw()
	}
	s := ""
	for i, l := range a.GetLeads() {
		if i > 0 {
			s += "; "
		}
		s += l.GetName()
	}
	return s
}
