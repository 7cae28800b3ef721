package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"

	"github.com/sendtrail/sendtrail/feed"
	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
	"github.com/sendtrail/sendtrail/gen/sendtrail/v1/sendtrailv1connect"
)

func init() {
	register("watch", "follow a plan's events as they are recorded: one JSON line per event", runWatch)
}

// watchHeartbeat is the line --heartbeats prints for a heartbeat.
type watchHeartbeat struct {
	Heartbeat      bool      `json:"heartbeat"`
	Time           time.Time `json:"time"`
	StreamSequence uint64    `json:"streamSequence"`
	ResumeFrom     uint64    `json:"resumeFrom"`
}

func runWatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf clientFlags
	var req pb.WatchRequest
	var from, types string
	var once, heartbeats bool
	var every time.Duration
	fs := newFlagSet("watch", "watch --plan PLAN [--from now|SEQ] [--types T,T] [--ref REF] [--heartbeats] [--once]",
		`sendtrail watch --plan bcp-2023-26 --types rag_changed,deadline_moved,leads_reassigned
sendtrail watch --plan bcp-2023-26 --from 1 --ref 3.4 --once | jq .`, stderr)
	cf.register(fs)
	fs.StringVar(&req.Plan, "plan", "", "the plan's slug (required)")
	fs.StringVar(&from, "from", "now", "where to start: now, or a stream sequence (1 for the whole history; the last sequence seen + 1 to resume)")
	fs.StringVar(&types, "types", "", "event types to follow, comma-separated (default: every type)")
	fs.StringVar(&req.Ref, "ref", "", "follow one action, by ref")
	fs.StringVar(&req.AggregateType, "aggregate-type", "", "follow one aggregate type: plan, priority, action, kpi, token or webhook")
	fs.StringVar(&req.AggregateId, "aggregate-id", "", "follow one aggregate, by id (with --aggregate-type)")
	fs.BoolVar(&heartbeats, "heartbeats", false, `also print heartbeats: {"heartbeat":true,"resumeFrom":N,…}`)
	fs.DurationVar(&every, "heartbeat", 15*time.Second, "how often the server sends a heartbeat while nothing happens")
	fs.BoolVar(&once, "once", false, "stop at the first disconnection instead of resuming")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || req.Plan == "" {
		return usagef("watch: want --plan PLAN and flags only")
	}
	if from != "now" {
		n, err := strconv.ParseUint(from, 10, 64)
		if err != nil || n == 0 {
			return usagef("watch: --from %q: want now or a stream sequence from 1", from)
		}
		req.FromSequence = n
	}
	if types != "" {
		for _, t := range strings.Split(types, ",") {
			if t = strings.TrimSpace(t); t != "" {
				req.Types = append(req.Types, t)
			}
		}
	}
	if every < time.Second || every > 300*time.Second {
		return usagef("watch: --heartbeat %s: want 1s to 5m", every)
	}
	req.HeartbeatSeconds = uint32(every / time.Second)
	opts, err := cf.options()
	if err != nil {
		return err
	}
	// No overall timeout: a watch runs until stopped.
	c := sendtrailv1connect.NewEventServiceClient(&http.Client{}, strings.TrimRight(cf.server, "/"), opts...)
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)

	backoff := time.Second
	for {
		err := watchOnce(ctx, c, &req, every, func(r *pb.WatchResponse) error {
			backoff = time.Second
			switch k := r.GetKind().(type) {
			case *pb.WatchResponse_Event:
				e := k.Event
				req.FromSequence = e.GetSequence() + 1
				return enc.Encode(feed.RecordOf(e.GetPlan(), e.GetNatsSubject(), e.GetEntry()))
			case *pb.WatchResponse_Heartbeat:
				h := k.Heartbeat
				req.FromSequence = max(req.FromSequence, h.GetResumeFrom())
				if heartbeats {
					return enc.Encode(watchHeartbeat{Heartbeat: true, Time: h.GetTime().AsTime().UTC(), StreamSequence: h.GetStreamSequence(), ResumeFrom: h.GetResumeFrom()})
				}
			}
			return nil
		})
		if ctx.Err() != nil {
			return nil
		}
		if refused(err) || once {
			return describeConnErr(cf.server, err)
		}
		fmt.Fprintf(stderr, "sendtrail: watch: disconnected (%v); resuming from sequence %d in %s\n", err, req.GetFromSequence(), backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// watchOnce calls Watch and hands each message to fn until the stream
// ends. A stream silent for three heartbeats is taken for dead.
func watchOnce(ctx context.Context, c sendtrailv1connect.EventServiceClient, req *pb.WatchRequest, every time.Duration, fn func(*pb.WatchResponse) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := c.Watch(ctx, connect.NewRequest(req))
	if err != nil {
		return err
	}
	defer st.Close()
	alive := make(chan struct{}, 1)
	go func() {
		t := time.NewTimer(3 * every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-alive:
				t.Reset(3 * every)
			case <-t.C:
				cancel()
				return
			}
		}
	}()
	for st.Receive() {
		select {
		case alive <- struct{}{}:
		default:
		}
		if err := fn(st.Msg()); err != nil {
			return err
		}
	}
	if err := st.Err(); err != nil {
		return err
	}
	return errors.New("the server ended the stream")
}

// refused reports an error that trying again will not cure.
func refused(err error) bool {
	switch connect.CodeOf(err) {
	case connect.CodeInvalidArgument, connect.CodeNotFound, connect.CodePermissionDenied, connect.CodeUnauthenticated,
		connect.CodeFailedPrecondition, connect.CodeUnimplemented:
		return true
	}
	return false
}
