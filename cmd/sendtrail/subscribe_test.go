package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/sendtrail/sendtrail/api"
	"github.com/sendtrail/sendtrail/commands"
	"github.com/sendtrail/sendtrail/domain"
	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
	"github.com/sendtrail/sendtrail/gen/sendtrail/v1/sendtrailv1connect"
	"github.com/sendtrail/sendtrail/webhooks"
)

// Subscribers: Watch, webhooks and NATS, against the real server (Main)
// with real HTTP receivers.

const bcp = "bcp-2023-26"

// startServerWith is startServer with more serve flags.
func startServerWith(t *testing.T, dir string, withDemo bool, flags ...string) *testServer {
	t.Helper()
	out := &bytes.Buffer{}
	m := NewMain(out, io.Discard)
	m.Demo = withDemo
	if err := m.ParseFlags(append([]string{"--data", dir, "--listen", "127.0.0.1:0"}, flags...)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := m.Run(ctx); err != nil {
		m.Close()
		t.Fatalf("Run: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	tok, err := os.ReadFile(m.AdminTokenPath())
	if err != nil {
		t.Fatal(err)
	}
	return &testServer{Main: m, t: t, token: strings.TrimSpace(string(tok)), out: out}
}

// fastRetries makes webhook retries quick enough for tests.
var fastRetries = []string{"--allow-private-webhooks", "--webhook-retry-base", "20ms", "--webhook-retry-max", "200ms"}

// issueToken issues a token for role on plan directly through the command
// handler, as the server does for its first admin token.
func (s *testServer) issueToken(plan string, role domain.Role) string {
	s.t.Helper()
	tok, id, hash, err := api.NewSecret()
	if err != nil {
		s.t.Fatal(err)
	}
	res, err := s.Commands.Execute(context.Background(), commands.TokenTarget(plan, id), domain.IssueToken{
		TokenID: id, Principal: "svc-" + id, Name: "Test " + string(role), Role: string(role), Plan: plan, Hash: hash,
	}, commands.Meta{Actor: systemActor})
	if err != nil {
		s.t.Fatal(err)
	}
	if err := s.DB.WaitFor(context.Background(), res.Sequence); err != nil {
		s.t.Fatal(err)
	}
	return tok
}

func (s *testServer) events(token string) sendtrailv1connect.EventServiceClient {
	return sendtrailv1connect.NewEventServiceClient(http.DefaultClient, s.URL(), connect.WithInterceptors(bearer(token)))
}

// ragFlips makes n RAG changes on the demo plan through the API, each a
// real change (alternating A and R on 2.1 and 2.2), with a commentary, and
// returns their sequences.
type ragFlips struct {
	s    *testServer
	n    int
	last map[string]string
}

func newFlips(s *testServer) *ragFlips { return &ragFlips{s: s, last: map[string]string{}} }

func (f *ragFlips) make(n int) []uint64 {
	f.s.t.Helper()
	var seqs []uint64
	for range n {
		ref := []string{"2.1", "2.2"}[f.n%2]
		rag := "A"
		if f.last[ref] == "A" {
			rag = "R"
		}
		f.last[ref] = rag
		r, err := f.s.admin().ChangeRag(context.Background(), connect.NewRequest(&pb.ChangeRagRequest{
			Plan: bcp, Ref: ref, Rag: rag, Commentary: fmt.Sprintf("flip %d", f.n)}))
		if err != nil {
			f.s.t.Fatal(err)
		}
		f.n++
		seqs = append(seqs, r.Msg.GetResult().GetSequence())
	}
	return seqs
}

// watcher reads a Watch stream in the background.
type watcher struct {
	t      *testing.T
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	events []*pb.WatchEvent
	beats  []*pb.WatchHeartbeat
	err    error
}

func watchFrom(t *testing.T, c sendtrailv1connect.EventServiceClient, req *pb.WatchRequest) *watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := c.Watch(ctx, connect.NewRequest(req))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	w := &watcher{t: t, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		defer st.Close()
		for st.Receive() {
			w.mu.Lock()
			switch k := st.Msg().GetKind().(type) {
			case *pb.WatchResponse_Event:
				w.events = append(w.events, k.Event)
			case *pb.WatchResponse_Heartbeat:
				w.beats = append(w.beats, k.Heartbeat)
			}
			w.mu.Unlock()
		}
		w.mu.Lock()
		w.err = st.Err()
		w.mu.Unlock()
	}()
	t.Cleanup(w.stop)
	return w
}

func (w *watcher) stop() {
	w.cancel()
	<-w.done
}

// until waits for cond on the watcher's state.
func (w *watcher) until(what string, within time.Duration, cond func(events []*pb.WatchEvent, beats []*pb.WatchHeartbeat) bool) {
	w.t.Helper()
	deadline := time.Now().Add(within)
	for {
		w.mu.Lock()
		ok := cond(w.events, w.beats)
		err := w.err
		w.mu.Unlock()
		if ok {
			return
		}
		if err != nil {
			w.t.Fatalf("waiting for %s: the stream ended: %v", what, err)
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("no %s within %s", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (w *watcher) sequences() []uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []uint64
	for _, e := range w.events {
		out = append(out, e.GetSequence())
	}
	return out
}

func TestWatchResumesAfterADisconnectWithNothingLostOrDoubled(t *testing.T) {
	s := startServer(t, t.TempDir(), true)
	flips := newFlips(s)
	req := &pb.WatchRequest{Plan: bcp, Types: []string{"rag_changed", "deadline_moved"}, HeartbeatSeconds: 1}
	w := watchFrom(t, s.events(s.token), req)
	w.until("the first heartbeat", 10*time.Second, func(_ []*pb.WatchEvent, b []*pb.WatchHeartbeat) bool { return len(b) > 0 })

	// Changes while connected, including one the filter leaves out.
	first := flips.make(5)
	if _, err := s.admin().RecordProgress(context.Background(), connect.NewRequest(&pb.RecordProgressRequest{Plan: bcp, Ref: "2.1", Text: "not watched"})); err != nil {
		t.Fatal(err)
	}
	mv, err := s.admin().MoveDeadline(context.Background(), connect.NewRequest(&pb.MoveDeadlineRequest{Plan: bcp, Ref: "3.4",
		Deadline: "2024-12-31", ReasonCategory: "capacity", Reason: "Restructure delayed"}))
	if err != nil {
		t.Fatal(err)
	}
	want := append(first, mv.Msg.GetResult().GetSequence())
	w.until("the first changes", 10*time.Second, func(e []*pb.WatchEvent, _ []*pb.WatchHeartbeat) bool { return len(e) >= len(want) })
	w.stop()
	seen := w.sequences()

	// Changes while disconnected, then resume from the last sequence + 1.
	missed := flips.make(5)
	want = append(want, missed...)
	resume := seen[len(seen)-1] + 1
	w2 := watchFrom(t, s.events(s.token), &pb.WatchRequest{Plan: bcp, Types: req.Types, HeartbeatSeconds: 1, FromSequence: resume})
	after := flips.make(3)
	want = append(want, after...)
	w2.until("every change", 10*time.Second, func(e []*pb.WatchEvent, _ []*pb.WatchHeartbeat) bool { return len(e) >= len(want)-len(seen) })
	// A quiet stream heartbeats with a resume point past the stream's end.
	w2.until("a heartbeat past the last event", 10*time.Second, func(_ []*pb.WatchEvent, b []*pb.WatchHeartbeat) bool {
		return len(b) > 1 && b[len(b)-1].GetResumeFrom() > want[len(want)-1]
	})
	got := append(seen, w2.sequences()...)
	if !slices.Equal(got, want) {
		t.Fatalf("events across the reconnection %v, want %v (each once, in order)", got, want)
	}

	// Each event carries the readable change and the envelope.
	w2.mu.Lock()
	defer w2.mu.Unlock()
	var moved, flipped *pb.WatchEvent
	for _, e := range append(w.events, w2.events...) {
		switch e.GetEntry().GetType() {
		case "deadline_moved":
			moved = e
		case "rag_changed":
			flipped = e
		}
	}
	if h := moved.GetEntry(); h.GetAfter() != "2024-12-31" || h.GetReason() != "Restructure delayed" || h.GetReasonCategory() != "capacity" ||
		h.GetSubject() != "3.4" || h.GetActor().GetDisplayName() != "Administrator" || moved.GetEnvelope().GetDeadlineMoved().GetTo() != "2024-12-31" ||
		!strings.HasPrefix(moved.GetNatsSubject(), "sendtrail.bcp-2023-26.action.") {
		t.Errorf("deadline_moved: %v", moved)
	}
	if h := flipped.GetEntry(); h.GetBefore() == "" || h.GetAfter() != flips.last[h.GetSubject()] || !strings.HasPrefix(h.GetCommentary(), "flip ") {
		t.Errorf("rag_changed: %v", flipped)
	}
}

func TestWatchAccessAndFilters(t *testing.T) {
	s := startServer(t, t.TempDir(), true)
	ctx := context.Background()
	viewer := s.issueToken(bcp, domain.RoleViewer)
	other := s.issueToken("other-area", domain.RoleService)

	// A viewer of the plan may watch it; a token for another plan may not.
	w := watchFrom(t, s.events(viewer), &pb.WatchRequest{Plan: bcp, Ref: "2.1", FromSequence: 1, HeartbeatSeconds: 1})
	w.until("2.1's history", 10*time.Second, func(e []*pb.WatchEvent, _ []*pb.WatchHeartbeat) bool { return len(e) > 0 })
	for _, e := range w.events {
		if e.GetEntry().GetSubject() != "2.1" {
			t.Fatalf("watching 2.1 got %v", e.GetEntry())
		}
	}
	for _, c := range []struct {
		token string
		req   *pb.WatchRequest
		code  connect.Code
	}{
		{other, &pb.WatchRequest{Plan: bcp}, connect.CodePermissionDenied},
		{"", &pb.WatchRequest{Plan: bcp}, connect.CodeUnauthenticated},
		{s.token, &pb.WatchRequest{Plan: "no-such-plan"}, connect.CodeNotFound},
		{s.token, &pb.WatchRequest{Plan: bcp, Types: []string{"rag_change"}}, connect.CodeInvalidArgument},
		{s.token, &pb.WatchRequest{Plan: bcp, AggregateId: "x"}, connect.CodeInvalidArgument},
		{s.token, &pb.WatchRequest{Plan: bcp, Ref: "not a ref"}, connect.CodeInvalidArgument},
	} {
		st, err := s.events(c.token).Watch(ctx, connect.NewRequest(c.req))
		if err == nil {
			for st.Receive() {
			}
			err = st.Err()
			st.Close()
		}
		if connect.CodeOf(err) != c.code {
			t.Errorf("watch %v: want %s, got %v", c.req, c.code, err)
		}
	}
}

// A webhook receiver that verifies every delivery (Standard Webhooks) and
// can be taken down.
type hookReceiver struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	secret   string
	down     bool
	requests int
	refused  int
	bad      []string
	got      []webhooks.CloudEvent
}

func newHookReceiver(t *testing.T) *hookReceiver {
	r := &hookReceiver{t: t}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.requests++
		if r.down {
			r.refused++
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		id, err := webhooks.Verify(r.secret, req.Header, body, 5*time.Minute, time.Now())
		if err != nil {
			r.bad = append(r.bad, err.Error())
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var ce webhooks.CloudEvent
		if err := json.Unmarshal(body, &ce); err != nil || ce.ID != id {
			r.bad = append(r.bad, fmt.Sprintf("body %s: %v", body, err))
		}
		r.got = append(r.got, ce)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *hookReceiver) setDown(down bool) {
	r.mu.Lock()
	r.down = down
	r.mu.Unlock()
}

func (r *hookReceiver) refusals() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.refused
}

// waitAll waits until every sequence of want was accepted and returns the
// accepted sequences in arrival order.
func (r *hookReceiver) waitAll(want []uint64, within time.Duration) []uint64 {
	r.t.Helper()
	deadline := time.Now().Add(within)
	for {
		r.mu.Lock()
		var got []uint64
		for _, ce := range r.got {
			got = append(got, ce.Data.Sequence)
		}
		bad := slices.Clone(r.bad)
		r.mu.Unlock()
		if len(bad) > 0 {
			r.t.Fatalf("the receiver refused deliveries: %v", bad)
		}
		done := true
		for _, w := range want {
			done = done && slices.Contains(got, w)
		}
		if done {
			return got
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("after %s the receiver has %v; want all of %v", within, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cli runs a sendtrail subcommand against s as the admin and returns its
// standard output.
func (s *testServer) cli(args ...string) string {
	s.t.Helper()
	var out, errb bytes.Buffer
	args = append(args, "--server", s.URL(), "--token-file", s.AdminTokenPath())
	if code := run(context.Background(), args, &out, &errb); code != 0 {
		s.t.Fatalf("sendtrail %s: exit %d: %s", strings.Join(args, " "), code, errb.String())
	}
	return out.String()
}

func (s *testServer) addWebhook(url string, types string) (*pb.AddWebhookResponse, string) {
	s.t.Helper()
	out := s.cli("webhook", "add", "--plan", bcp, "--url", url, "--types", types, "--json")
	var res pb.AddWebhookResponse
	if err := jsonpbUnmarshal(out, &res); err != nil {
		s.t.Fatalf("webhook add --json: %v: %s", err, out)
	}
	return &res, res.GetSecret()
}

func (s *testServer) webhookStatus(id string) *pb.Webhook {
	s.t.Helper()
	var res pb.ListWebhooksResponse
	if err := jsonpbUnmarshal(s.cli("webhook", "list", "--plan", bcp, "--json"), &res); err != nil {
		s.t.Fatal(err)
	}
	for _, w := range res.GetWebhooks() {
		if w.GetId() == id {
			return w
		}
	}
	s.t.Fatalf("webhook list has no %s", id)
	return nil
}

func TestWebhookDeliversEveryEventInOrderAcrossAnOutageAndARestart(t *testing.T) {
	dir := t.TempDir()
	s := startServerWith(t, dir, true, fastRetries...)
	rcv := newHookReceiver(t)
	add, secret := s.addWebhook(rcv.srv.URL+"/sendtrail", "rag_changed,deadline_moved")
	rcv.secret = secret
	id := add.GetWebhook().GetId()
	if !strings.HasPrefix(secret, "whsec_") || add.GetWebhook().GetStatus() != "active" {
		t.Fatalf("webhook add: %v", add)
	}
	flips := newFlips(s)

	// Up: delivered as they happen.
	want := flips.make(4)
	mv, err := s.admin().MoveDeadline(context.Background(), connect.NewRequest(&pb.MoveDeadlineRequest{Plan: bcp, Ref: "3.4",
		Deadline: "2025-01-31", ReasonCategory: "capacity", Reason: "Recruitment delayed"}))
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, mv.Msg.GetResult().GetSequence())
	start := time.Now()
	rcv.waitAll(want, 10*time.Second)
	t.Logf("5 deliveries in %s", time.Since(start).Round(time.Millisecond))

	// Down: retried with backoff, visible in the delivery log.
	rcv.setDown(true)
	want = append(want, flips.make(4)...)
	deadline := time.Now().Add(10 * time.Second)
	for rcv.refusals() < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	out := s.cli("webhook", "deliveries", "--plan", bcp, id)
	if !strings.Contains(out, "retrying") || !strings.Contains(out, "503") {
		t.Errorf("webhook deliveries during the outage:\n%s", out)
	}

	// The server restarts while the receiver is still down.
	s.Close()
	s = startServerWith(t, dir, true, fastRetries...)
	flips.s = s
	want = append(want, flips.make(3)...)
	time.Sleep(200 * time.Millisecond)
	rcv.setDown(false)

	got := rcv.waitAll(want, 20*time.Second)
	if !slices.Equal(got, want) {
		t.Fatalf("deliveries %v, want each of %v once, in order", got, want)
	}
	rcv.mu.Lock()
	var moved webhooks.CloudEvent
	for _, ce := range rcv.got {
		if ce.Type == "org.sendtrail.deadline_moved" {
			moved = ce
		}
	}
	refused := rcv.refused
	rcv.mu.Unlock()
	if d := moved.Data; moved.Subject != "3.4" || moved.Source != "/sendtrail/"+bcp || d.Before == "" || d.After != "2025-01-31" ||
		d.Reason != "Recruitment delayed" || d.Category != "capacity" || d.Actor.Role != "admin" {
		t.Errorf("deadline_moved delivery: %+v", moved)
	}
	t.Logf("%d deliveries, %d attempts refused by the receiver while it was down", len(got), refused)
	if st := s.webhookStatus(id); st.GetStatus() != "active" || st.GetPending() != 0 || st.GetDeliveredSequence() != want[len(want)-1] {
		t.Errorf("status after catching up: %v", st)
	}
}

func TestWebhookParksAfterItsRetryWindowAndReplaysInOrder(t *testing.T) {
	s := startServerWith(t, t.TempDir(), true, append(fastRetries, "--webhook-retry-for", "500ms")...)
	rcv := newHookReceiver(t)
	rcv.setDown(true)
	add, secret := s.addWebhook(rcv.srv.URL, "rag_changed")
	rcv.secret = secret
	id := add.GetWebhook().GetId()
	flips := newFlips(s)
	want := flips.make(3)

	deadline := time.Now().Add(15 * time.Second)
	var st *pb.Webhook
	for {
		if st = s.webhookStatus(id); st.GetStatus() == "parked" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not parked: %v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st.GetParkedSequence() != want[0] || st.GetPending() != 3 || !strings.Contains(st.GetStatusReason(), "503") {
		t.Errorf("parked status: %v", st)
	}
	if out := s.cli("webhook", "deliveries", "--plan", bcp, id); !strings.Contains(out, "parked") {
		t.Errorf("webhook deliveries does not show the parked delivery:\n%s", out)
	}
	if out := s.cli("webhook", "list", "--plan", bcp); !strings.Contains(out, "parked") {
		t.Errorf("webhook list does not show the parked webhook:\n%s", out)
	}

	rcv.setDown(false)
	if out := s.cli("webhook", "replay", "--plan", bcp, id); !strings.Contains(out, "resumed") {
		t.Errorf("webhook replay: %s", out)
	}
	got := rcv.waitAll(want, 10*time.Second)
	if !slices.Equal(got, want) {
		t.Fatalf("after the replay: %v, want %v", got, want)
	}

	// Pause, resume, remove.
	s.cli("webhook", "pause", "--plan", bcp, id, "--reason", "maintenance")
	paused := flips.make(2)
	time.Sleep(200 * time.Millisecond)
	if st := s.webhookStatus(id); st.GetStatus() != "paused" || st.GetPending() != 2 {
		t.Errorf("paused: %v", st)
	}
	s.cli("webhook", "resume", "--plan", bcp, id)
	want = append(want, paused...)
	if got := rcv.waitAll(want, 10*time.Second); !slices.Equal(got, want) {
		t.Fatalf("after resuming: %v, want %v", got, want)
	}
	s.cli("webhook", "remove", "--plan", bcp, id)
	flips.make(1)
	time.Sleep(200 * time.Millisecond)
	rcv.mu.Lock()
	n := len(rcv.got)
	rcv.mu.Unlock()
	if n != len(want) {
		t.Errorf("a removed webhook delivered %d more", n-len(want))
	}
}

func TestWebhookURLsAreChecked(t *testing.T) {
	s := startServer(t, t.TempDir(), true) // without --allow-private-webhooks
	c := sendtrailv1connect.NewWebhookServiceClient(http.DefaultClient, s.URL(), connect.WithInterceptors(bearer(s.token)))
	for _, url := range []string{"ftp://example.org/x", "http://127.0.0.1:9/x", "http://10.0.0.1/x", "http://169.254.169.254/latest", "http://localhost/x", "not a url"} {
		_, err := c.AddWebhook(context.Background(), connect.NewRequest(&pb.AddWebhookRequest{Plan: bcp, Url: url}))
		if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "url") {
			t.Errorf("AddWebhook %q: %v", url, err)
		}
	}
	_, err := c.AddWebhook(context.Background(), connect.NewRequest(&pb.AddWebhookRequest{Plan: bcp, Url: "https://93.184.215.14/x", Types: []string{"rag_chnged"}}))
	if connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Errorf("an unknown type: %v", err)
	}
	viewer := s.issueToken(bcp, domain.RoleService)
	vc := sendtrailv1connect.NewWebhookServiceClient(http.DefaultClient, s.URL(), connect.WithInterceptors(bearer(viewer)))
	_, err = vc.ListWebhooks(context.Background(), connect.NewRequest(&pb.ListWebhooksRequest{Plan: bcp}))
	if connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Errorf("a service token listing webhooks: %v", err)
	}
}

// jsonpbUnmarshal reads the Connect JSON the CLI prints with --json.
func jsonpbUnmarshal(s string, m proto.Message) error {
	return protojson.Unmarshal([]byte(s), m)
}

// watchWithCurl is the plain-curl Watch of docs/subscribing.md: perl frames
// the request and unframes the answer (Connect's 5-byte envelopes).
const watchWithCurl = `req='{"plan":"bcp-2023-26","types":["rag_changed"],"fromSequence":"1","heartbeatSeconds":1}'
perl -e 'print pack("CN", 0, length $ARGV[0]), $ARGV[0]' "$req" |
curl -sN --max-time 3 -X POST --data-binary @- \
  -H 'Content-Type: application/connect+json' -H "Authorization: Bearer $TOKEN" \
  "$SENDTRAIL_SERVER/sendtrail.v1.EventService/Watch" |
perl -e 'binmode STDIN; $| = 1; while (read(STDIN, $h, 5) == 5) { ($f, $n) = unpack("CN", $h); read(STDIN, $b, $n); print "$b\n" }'
`

func TestWatchWithCurl(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "perl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed for this test: %v", tool, err)
		}
	}
	s := startServer(t, t.TempDir(), true)
	seq := newFlips(s).make(1)[0]
	cmd := exec.Command("bash", "-c", watchWithCurl)
	cmd.Env = append(os.Environ(), "TOKEN="+s.token, "SENDTRAIL_SERVER="+s.URL())
	out, _ := cmd.Output() // curl ends at --max-time
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 2 || !strings.Contains(lines[0], `"heartbeat"`) {
		t.Fatalf("curl watch printed:\n%s", out)
	}
	var first struct {
		Event struct {
			Sequence string `json:"sequence"`
			Entry    struct {
				Type, Before, After, Commentary string
			} `json:"entry"`
		} `json:"event"`
	}
	if err := json.Unmarshal([]byte(lines[1]), &first); err != nil {
		t.Fatalf("curl watch line %q: %v", lines[1], err)
	}
	if e := first.Event; e.Sequence != fmt.Sprint(seq) || e.Entry.Type != "rag_changed" || e.Entry.After == "" || e.Entry.Commentary != "flip 0" {
		t.Errorf("curl watch event: %s", lines[1])
	}
}
