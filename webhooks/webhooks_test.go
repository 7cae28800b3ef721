package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/sendtrail/sendtrail/commands"
	"github.com/sendtrail/sendtrail/domain"
	"github.com/sendtrail/sendtrail/eventstore"
)

var admin = domain.Actor{ID: "admin", DisplayName: "Administrator", Role: domain.RoleAdmin}

const plan = "p-test"

type env struct {
	t     *testing.T
	store *eventstore.Store
	cmds  *commands.Handler
	nc    *nats.Conn
	n     int               // changes made
	rag   map[string]string // each action's RAG
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e, err := eventstore.StartEmbedded(eventstore.EmbeddedConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Shutdown)
	nc, err := e.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	store, err := eventstore.Open(ctx(t), nc, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cmds := commands.New(store, nil, nil)
	en := &env{t: t, store: store, cmds: cmds, nc: nc, rag: map[string]string{}}
	en.exec(commands.PlanTarget(plan), domain.CreatePlan{Slug: plan, Title: "Test plan"})
	en.exec(commands.PriorityTarget(plan, "1"), domain.AddPriorityArea{Number: "1", Title: "One"})
	en.exec(commands.ActionTarget(plan, "1.1"), domain.AddAction{Ref: "1.1", Priority: "1", Text: "Do it", Rag: "P"})
	en.exec(commands.ActionTarget(plan, "1.2"), domain.AddAction{Ref: "1.2", Priority: "1", Text: "Do more", Rag: "P"})
	return en
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func (e *env) exec(tg commands.Target, cmd domain.Command) uint64 {
	e.t.Helper()
	r, err := e.cmds.Execute(ctx(e.t), tg, cmd, commands.Meta{Actor: admin})
	if err != nil {
		e.t.Fatalf("%T: %v", cmd, err)
	}
	return r.Sequence
}

// service starts a Service delivering until the test ends or stop is called.
func (e *env) service(retry Retry) (*Service, func()) {
	e.t.Helper()
	s, err := New(ctx(e.t), Config{Store: e.store, Commands: e.cmds, AllowPrivate: true, Retry: retry, Timeout: 2 * time.Second})
	if err != nil {
		e.t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(rctx) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	e.t.Cleanup(stop)
	return s, stop
}

// changes makes n RAG changes, alternating two actions and codes, and
// returns their sequences.
func (e *env) changes(n int) []uint64 {
	e.t.Helper()
	var seqs []uint64
	for i := range n {
		ref := []string{"1.1", "1.2"}[e.n%2]
		rag := "A"
		if e.rag[ref] == "A" {
			rag = "R"
		}
		e.rag[ref] = rag
		seqs = append(seqs, e.exec(commands.ActionTarget(plan, ref), domain.ChangeRag{Rag: rag, Commentary: fmt.Sprintf("change %d", e.n)}))
		e.n++
		_ = i
	}
	return seqs
}

// receiver is a webhook endpoint that verifies every delivery and answers
// with the status its policy gives.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	secret string

	mu       sync.Mutex
	status   func(n int) int // n: request number from 1
	requests int
	bad      []string
	got      []CloudEvent // accepted deliveries, in arrival order
}

func newReceiver(t *testing.T, status func(n int) int) *receiver {
	r := &receiver{t: t, status: status}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	if _, err := Verify(r.secret, req.Header, body, 5*time.Minute, time.Now()); err != nil {
		r.bad = append(r.bad, err.Error())
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if ct := req.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/cloudevents+json") {
		r.bad = append(r.bad, "content type "+ct)
	}
	st := http.StatusOK
	if r.status != nil {
		st = r.status(r.requests)
	}
	if st/100 == 2 {
		var ce CloudEvent
		if err := json.Unmarshal(body, &ce); err != nil {
			r.bad = append(r.bad, err.Error())
		}
		if ce.ID != req.Header.Get("webhook-id") {
			r.bad = append(r.bad, "webhook-id is not the event id")
		}
		r.got = append(r.got, ce)
	}
	w.WriteHeader(st)
	fmt.Fprintf(w, "answer %d", st)
}

func (r *receiver) setStatus(f func(int) int) {
	r.mu.Lock()
	r.status = f
	r.mu.Unlock()
}

// waitFor waits until the receiver accepted deliveries of every sequence in
// want, and returns the sequences of what it accepted in arrival order.
func (r *receiver) waitFor(want []uint64, within time.Duration) []uint64 {
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
			r.t.Fatalf("receiver refused deliveries: %v", bad)
		}
		missing := 0
		for _, w := range want {
			if !slices.Contains(got, w) {
				missing++
			}
		}
		if missing == 0 {
			return got
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("after %s the receiver has %v, %d of %v missing", within, got, missing, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// inOrderOnce checks that got holds want in order, each once.
func inOrderOnce(t *testing.T, got, want []uint64) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("deliveries %v, want each of %v once and in order", got, want)
	}
}

func TestDeliversSignedCloudEventsInOrderThroughAnOutage(t *testing.T) {
	e := newEnv(t)
	// The receiver is down (503) for its first 6 requests.
	rcv := newReceiver(t, func(n int) int {
		if n <= 6 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	s, _ := e.service(Retry{Base: 20 * time.Millisecond, Max: 100 * time.Millisecond, For: time.Minute})
	w, secret, res, err := s.Add(ctx(t), plan, rcv.srv.URL+"/hook", []string{"rag_changed", "deadline_moved"}, commands.Meta{Actor: admin})
	if err != nil {
		t.Fatal(err)
	}
	rcv.secret = secret
	if !strings.HasPrefix(secret, SecretPrefix) || w.Registered != res.Sequence || w.Status != StatusActive {
		t.Fatalf("added %+v with secret %q", w, secret)
	}
	// Not a type the webhook takes: never delivered.
	e.exec(commands.ActionTarget(plan, "1.1"), domain.RecordProgress{Text: "progress"})
	want := e.changes(10)
	got := rcv.waitFor(want, 20*time.Second)
	inOrderOnce(t, got, want)

	rcv.mu.Lock()
	first := rcv.got[0]
	rcv.mu.Unlock()
	if first.SpecVersion != "1.0" || first.Type != "org.sendtrail.rag_changed" || first.Source != "/sendtrail/"+plan ||
		first.Subject != "1.1" || first.DataContentType != "application/json" || first.Time.IsZero() {
		t.Errorf("cloud event attributes: %+v", first)
	}
	d := first.Data
	if d.Before != "P" || d.After != "A" || d.Commentary != "change 0" || d.Ref != "1.1" || d.Actor.DisplayName != "Administrator" ||
		d.Plan != plan || d.Summary != "RAG P → A" || d.OccurredAt.IsZero() || d.RecordedAt.IsZero() {
		t.Errorf("data: %+v", d)
	}

	// The outage shows in the attempt log: the first delivery retried.
	ds, err := s.Deliveries(ctx(t), plan, w.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != len(want) {
		t.Fatalf("%d deliveries logged, want %d", len(ds), len(want))
	}
	oldest := ds[len(ds)-1]
	if oldest.Sequence != want[0] || oldest.Status != OutcomeDelivered || len(oldest.Attempts) != 7 {
		t.Fatalf("first delivery: %+v", oldest)
	}
	for i, a := range oldest.Attempts[:6] {
		if a.StatusCode != 503 || a.Outcome != OutcomeRetry || a.Number != i+1 || a.NextAt == nil || !strings.Contains(a.Response, "answer 503") {
			t.Errorf("attempt %d: %+v", i+1, a)
		}
	}
	if last := oldest.Attempts[6]; last.StatusCode != 200 || last.Outcome != OutcomeDelivered || last.Number != 7 {
		t.Errorf("last attempt: %+v", last)
	}
	st := s.Status(ctx(t), w)
	if st.Delivered != want[len(want)-1] || st.Pending != 0 {
		t.Errorf("status after delivering all: %+v", st)
	}
}

func TestParkedDeliveryIsVisibleAndReplays(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver(t, func(int) int { return http.StatusInternalServerError })
	s, _ := e.service(Retry{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond, For: 400 * time.Millisecond})
	w, secret, _, err := s.Add(ctx(t), plan, rcv.srv.URL, nil, commands.Meta{Actor: admin})
	if err != nil {
		t.Fatal(err)
	}
	rcv.secret = secret
	want := e.changes(4)

	// The first event fails for the whole window: the webhook parks there.
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := s.Status(ctx(t), w)
		if st.Status == StatusParked {
			if st.ParkedSequence != want[0] || !strings.Contains(st.Reason, "HTTP 500") || st.Pending != 4 {
				t.Fatalf("parked status: %+v", st)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not parked: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // nothing goes out while parked
	rcv.mu.Lock()
	before := rcv.requests
	rcv.mu.Unlock()
	time.Sleep(200 * time.Millisecond)
	rcv.mu.Lock()
	if rcv.requests != before {
		t.Errorf("a parked webhook made %d requests", rcv.requests-before)
	}
	rcv.mu.Unlock()
	ds, err := s.Deliveries(ctx(t), plan, w.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].Sequence != want[0] || ds[0].Status != OutcomeParked {
		t.Fatalf("deliveries while parked: %+v", ds)
	}

	// Replaying without a receiver fix is refused for a non-parked sequence 0 only.
	rcv.setStatus(nil)
	outcome, _, _, err := s.Replay(ctx(t), plan, w.ID, 0, "admin")
	if err != nil || outcome != OutcomeResumed {
		t.Fatalf("replay: %s %v", outcome, err)
	}
	got := rcv.waitFor(want, 20*time.Second)
	inOrderOnce(t, got, want)
	if st := s.Status(ctx(t), w); st.Status != StatusActive || st.Pending != 0 {
		t.Errorf("after replay: %+v", st)
	}
	if _, _, _, err := s.Replay(ctx(t), plan, w.ID, 0, "admin"); domain.ErrorCode(err) != domain.EPRECONDITION {
		t.Errorf("replaying sequence 0 of an active webhook: %v", err)
	}
	// A past event can be sent once more.
	outcome, att, _, err := s.Replay(ctx(t), plan, w.ID, want[1], "admin")
	if err != nil || outcome != OutcomeDelivered || att == nil || att.StatusCode != 200 || att.Trigger != TriggerReplay {
		t.Fatalf("replay of %d: %s %+v %v", want[1], outcome, att, err)
	}
}

func TestPauseQueuesAndRestartLosesNothing(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver(t, nil)
	s, stop := e.service(Retry{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond, For: time.Minute})
	w, secret, _, err := s.Add(ctx(t), plan, rcv.srv.URL, []string{"rag_changed"}, commands.Meta{Actor: admin, CommandID: "add-hook-1"})
	if err != nil {
		t.Fatal(err)
	}
	rcv.secret = secret
	// A retried add answers the same webhook and secret.
	w2, secret2, _, err := s.Add(ctx(t), plan, rcv.srv.URL, []string{"rag_changed"}, commands.Meta{Actor: admin, CommandID: "add-hook-1"})
	if err != nil || w2.ID != w.ID || secret2 != secret {
		t.Fatalf("retried add: %+v %v", w2, err)
	}
	first := e.changes(3)
	rcv.waitFor(first, 20*time.Second)

	if _, err := s.Pause(ctx(t), plan, w.ID, "receiver maintenance", "admin"); err != nil {
		t.Fatal(err)
	}
	paused := e.changes(3)
	time.Sleep(300 * time.Millisecond)
	if st := s.Status(ctx(t), w); st.Status != StatusPaused || st.Pending != 3 || st.Reason != "receiver maintenance" {
		t.Fatalf("paused: %+v", st)
	}
	rcv.mu.Lock()
	n := len(rcv.got)
	rcv.mu.Unlock()
	if n != 3 {
		t.Fatalf("a paused webhook delivered: %d", n)
	}

	// Stop the service, record more, resume on a new service: all arrive.
	stop()
	down := e.changes(3)
	s2, _ := e.service(Retry{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond, For: time.Minute})
	if _, err := s2.Resume(ctx(t), plan, w.ID, "admin"); err != nil {
		t.Fatal(err)
	}
	all := slices.Concat(first, paused, down)
	inOrderOnce(t, rcv.waitFor(all, 20*time.Second), all)

	// Removal stops deliveries and deletes the secret.
	if _, err := s2.Remove(ctx(t), plan, w.ID, commands.Meta{Actor: admin}); err != nil {
		t.Fatal(err)
	}
	e.changes(1)
	time.Sleep(300 * time.Millisecond)
	rcv.mu.Lock()
	if len(rcv.got) != len(all) {
		t.Errorf("a removed webhook delivered")
	}
	rcv.mu.Unlock()
	if _, err := s2.secrets.Get(ctx(t), w.ID); err == nil {
		t.Errorf("the secret of a removed webhook is still kept")
	}
	if _, err := s2.Get(ctx(t), plan, w.ID); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("removed webhook: %v", err)
	}
}

type fakeResolver map[string][]netip.Addr

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := f[host]; ok {
		return a, nil
	}
	return nil, errors.New("no such host")
}

func TestCheckURL(t *testing.T) {
	r := fakeResolver{
		"hooks.example.org": {netip.MustParseAddr("93.184.215.14")},
		"rebind.example":    {netip.MustParseAddr("93.184.215.14"), netip.MustParseAddr("10.0.0.7")},
		"metadata.example":  {netip.MustParseAddr("169.254.169.254")},
	}
	for _, c := range []struct {
		url          string
		allowPrivate bool
		ok           bool
	}{
		{"https://hooks.example.org/sendtrail", false, true},
		{"http://93.184.215.14:8080/x", false, true},
		{"ftp://hooks.example.org/x", false, false},
		{"file:///etc/passwd", true, false},
		{"hooks.example.org/x", false, false},
		{"https://user:pw@hooks.example.org/x", false, false},
		{"http://127.0.0.1:9000/x", false, false},
		{"http://127.0.0.1:9000/x", true, true},
		{"http://localhost/x", false, false},
		{"http://[::1]/x", false, false},
		{"http://10.1.2.3/x", false, false},
		{"http://192.168.1.1/x", false, false},
		{"http://172.16.0.1/x", false, false},
		{"http://169.254.169.254/latest/meta-data", false, false},
		{"http://[::ffff:127.0.0.1]/x", false, false},
		{"http://0.0.0.0/x", false, false},
		{"http://100.64.0.1/x", false, false},
		{"http://[fd00::1]/x", false, false},
		{"http://rebind.example/x", false, false},
		{"http://metadata.example/x", false, false},
		{"http://unknown.example/x", false, false},
	} {
		err := CheckURL(context.Background(), c.url, c.allowPrivate, r)
		if (err == nil) != c.ok {
			t.Errorf("CheckURL(%q, allowPrivate=%v) = %v, want ok=%v", c.url, c.allowPrivate, err, c.ok)
		}
		if err != nil && domain.ErrorCode(err) != domain.EINVALID {
			t.Errorf("CheckURL(%q): %v is not EINVALID", c.url, err)
		}
	}
}

func TestDialerRefusesPrivateAddressesAtDelivery(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	_, err := guardedClient(false, time.Second).Post(srv.URL, "text/plain", nil)
	if err == nil || !strings.Contains(err.Error(), "allow-private-webhooks") {
		t.Fatalf("guarded client reached %s: %v", srv.URL, err)
	}
	resp, err := guardedClient(true, time.Second).Post(srv.URL, "text/plain", nil)
	if err != nil {
		t.Fatalf("with private addresses allowed: %v", err)
	}
	resp.Body.Close()
}

func TestStandardWebhooksSignature(t *testing.T) {
	// The specification's example.
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	id, ts, body := "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`)
	sig, err := Sign(secret, id, ts, body)
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; sig != want {
		t.Fatalf("signature %s, want %s", sig, want)
	}
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", "1614265330")
	h.Set("webhook-signature", "v1,bm90LXRoaXMtb25l "+sig)
	if got, err := Verify(secret, h, body, 5*time.Minute, ts.Add(time.Minute)); err != nil || got != id {
		t.Fatalf("Verify: %q %v", got, err)
	}
	if _, err := Verify(secret, h, []byte(`{"test": 1}`), 5*time.Minute, ts); err == nil {
		t.Error("a changed body verified")
	}
	if _, err := Verify(secret, h, body, 5*time.Minute, ts.Add(10*time.Minute)); err == nil {
		t.Error("an old timestamp verified")
	}
}

func TestRetryDelay(t *testing.T) {
	r := Retry{Base: time.Second, Max: time.Minute, For: time.Hour}
	for n := 1; n <= 50; n++ {
		ceiling := r.Base
		for i := 1; i < n && ceiling < r.Max; i++ {
			ceiling *= 2
		}
		ceiling = min(ceiling, r.Max)
		for range 20 {
			if d := r.delay(n); d < time.Millisecond || d > ceiling {
				t.Fatalf("delay(%d) = %s, want within (0, %s]", n, d, ceiling)
			}
		}
	}
}
