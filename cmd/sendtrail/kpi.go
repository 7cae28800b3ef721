package main

import (
	"context"
	"fmt"
	"io"

	"connectrpc.com/connect"

	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
)

func init() {
	register("kpi", "indicators: kpi list|record|correct", verbs("kpi",
		verb{name: "list", summary: "list a plan's indicators with their latest values (--values for every period)",
			example: "sendtrail kpi list bcp-2023-26 --priority 2", run: runKpiList},
		verb{name: "record", summary: "record an indicator's value for a period",
			example: `sendtrail kpi record bcp-2023-26 "No. of complaints" Apr-24 7`, run: runKpiRecord},
		verb{name: "correct", summary: "correct a recorded value, with a reason",
			example: `sendtrail kpi correct bcp-2023-26 "No. of complaints" Jan-24 6 --reason "Two complaints were one case"`, run: runKpiCorrect},
	))
}

func runKpiList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf clientFlags
	var req pb.ListKpisRequest
	var values bool
	fs := newFlagSet("kpi list", "kpi list PLAN [--priority N] [--values]", "sendtrail kpi list bcp-2023-26 --priority 2 --values", stderr)
	cf.register(fs)
	fs.StringVar(&req.Priority, "priority", "", "only this priority area's indicators")
	fs.BoolVar(&values, "values", false, "print every period's value")
	fs.Uint64Var(&req.MinSequence, "min-sequence", 0, "wait until the server has applied this stream sequence")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := want("kpi list", pos, "PLAN"); err != nil {
		return err
	}
	req.Plan = pos[0]
	c, err := cf.planClient()
	if err != nil {
		return err
	}
	res, err := call(ctx, &cf, func(ctx context.Context) (*connect.Response[pb.ListKpisResponse], error) {
		return c.ListKpis(ctx, connect.NewRequest(&req))
	})
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(stdout, res.Msg)
	}
	tw := newTable(stdout)
	fmt.Fprintln(tw, "PRIORITY\tINDICATOR\tDIRECTION\tTARGET\tNATIONAL\tLATEST\tVALUE\tVERSION")
	for _, k := range res.Msg.GetKpis() {
		latest, value := "-", "-"
		if vs := k.GetValues(); len(vs) > 0 {
			latest, value = vs[len(vs)-1].GetPeriod(), vs[len(vs)-1].GetValue()
			if vs[len(vs)-1].GetCorrected() {
				value += " (corrected)"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", k.GetPriority(), cell(k.GetName(), 60), cell(k.GetDirection(), 0),
			cell(k.GetTarget(), 20), cell(k.GetNational(), 20), latest, cell(value, 20), k.GetVersion())
		if values {
			for _, v := range k.GetValues() {
				mark := ""
				if v.GetCorrected() {
					mark = " (corrected)"
				}
				fmt.Fprintf(tw, "\t  %s\t\t\t\t%s\t%s\t\n", "", v.GetPeriod(), cell(v.GetValue(), 20)+mark)
			}
		}
	}
	tw.Flush()
	fmt.Fprintf(stdout, "%d indicators\n", len(res.Msg.GetKpis()))
	return nil
}

func runKpiRecord(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf clientFlags
	var co commandFlags
	fs := newFlagSet("kpi record", "kpi record PLAN INDICATOR PERIOD VALUE", `sendtrail kpi record bcp-2023-26 "No. of complaints" Apr-24 7`, stderr)
	cf.register(fs)
	co.register(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := want("kpi record", pos, "PLAN", "INDICATOR", "PERIOD", "VALUE"); err != nil {
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
	res, err := call(ctx, &cf, func(ctx context.Context) (*connect.Response[pb.RecordKpiValueResponse], error) {
		return c.RecordKpiValue(ctx, connect.NewRequest(&pb.RecordKpiValueRequest{Plan: pos[0], Indicator: pos[1], Period: pos[2], Value: pos[3], Options: opts}))
	})
	if err != nil {
		return err
	}
	return printResult(stdout, cf.json, res.Msg, res.Msg.GetResult(), fmt.Sprintf("%s %q %s: recorded %s", pos[0], pos[1], pos[2], pos[3]))
}

func runKpiCorrect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf clientFlags
	var co commandFlags
	var reason string
	fs := newFlagSet("kpi correct", "kpi correct PLAN INDICATOR PERIOD VALUE --reason TEXT",
		`sendtrail kpi correct bcp-2023-26 "No. of complaints" Jan-24 6 --reason "Two complaints were one case"`, stderr)
	cf.register(fs)
	co.register(fs)
	fs.StringVar(&reason, "reason", "", "why the recorded value was wrong (required)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := want("kpi correct", pos, "PLAN", "INDICATOR", "PERIOD", "VALUE"); err != nil {
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
	res, err := call(ctx, &cf, func(ctx context.Context) (*connect.Response[pb.CorrectKpiValueResponse], error) {
		return c.CorrectKpiValue(ctx, connect.NewRequest(&pb.CorrectKpiValueRequest{Plan: pos[0], Indicator: pos[1], Period: pos[2], Value: pos[3], Reason: reason, Options: opts}))
	})
	if err != nil {
		return err
	}
	return printResult(stdout, cf.json, res.Msg, res.Msg.GetResult(), fmt.Sprintf("%s %q %s: corrected to %s", pos[0], pos[1], pos[2], pos[3]))
}
