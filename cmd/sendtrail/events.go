package main

import (
	"context"
	"fmt"
	"io"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
)

func init() {
	register("events", "a plan's events, filtered and paged: events list PLAN", verbs("events", verb{
		name: "list", summary: "list a plan's events by type, actor, time or aggregate, oldest first",
		example: `sendtrail events list bcp-2023-26 --type deadline_moved,leads_reassigned --since 2024-01-01 --all`,
		run:     runEventsList,
	}))
}

func runEventsList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf clientFlags
	var req pb.ListEventsRequest
	var types stringsFlag
	var since, until string
	var pageSize uint
	var all bool
	fs := newFlagSet("events list", "events list PLAN [--type T,…] [--actor ID|NAME] [--since WHEN] [--until WHEN] [--aggregate-type T] [--aggregate-id ID] [--page-size N] [--page-token T | --all]",
		`sendtrail events list bcp-2023-26 --type deadline_moved,leads_reassigned --since 2024-01-01 --all
sendtrail events list bcp-2023-26 --actor jeanette-yorke --json`, stderr)
	cf.register(fs)
	fs.Var(&types, "type", "event types, e.g. rag_changed,deadline_moved (repeat or comma-separate)")
	fs.StringVar(&req.Actor, "actor", "", "who: a principal id or display name")
	fs.StringVar(&since, "since", "", "recorded at or after: YYYY-MM-DD or RFC 3339")
	fs.StringVar(&until, "until", "", "recorded before: YYYY-MM-DD or RFC 3339")
	fs.StringVar(&req.AggregateType, "aggregate-type", "", "plan, priority, action, kpi or token")
	fs.StringVar(&req.AggregateId, "aggregate-id", "", "one aggregate's id")
	fs.UintVar(&pageSize, "page-size", 0, "events per page (default 100, at most 1000)")
	fs.StringVar(&req.PageToken, "page-token", "", "the next page, as a previous page printed it")
	fs.BoolVar(&all, "all", false, "fetch every page")
	fs.Uint64Var(&req.MinSequence, "min-sequence", 0, "wait until the server has applied this stream sequence")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := want("events list", pos, "PLAN"); err != nil {
		return err
	}
	req.Plan, req.Types, req.PageSize = pos[0], types, uint32(pageSize)
	for _, t := range []struct {
		flag, v string
		dst     **timestamppb.Timestamp
	}{{"since", since, &req.Since}, {"until", until, &req.Until}} {
		if t.v == "" {
			continue
		}
		when, err := parseWhen(t.v)
		if err != nil {
			return usagef("events list: --%s: %v", t.flag, err)
		}
		*t.dst = timestamppb.New(when)
	}
	c, err := cf.planClient()
	if err != nil {
		return err
	}
	out := &pb.ListEventsResponse{}
	for {
		res, err := call(ctx, &cf, func(ctx context.Context) (*connect.Response[pb.ListEventsResponse], error) {
			return c.ListEvents(ctx, connect.NewRequest(&req))
		})
		if err != nil {
			return err
		}
		out.Events = append(out.Events, res.Msg.GetEvents()...)
		out.NextPageToken = res.Msg.GetNextPageToken()
		if !all || out.NextPageToken == "" {
			break
		}
		req.PageToken = out.NextPageToken
	}
	if cf.json {
		return printJSON(stdout, out)
	}
	printEntries(stdout, out.GetEvents(), true)
	if out.NextPageToken != "" {
		fmt.Fprintf(stdout, "more: --page-token %s (or --all)\n", out.NextPageToken)
	}
	return nil
}
