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
	register("period", "reporting periods: period close|list (the board's RAG snapshots)", verbs("period",
		verb{name: "close", summary: "close a reporting period: record the RAG counts the next direction of travel compares against",
			example: `sendtrail period close bcp-2023-26 --label "June 2024" --date 2024-06-30`, run: runPeriodClose},
		verb{name: "list", summary: "list the closed reporting periods with their RAG counts",
			example: "sendtrail period list bcp-2023-26", run: runPeriodList},
	))
}

func runPeriodClose(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		cf  clientFlags
		cmd commandFlags
		req pb.ClosePeriodRequest
	)
	fs := newFlagSet("period close", `period close PLAN --label "June 2024" --date YYYY-MM-DD [--occurred-at …] [--command-id ID]`,
		`sendtrail period close bcp-2023-26 --label "June 2024" --date 2024-06-30`, stderr)
	cf.register(fs)
	cmd.register(fs)
	fs.StringVar(&req.Label, "label", "", "the period's label, unique in the plan (required)")
	fs.StringVar(&req.Date, "date", "", "the period's date: the snapshot is the plan as it stood at the end of it (required)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := want("period close", pos, "PLAN"); err != nil {
		return err
	}
	if req.Label == "" || req.Date == "" {
		return usagef("period close: --label and --date are required")
	}
	if err := dateFlag("date", req.Date); err != nil {
		return err
	}
	req.Plan = pos[0]
	if req.Options, err = cmd.options(); err != nil {
		return err
	}
	c, err := cf.reportClient()
	if err != nil {
		return err
	}
	res, err := call(ctx, &cf, func(ctx context.Context) (*connect.Response[pb.ClosePeriodResponse], error) {
		return c.ClosePeriod(ctx, connect.NewRequest(&req))
	})
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(stdout, res.Msg)
	}
	if err := printResult(stdout, false, res.Msg, res.Msg.GetResult(), fmt.Sprintf("closed period %q of %s", req.Label, req.Plan)); err != nil {
		return err
	}
	if p := res.Msg.GetPeriod(); p != nil {
		fmt.Fprintf(stdout, "snapshot of %d actions: %s\n", p.GetActions(), countsText(p.GetRagCounts()))
	}
	return nil
}

// countsText lists RAG counts in the scheme's order: "R 2, A 30, …, not rated 3".
func countsText(counts map[string]uint32) string {
	var parts []string
	for _, code := range ragOrder {
		n, ok := counts[code]
		if !ok {
			continue
		}
		label := code
		if code == "" {
			label = "not rated"
		}
		parts = append(parts, fmt.Sprintf("%s %d", label, n))
	}
	return strings.Join(parts, ", ")
}

func runPeriodList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		cf     clientFlags
		at     asOfFlags
		minSeq uint64
	)
	fs := newFlagSet("period list", "period list PLAN [--as-of …] [--json]", "sendtrail period list bcp-2023-26", stderr)
	cf.register(fs)
	at.register(fs)
	fs.Uint64Var(&minSeq, "min-sequence", 0, "wait until the server has applied this stream sequence")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := want("period list", pos, "PLAN"); err != nil {
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
	res, err := call(ctx, &cf, func(ctx context.Context) (*connect.Response[pb.ListReportingPeriodsResponse], error) {
		return c.ListReportingPeriods(ctx, connect.NewRequest(&pb.ListReportingPeriodsRequest{Plan: pos[0], AsOf: asOf, MinSequence: minSeq}))
	})
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(stdout, res.Msg)
	}
	tw := newTable(stdout)
	fmt.Fprintln(tw, "PERIOD\tDATE\tCLOSED BY\tRECORDED\tACTIONS\tRAG COUNTS")
	for _, p := range res.Msg.GetPeriods() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", p.GetLabel(), p.GetDate(), cell(actorText(p.GetActor()), 30), day(p.GetRecordedAt()),
			p.GetActions(), countsText(p.GetRagCounts()))
	}
	tw.Flush()
	fmt.Fprintf(stdout, "%d periods%s\n", len(res.Msg.GetPeriods()), at.describe())
	return nil
}
