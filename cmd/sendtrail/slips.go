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
	register("slips", "slip analysis: deadline moves filtered, with totals by priority, lead and reason, and repeat slippers", runSlips)
}

func runSlips(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		cf  clientFlags
		at  asOfFlags
		req pb.ListDeadlineSlipsRequest
		min int
	)
	fs := newFlagSet("slips", "slips PLAN [--priority N] [--lead NAME] [--origin TEXT] [--category C] [--min-days N] [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--as-of …] [--json]",
		`sendtrail slips bcp-2023-26
sendtrail slips bcp-2023-26 --priority 3 --category capacity --min-days 30 --from 2024-04-01 --to 2024-09-30`, stderr)
	cf.register(fs)
	at.register(fs)
	fs.StringVar(&req.Priority, "priority", "", "only this priority area, e.g. 3")
	fs.StringVar(&req.Lead, "lead", "", "only actions this person led when the move was recorded")
	fs.StringVar(&req.Origin, "origin", "", "only actions whose origin contains this text, e.g. WSoA")
	fs.StringVar(&req.ReasonCategory, "category", "", "only this reason category: capacity, dependency, scope, external, funding, reprioritised, rebaselined or other")
	fs.IntVar(&min, "min-days", 0, "only moves of at least this many days")
	fs.StringVar(&req.From, "from", "", "only moves decided on or after this date")
	fs.StringVar(&req.To, "to", "", "only moves decided on or before this date")
	fs.Func("page-size", "moves per page (default 100, at most 1000); the totals cover every match", func(s string) error {
		var n uint32
		if _, err := fmt.Sscan(s, &n); err != nil {
			return fmt.Errorf("want a number, got %q", s)
		}
		req.PageSize = n
		return nil
	})
	fs.StringVar(&req.PageToken, "page-token", "", "the next page, as the previous page printed it")
	fs.Uint64Var(&req.MinSequence, "min-sequence", 0, "wait until the server has applied this stream sequence")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := want("slips", pos, "PLAN"); err != nil {
		return err
	}
	if err := dateFlag("from", req.From); err != nil {
		return err
	}
	if err := dateFlag("to", req.To); err != nil {
		return err
	}
	req.Plan, req.MinDays = pos[0], int32(min)
	if req.AsOf, err = at.proto(); err != nil {
		return err
	}
	c, err := cf.reportClient()
	if err != nil {
		return err
	}
	res, err := call(ctx, &cf, func(ctx context.Context) (*connect.Response[pb.ListDeadlineSlipsResponse], error) {
		return c.ListDeadlineSlips(ctx, connect.NewRequest(&req))
	})
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(stdout, res.Msg)
	}
	r := res.Msg
	t := r.GetTotal()
	fmt.Fprintf(stdout, "Deadline moves of %s%s: %s of %s; %s, %s days slipped", req.Plan, at.describe(),
		plural(t.GetMoves(), "move"), plural(t.GetActions(), "action"), plural(t.GetSlips(), "slip"), signed(t.GetDaysSlipped()))
	if t.GetRebaselined() > 0 {
		fmt.Fprintf(stdout, "; %d re-baselined (%s days, not slippage)", t.GetRebaselined(), signed(t.GetDaysRebaselined()))
	}
	fmt.Fprintln(stdout)
	if t.GetMoves() == 0 {
		return nil
	}
	fmt.Fprintln(stdout)
	tw := newTable(stdout)
	fmt.Fprintln(tw, "DECIDED\tREF\tPRIORITY\tFROM\tTO\tDAYS\tCATEGORY\tLEADS\tREASON")
	for _, m := range r.GetMoves() {
		cat := m.GetReasonCategory()
		if !m.GetSlip() {
			cat += " (not slippage)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", day(m.GetOccurredAt()), m.GetRef(), m.GetPriority(), m.GetFrom(), m.GetTo(),
			signed(m.GetDays()), cat, cell(strings.Join(m.GetLeads(), ", "), 30), cell(m.GetReason(), 50))
	}
	tw.Flush()
	if r.GetNextPageToken() != "" {
		fmt.Fprintf(stdout, "(more: add --page-token %s)\n", r.GetNextPageToken())
	}
	totals := func(title string, ts []*pb.SlipTotal) {
		fmt.Fprintf(stdout, "\n%s\n", title)
		tw := newTable(stdout)
		fmt.Fprintln(tw, "\tMOVES\tACTIONS\tSLIPS\tDAYS SLIPPED\tRE-BASELINED\tDAYS RE-BASELINED")
		for _, t := range ts {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%d\t%s\n", cell(t.GetKey(), 30), t.GetMoves(), t.GetActions(), t.GetSlips(),
				signed(t.GetDaysSlipped()), t.GetRebaselined(), signed(t.GetDaysRebaselined()))
		}
		tw.Flush()
	}
	totals("BY PRIORITY", r.GetByPriority())
	totals("BY LEAD", r.GetByLead())
	totals("BY REASON CATEGORY", r.GetByCategory())
	fmt.Fprintln(stdout, "\nREPEAT SLIPPERS (slipped twice or more)")
	if len(r.GetRepeatSlippers()) == 0 {
		fmt.Fprintln(stdout, "none")
		return nil
	}
	tw = newTable(stdout)
	fmt.Fprintln(tw, "REF\tPRIORITY\tSLIPS\tDAYS SLIPPED\tFROM\tTO\tLEADS")
	for _, s := range r.GetRepeatSlippers() {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", s.GetRef(), s.GetPriority(), s.GetSlips(), signed(s.GetDaysSlipped()),
			s.GetFirstDeadline(), s.GetLastDeadline(), cell(strings.Join(s.GetLeads(), ", "), 40))
	}
	return tw.Flush()
}
