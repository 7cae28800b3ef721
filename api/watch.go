package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sendtrail/sendtrail/domain"
	"github.com/sendtrail/sendtrail/eventpb"
	"github.com/sendtrail/sendtrail/eventstore"
	"github.com/sendtrail/sendtrail/feed"
	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
	"github.com/sendtrail/sendtrail/gen/sendtrail/v1/sendtrailv1connect"
)

// Watch heartbeats.
const (
	DefaultHeartbeat = 15 * time.Second
	MaxHeartbeat     = 300 * time.Second
)

// EventServer implements sendtrail.v1.EventService: Watch follows the
// stream itself (not the read model), so it sees an event as soon as it is
// stored.
type EventServer struct {
	store     *eventstore.Store
	describer *feed.Describer
	stop      context.Context // ends every stream when the server shuts down
}

var _ sendtrailv1connect.EventServiceHandler = (*EventServer)(nil)

var eventRules = map[string]rule{
	sendtrailv1connect.EventServiceWatchProcedure: {Need: PermRead},
}

func init() {
	registerService(sendtrailv1connect.EventServiceName, eventRules, func(cfg Config, opts []connect.HandlerOption) (string, http.Handler) {
		stop := cfg.Streams
		if stop == nil {
			stop = context.Background()
		}
		return sendtrailv1connect.NewEventServiceHandler(&EventServer{store: cfg.Store, describer: feed.NewDescriber(cfg.Store), stop: stop}, opts...)
	})
}

// Watch implements sendtrail.v1.EventService.Watch.
func (s *EventServer) Watch(ctx context.Context, req *connect.Request[pb.WatchRequest], stream *connect.ServerStream[pb.WatchResponse]) error {
	m := req.Msg
	p, ok := PrincipalFrom(ctx)
	if !ok {
		return errUnauthenticated
	}
	if _, err := authorize(p, sendtrailv1connect.EventServiceWatchProcedure, m.GetPlan()); err != nil {
		return err
	}
	f := feed.Filter{Plan: m.GetPlan(), Types: m.GetTypes(), AggregateType: m.GetAggregateType(), AggregateID: m.GetAggregateId()}
	if m.GetRef() != "" {
		if err := domain.ValidateRef(m.GetRef()); err != nil {
			return err
		}
		if f.AggregateID != "" || (f.AggregateType != "" && f.AggregateType != string(domain.AggAction)) {
			return domain.Invalid("ref", "give a ref or an aggregate, not both")
		}
		f.AggregateType, f.AggregateID = string(domain.AggAction), domain.ActionID(m.GetPlan(), m.GetRef())
	}
	if err := f.Validate(); err != nil {
		return err
	}
	every := DefaultHeartbeat
	if hs := m.GetHeartbeatSeconds(); hs > 0 {
		every = min(time.Duration(hs)*time.Second, MaxHeartbeat)
	}
	if _, err := s.store.Last(ctx, eventpb.Filter(f.Plan, domain.AggPlan, f.Plan)); errors.Is(err, eventstore.ErrNotFound) {
		return &domain.Error{Code: domain.ENOTFOUND, Field: "plan", Message: fmt.Sprintf("no plan %s", f.Plan)}
	} else if err != nil {
		return unavailableErr(err)
	}
	last, err := s.store.LastSequence(ctx)
	if err != nil {
		return unavailableErr(err)
	}
	from := m.GetFromSequence()
	if from == 0 {
		from = last + 1
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopWatch := context.AfterFunc(s.stop, cancel)
	defer stopWatch()

	w := &watch{stream: stream, store: s.store, subjects: f.Subjects(), next: from}
	// The first message says the watch is live and where it starts.
	if err := w.send(&pb.WatchResponse{Kind: &pb.WatchResponse_Heartbeat{Heartbeat: &pb.WatchHeartbeat{
		Time: timestamppb.Now(), StreamSequence: last, ResumeFrom: from,
	}}}); err != nil {
		return err
	}
	var hb sync.WaitGroup
	hb.Go(func() { w.heartbeats(ctx, cancel, every) })
	defer hb.Wait() // no send after the handler returns
	defer cancel()
	err = s.store.Follow(ctx, from, w.subjects, func(st eventstore.Stored) error {
		ev, err := s.describer.Describe(ctx, st)
		if err != nil {
			return err
		}
		return w.event(&pb.WatchEvent{Sequence: st.Sequence, NatsSubject: st.Subject, Plan: f.Plan, Entry: ev.Entry, Envelope: ev.Proto})
	})
	w.mu.Lock()
	sendErr := w.sendErr
	w.mu.Unlock()
	if ctx.Err() != nil || sendErr != nil {
		return nil // the client went away, or the server is stopping: it resumes from its last sequence
	}
	return unavailableErr(err)
}

func unavailableErr(err error) error {
	if domain.ErrorCode(err) != domain.EINTERNAL {
		return err
	}
	if errors.Is(err, eventstore.ErrUnavailable) {
		return &domain.Error{Code: domain.EUNAVAILABLE, Message: "the event store is unavailable; watch again from your last sequence + 1"}
	}
	return err
}

// watch serialises one stream's sends: events from the follower,
// heartbeats from a ticker.
type watch struct {
	stream   *connect.ServerStream[pb.WatchResponse]
	store    *eventstore.Store
	subjects []string

	mu       sync.Mutex
	next     uint64 // every matching event before it has been sent
	lastSend time.Time
	sendErr  error
}

func (w *watch) send(r *pb.WatchResponse) error {
	if err := w.stream.Send(r); err != nil {
		w.sendErr = err
		return err
	}
	w.lastSend = time.Now()
	return nil
}

func (w *watch) event(e *pb.WatchEvent) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.send(&pb.WatchResponse{Kind: &pb.WatchResponse_Event{Event: e}}); err != nil {
		return err
	}
	w.next = e.GetSequence() + 1
	return nil
}

// heartbeats sends a heartbeat whenever nothing was sent for every. Its
// resume_from is past the stream's end when no matching event is still
// on its way, so a quiet watch on a busy stream need not rescan it all
// after a reconnection.
func (w *watch) heartbeats(ctx context.Context, cancel context.CancelFunc, every time.Duration) {
	t := time.NewTicker(min(every, time.Second))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w.mu.Lock()
		if time.Since(w.lastSend) < every {
			w.mu.Unlock()
			continue
		}
		hb := &pb.WatchHeartbeat{Time: timestamppb.Now(), ResumeFrom: w.next}
		if last, err := w.store.LastSequence(ctx); err == nil {
			hb.StreamSequence = last
			if last >= w.next {
				if _, pending, err := w.store.NextMatching(ctx, w.next, last, w.subjects); err == nil && !pending {
					hb.ResumeFrom = last + 1
					w.next = last + 1
				}
			}
		}
		err := w.send(&pb.WatchResponse{Kind: &pb.WatchResponse_Heartbeat{Heartbeat: hb}})
		w.mu.Unlock()
		if err != nil {
			cancel()
			return
		}
	}
}
