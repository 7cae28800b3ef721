package main

import (
	"context"
	"fmt"
	"io"

	"connectrpc.com/connect"

	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
)

func init() {
	register("version", "the plan's version-control table: version publish|list", verbs("version",
		verb{name: "publish", summary: "publish a plan version (a row of the plan's version-control table)",
			example: `sendtrail version publish bcp-2023-26 1.3 --date 2024-07-15 --note "After the July board"`, run: runVersionPublish},
		verb{name: "list", summary: "list the published versions; read one with --as-of-version",
			example: "sendtrail version list bcp-2023-26", run: runVersionList},
	))
}

func runVersionPublish(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		cf  clientFlags
		cmd commandFlags
		req pb.PublishPlanVersionRequest
	)
	fs := newFlagSet("version publish", `version publish PLAN VERSION --date YYYY-MM-DD [--note TEXT] [--occurred-at …] [--command-id ID]`,
		`sendtrail version publish bcp-2023-26 1.3 --date 2024-07-15 --note "After the July board"`, stderr)
	cf.register(fs)
	cmd.register(fs)
	fs.StringVar(&req.Date, "date", "", "the version's date (required)")
	fs.StringVar(&req.Note, "note", "", "what changed")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := want("version publish", pos, "PLAN", "VERSION"); err != nil {
		return err
	}
	if req.Date == "" {
		return usagef("version publish: --date is required")
	}
	if err := dateFlag("date", req.Date); err != nil {
		return err
	}
	req.Plan, req.Version = pos[0], pos[1]
	if req.Options, err = cmd.options(); err != nil {
		return err
	}
	c, err := cf.reportClient()
	if err != nil {
		return err
	}
	res, err := call(ctx, &cf, func(ctx context.Context) (*connect.Response[pb.PublishPlanVersionResponse], error) {
		return c.PublishPlanVersion(ctx, connect.NewRequest(&req))
	})
	if err != nil {
		return err
	}
	return printResult(stdout, cf.json, res.Msg, res.Msg.GetResult(), fmt.Sprintf("published version %s of %s (%s)", req.Version, req.Plan, req.Date))
}

func runVersionList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		cf     clientFlags
		at     asOfFlags
		minSeq uint64
	)
	fs := newFlagSet("version list", "version list PLAN [--as-of …] [--json]", "sendtrail version list bcp-2023-26", stderr)
	cf.register(fs)
	at.register(fs)
	fs.Uint64Var(&minSeq, "min-sequence", 0, "wait until the server has applied this stream sequence")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := want("version list", pos, "PLAN"); err != nil {
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
	res, err := call(ctx, &cf, func(ctx context.Context) (*connect.Response[pb.ListPlanVersionsResponse], error) {
		return c.ListPlanVersions(ctx, connect.NewRequest(&pb.ListPlanVersionsRequest{Plan: pos[0], AsOf: asOf, MinSequence: minSeq}))
	})
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(stdout, res.Msg)
	}
	tw := newTable(stdout)
	fmt.Fprintln(tw, "VERSION\tDATE\tPUBLISHED BY\tRECORDED\tSEQUENCE\tNOTE")
	for _, v := range res.Msg.GetVersions() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", v.GetVersion(), v.GetDate(), cell(actorText(v.GetActor()), 30), day(v.GetRecordedAt()),
			v.GetSequence(), cell(v.GetNote(), 60))
	}
	tw.Flush()
	fmt.Fprintf(stdout, "%d versions%s; read one as it stood with --as-of-version VERSION (e.g. sendtrail summary %s --as-of-version …)\n",
		len(res.Msg.GetVersions()), at.describe(), pos[0])
	return nil
}
