package main

import (
	"context"
	"fmt"
	"io"

	"connectrpc.com/connect"

	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
)

func init() {
	register("silent", "silent slips: deadlines passed with nothing recorded, on a date", runSilent)
}

func runSilent(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		cf  clientFlags
		at  asOfFlags
		req pb.ListSilentSlipsRequest
	)
	fs := newFlagSet("silent", "silent PLAN [--on YYYY-MM-DD] [--priority N] [--lead NAME] [--as-of-sequence N | --as-of … --recorded] [--json]",
		`sendtrail silent bcp-2023-26 --on 2024-06-30
sendtrail silent bcp-2023-26 --on 2024-06-30 --priority 3 --json`, stderr)
	cf.register(fs)
	at.register(fs)
	fs.StringVar(&req.On, "on", "", "the day to judge on (default: the --as-of date, else today): deadlines before it count as passed")
	fs.StringVar(&req.Priority, "priority", "", "only this priority area")
	fs.StringVar(&req.Lead, "lead", "", "only actions this person leads")
	fs.Uint64Var(&req.MinSequence, "min-sequence", 0, "wait until the server has applied this stream sequence")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := want("silent", pos, "PLAN"); err != nil {
		return err
	}
	if err := dateFlag("on", req.On); err != nil {
		return err
	}
	req.Plan = pos[0]
	if req.AsOf, err = at.proto(); err != nil {
		return err
	}
	c, err := cf.reportClient()
	if err != nil {
		return err
	}
	res, err := call(ctx, &cf, func(ctx context.Context) (*connect.Response[pb.ListSilentSlipsResponse], error) {
		return c.ListSilentSlips(ctx, connect.NewRequest(&req))
	})
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(stdout, res.Msg)
	}
	r := res.Msg
	fmt.Fprintf(stdout, "Silent slips of %s on %s%s: %d actions past their deadline, not rated G or C, with no move recorded since\n",
		req.Plan, r.GetOn(), at.describe(), len(r.GetSlips()))
	if len(r.GetSlips()) == 0 {
		return nil
	}
	fmt.Fprintln(stdout)
	tw := newTable(stdout)
	fmt.Fprintln(tw, "REF\tPRIORITY\tDEADLINE\tDAYS OVERDUE\tRAG\tEARLIER MOVES\tLEADS\tACTION")
	for _, s := range r.GetSlips() {
		moves := fmt.Sprint(s.GetEarlierMoves())
		if s.GetLastMoved() != "" {
			moves += " (last " + s.GetLastMoved() + ")"
		}
		leads := leadsText(s.GetLeads())
		if leads == "" {
			leads = s.GetLeadsRaw()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", s.GetRef(), s.GetPriority(), s.GetDeadline(), s.GetDaysOverdue(),
			orDash(s.GetRag()), moves, cell(leads, 40), cell(s.GetText(), 50))
	}
	return tw.Flush()
}
