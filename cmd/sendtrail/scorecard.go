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
	register("scorecard", "the KPI scorecard: latest values against the required direction, target and national comparator", runScorecard)
}

func runScorecard(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		cf     clientFlags
		at     asOfFlags
		req    pb.GetKpiScorecardRequest
		series bool
	)
	fs := newFlagSet("scorecard", "scorecard PLAN [--priority N] [--series] [--as-of …] [--json]",
		`sendtrail scorecard bcp-2023-26
sendtrail scorecard bcp-2023-26 --priority 5 --series`, stderr)
	cf.register(fs)
	at.register(fs)
	fs.StringVar(&req.Priority, "priority", "", "only this priority area's indicators")
	fs.BoolVar(&series, "series", false, "print every indicator's values by period, with corrections")
	fs.Uint64Var(&req.MinSequence, "min-sequence", 0, "wait until the server has applied this stream sequence")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := want("scorecard", pos, "PLAN"); err != nil {
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
	res, err := call(ctx, &cf, func(ctx context.Context) (*connect.Response[pb.GetKpiScorecardResponse], error) {
		return c.GetKpiScorecard(ctx, connect.NewRequest(&req))
	})
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(stdout, res.Msg)
	}
	ks := res.Msg.GetIndicators()
	fmt.Fprintf(stdout, "KPI scorecard of %s%s: %d indicators\n\n", req.Plan, at.describe(), len(ks))
	tw := newTable(stdout)
	fmt.Fprintln(tw, "P\tINDICATOR\tWANT\tLATEST\tPREVIOUS\tTREND\tTARGET\tNATIONAL\tNOT AVAILABLE")
	arrow := map[string]string{"up": "▲", "down": "▼"}
	for _, k := range ks {
		latest, previous, trend := "-", "-", orDash(k.GetTrend())
		if l := k.GetLatest(); l != nil {
			latest = fmt.Sprintf("%s (%s)", l.GetValue(), l.GetPeriod())
		}
		if p := k.GetPrevious(); p != nil {
			previous = fmt.Sprintf("%s (%s)", p.GetValue(), p.GetPeriod())
		}
		if trend == "-" && k.GetMovement() != "" {
			trend = k.GetMovement()
		}
		target := orDash(k.GetTarget())
		if k.GetTargetStatus() != "" {
			target += ": " + k.GetTargetStatus()
		}
		national := orDash(k.GetNational())
		if k.GetNationalStatus() != "" {
			national += ": " + k.GetNationalStatus()
		}
		na := ""
		if n := len(k.GetNotAvailable()); n > 0 {
			na = fmt.Sprintf("%d of %d", n, len(k.GetSeries()))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.GetPriority(), cell(k.GetName(), 50), orDash(arrow[k.GetDirection()]),
			cell(latest, 24), cell(previous, 24), trend, cell(target, 20), cell(national, 22), na)
	}
	tw.Flush()
	var corrections []string
	for _, k := range ks {
		for _, p := range k.GetSeries() {
			for _, c := range p.GetCorrections() {
				corrections = append(corrections, fmt.Sprintf("  %s, %s: %s → %s (%s, %s): %s", k.GetName(), p.GetPeriod(), c.GetOld(), c.GetNew(),
					actorText(c.GetActor()), day(c.GetRecordedAt()), c.GetReason()))
			}
		}
	}
	if len(corrections) > 0 {
		fmt.Fprintf(stdout, "\nCorrections (the old value is kept):\n%s\n", strings.Join(corrections, "\n"))
	}
	if series {
		for _, k := range ks {
			fmt.Fprintf(stdout, "\n%s (priority %s)\n", k.GetName(), k.GetPriority())
			var parts []string
			for _, p := range k.GetSeries() {
				v := p.GetValue()
				if len(p.GetCorrections()) > 0 {
					v += fmt.Sprintf(" (corrected from %s)", p.GetCorrections()[0].GetOld())
				}
				parts = append(parts, p.GetPeriod()+" "+v)
			}
			fmt.Fprintf(stdout, "  %s\n", orDash(strings.Join(parts, " · ")))
		}
	}
	return nil
}
