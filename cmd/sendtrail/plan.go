package main

import (
	"context"
	"fmt"
	"io"
	"sort"

	"connectrpc.com/connect"

	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
)

func init() {
	register("plan", "a plan's summary: plan show PLAN", verbs("plan", verb{
		name: "show", summary: "show a plan's priority areas and RAG counts",
		example: "sendtrail plan show bcp-2023-26", run: runPlanShow,
	}))
}

// ragOrder is the plan scheme's order, worst first; "" is not yet rated.
var ragOrder = []string{"R", "A", "P", "G", "C", "NS", ""}

func runPlanShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf clientFlags
	var minSeq uint64
	var at asOfFlags
	fs := newFlagSet("plan show", "plan show PLAN [--as-of YYYY-MM-DD | --as-of-sequence N | --as-of-version V] [--json]",
		"sendtrail plan show bcp-2023-26\nsendtrail plan show bcp-2023-26 --as-of-version 1.2", stderr)
	cf.register(fs)
	at.register(fs)
	fs.Uint64Var(&minSeq, "min-sequence", 0, "wait until the server has applied this stream sequence")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := want("plan show", pos, "PLAN"); err != nil {
		return err
	}
	asOf, err := at.proto()
	if err != nil {
		return err
	}
	c, err := cf.planClient()
	if err != nil {
		return err
	}
	res, err := call(ctx, &cf, func(ctx context.Context) (*connect.Response[pb.GetPlanResponse], error) {
		return c.GetPlan(ctx, connect.NewRequest(&pb.GetPlanRequest{Plan: pos[0], MinSequence: minSeq, AsOf: asOf}))
	})
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(stdout, res.Msg)
	}
	p := res.Msg.GetPlan()
	fmt.Fprintf(stdout, "%s – %s\n", p.GetSlug(), p.GetTitle())
	fmt.Fprintf(stdout, "%d actions (%d withdrawn, %d flagged for review), %d indicators; version %d, read at stream sequence %d\n\n",
		p.GetActions(), p.GetWithdrawn(), p.GetFlagged(), p.GetKpis(), p.GetVersion(), p.GetSequence())

	tw := newTable(stdout)
	fmt.Fprintln(tw, "RAG\tMEANING\tACTIONS\t%")
	desc := map[string]string{"": "not yet rated"}
	for _, r := range p.GetRagScheme() {
		desc[r.GetCode()] = r.GetDescription()
	}
	counts := p.GetRagCounts()
	codes := append([]string(nil), ragOrder...)
	for code := range counts {
		known := false
		for _, c := range ragOrder {
			known = known || c == code
		}
		if !known {
			codes = append(codes, code)
		}
	}
	sort.SliceStable(codes[len(ragOrder):], func(i, j int) bool { return codes[len(ragOrder)+i] < codes[len(ragOrder)+j] })
	for _, code := range codes {
		n := counts[code]
		if n == 0 {
			continue
		}
		pct := 0.0
		if p.GetActions() > 0 {
			pct = 100 * float64(n) / float64(p.GetActions())
		}
		label := code
		if label == "" {
			label = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f\n", label, cell(desc[code], 50), n, pct)
	}
	tw.Flush()
	fmt.Fprintln(stdout)
	tw = newTable(stdout)
	fmt.Fprintln(tw, "PRIORITY\tACTIONS\tTITLE")
	for _, a := range p.GetPriorities() {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", a.GetNumber(), a.GetActions(), cell(a.GetTitle(), 70))
	}
	return tw.Flush()
}
