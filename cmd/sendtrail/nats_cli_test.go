package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/sendtrail/sendtrail/eventpb"
	"github.com/sendtrail/sendtrail/feed"
	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
	"github.com/sendtrail/sendtrail/webhooks"
)

// NATS for other services: users who may read only their plan, checked
// with nats.go and with the nats CLI (the version pinned in
// testdata/natscli, built once per test that needs it).

// natsCLIVersion is the nats CLI the tests run (testdata/natscli/go.mod).
const natsCLIVersion = "v0.3.0"

// buildNatsCLI builds the pinned nats CLI into a temporary directory.
func buildNatsCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "nats")
	start := time.Now()
	cmd := exec.Command("go", "build", "-o", bin, "github.com/nats-io/natscli/nats")
	cmd.Dir = filepath.Join("testdata", "natscli")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the nats CLI %s (go build in %s): %v\n%s", natsCLIVersion, cmd.Dir, err, out)
	}
	t.Logf("built the nats CLI %s in %s", natsCLIVersion, time.Since(start).Round(time.Millisecond))
	return bin
}

// writeNatsUsers writes a --nats-users file: casework reads bcp-2023-26, other
// reads another plan.
func writeNatsUsers(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "nats-users.json")
	err := os.WriteFile(p, []byte(`{"users": [
  {"user": "casework", "password": "casework-secret-1", "plans": ["bcp-2023-26"]},
  {"user": "other", "password": "other-secret-2", "plans": ["other-area"]}
]}`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func natsServer(t *testing.T) *testServer {
	t.Helper()
	return startServerWith(t, t.TempDir(), true, append(fastRetries, "--nats-listen", "127.0.0.1:0", "--nats-users", writeNatsUsers(t))...)
}

// natsAs connects to the server's NATS listener as a service user,
// collecting permission errors.
func natsAs(t *testing.T, s *testServer, user, password string) (*nats.Conn, chan error) {
	t.Helper()
	errs := make(chan error, 16)
	nc, err := nats.Connect(s.NatsClientURL(), nats.UserInfo(user, password), nats.CustomInboxPrefix("_INBOX_"+user),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case errs <- err:
			default:
			}
		}))
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	t.Cleanup(nc.Close)
	return nc, errs
}

func wantViolation(t *testing.T, errs chan error, what string) {
	t.Helper()
	select {
	case err := <-errs:
		if !strings.Contains(strings.ToLower(err.Error()), "permissions violation") {
			t.Errorf("%s: %v, want a permissions violation", what, err)
		}
	case <-time.After(3 * time.Second):
		t.Errorf("%s: allowed, want a permissions violation", what)
	}
}

func TestNatsServiceUserReadsOnlyItsPlan(t *testing.T) {
	s := natsServer(t)
	if s.NatsClientURL() == "" || !strings.Contains(s.out.String(), "SENDTRAIL_BCP-2023-26") {
		t.Fatalf("no NATS listener or plan stream: %q", s.out.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// A denied JetStream request gets no answer: give each a short time.
	short := func() context.Context {
		c, cancel := context.WithTimeout(ctx, time.Second)
		t.Cleanup(cancel)
		return c
	}

	// Wrong password: refused.
	if _, err := nats.Connect(s.NatsClientURL(), nats.UserInfo("casework", "wrong")); err == nil {
		t.Fatal("a wrong password connected")
	}
	if _, err := nats.Connect(s.NatsClientURL()); err == nil {
		t.Fatal("an anonymous client connected")
	}

	nc, errs := natsAs(t, s, "casework", "casework-secret-1")
	sub, err := nc.SubscribeSync("sendtrail.bcp-2023-26.action.*.rag_changed")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	flips := newFlips(s)
	seqs := flips.make(1)
	m, err := sub.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatalf("the plan's subscriber got nothing: %v", err)
	}
	env, err := eventpb.Unmarshal(m.Data, seqs[0])
	if err != nil || env.Plan != bcp || env.Event.Type() != "rag_changed" || m.Header.Get("Nats-Msg-Id") == "" {
		t.Fatalf("message on %s: %v %v", m.Subject, env, err)
	}

	// Not another plan's subjects, not every plan's, no publishing events.
	if _, err := nc.SubscribeSync("sendtrail.other-area.>"); err != nil {
		t.Fatal(err)
	}
	wantViolation(t, errs, "subscribing to another plan")
	if _, err := nc.SubscribeSync("sendtrail.*.action.*.rag_changed"); err != nil {
		t.Fatal(err)
	}
	wantViolation(t, errs, "subscribing to every plan")
	if err := nc.Publish("sendtrail.bcp-2023-26.action.x.rag_changed", []byte("forged")); err != nil {
		t.Fatal(err)
	}
	wantViolation(t, errs, "publishing an event")
	if _, err := nc.SubscribeSync("_INBOX.>"); err != nil {
		t.Fatal(err)
	}
	wantViolation(t, errs, "snooping on other inboxes")

	// The plan's own stream: readable, complete, with the source sequence.
	js, err := jetstream.New(nc, jetstream.WithDefaultTimeout(3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	stream, err := js.Stream(ctx, PlanStreamName(bcp))
	if err != nil {
		t.Fatalf("the plan's stream: %v", err)
	}
	last := s.lastSequence()
	deadline := time.Now().Add(10 * time.Second)
	for stream.CachedInfo().State.Msgs == 0 || stream.CachedInfo().State.LastTime.IsZero() {
		if time.Now().After(deadline) {
			t.Fatal("the plan stream stays empty")
		}
		time.Sleep(50 * time.Millisecond)
		stream, _ = js.Stream(ctx, PlanStreamName(bcp))
	}
	cons, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "casework-dashboard", AckPolicy: jetstream.AckExplicitPolicy,
		FilterSubject: "sendtrail.bcp-2023-26.action.*.rag_changed"})
	if err != nil {
		t.Fatalf("a durable consumer on the plan stream: %v", err)
	}
	msgs, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for m := range msgs.Messages() {
		if !strings.HasPrefix(m.Subject(), "sendtrail.bcp-2023-26.") || !strings.HasPrefix(m.Headers().Get("Nats-Stream-Source"), "SENDTRAIL ") {
			t.Errorf("plan stream message %s %v", m.Subject(), m.Headers())
		}
		if err := m.Ack(); err != nil {
			t.Error(err)
		}
	}
	_ = last

	// Not the whole log, not another plan's stream, not the webhook secrets.
	for _, name := range []string{"SENDTRAIL", PlanStreamName("other-area"), webhooks.LogStream, "KV_" + webhooks.SecretsBucket} {
		if _, err := js.Stream(short(), name); err == nil {
			t.Errorf("casework reads stream %s", name)
		}
	}
	// The other plan's user cannot read this plan's stream either.
	onc, _ := natsAs(t, s, "other", "other-secret-2")
	ojs, _ := jetstream.New(onc, jetstream.WithDefaultTimeout(3*time.Second))
	if _, err := ojs.Stream(short(), PlanStreamName(bcp)); err == nil {
		t.Error("the other plan's user reads bcp-2023-26's stream")
	}
	if _, err := ojs.Stream(short(), PlanStreamName("other-area")); err != nil {
		t.Errorf("the other plan's user cannot read its own stream: %v", err)
	}
}

func TestServeRefusesAnOpenNatsListener(t *testing.T) {
	for _, args := range [][]string{
		{"--nats-listen", "127.0.0.1:4222"},
		{"--nats-users", "users.json"},
		{"--nats-url", "nats://x:4222", "--nats-listen", "127.0.0.1:4222", "--nats-users", "u.json"},
	} {
		var ue usageError
		if err := NewMain(io.Discard, io.Discard).ParseFlags(args); !errors.As(err, &ue) {
			t.Errorf("serve %v: %v, want a usage error", args, err)
		}
	}
}

// lineReader collects the lines a running command writes.
func lineReader(r io.Reader) chan string {
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return lines
}

func waitLine(t *testing.T, lines chan string, what string, match func(string) bool) string {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("%s: the output ended", what)
			}
			if match(l) {
				return l
			}
		case <-timeout:
			t.Fatalf("%s: not within 20s", what)
		}
	}
}

// TestOneRagChangeReachesEverySubscriber is the acceptance test: a
// RAG change made through the API reaches a nats CLI subscriber, a
// `sendtrail watch` client and a webhook receiver, each with the values
// before and after and the commentary.
func TestOneRagChangeReachesEverySubscriber(t *testing.T) {
	natsBin := buildNatsCLI(t)
	s := natsServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	natsArgs := []string{"--server", s.NatsClientURL(), "--user", "casework", "--password", "casework-secret-1",
		"--inbox-prefix", "_INBOX_casework", "--no-context", "--timeout", "2s"}

	// 3.4 is not rated yet: rate it first, so that the change watched
	// below has a value before it.
	if _, err := s.admin().ChangeRag(context.Background(), connect.NewRequest(&pb.ChangeRagRequest{Plan: bcp, Ref: "3.4", Rag: "A"})); err != nil {
		t.Fatal(err)
	}

	// 1. nats CLI subscriber, printing each message's data in base64.
	sub := exec.CommandContext(ctx, natsBin, append([]string{"sub", "sendtrail.bcp-2023-26.action.*.rag_changed", "--count", "1",
		"--translate", "base64 -w0"}, natsArgs...)...)
	subOut, _ := sub.StdoutPipe()
	sub.Stderr = sub.Stdout
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	subLines := lineReader(subOut)
	waitLine(t, subLines, "nats sub to start", func(l string) bool { return strings.Contains(l, "Subscribing on") })

	// 2. sendtrail watch, printing JSON lines.
	wr, ww := io.Pipe()
	watchDone := make(chan int, 1)
	go func() {
		watchDone <- run(ctx, []string{"watch", "--plan", bcp, "--types", "rag_changed", "--heartbeats", "--heartbeat", "1s",
			"--server", s.URL(), "--token-file", s.AdminTokenPath()}, ww, io.Discard)
		ww.Close()
	}()
	watchLines := lineReader(wr)
	waitLine(t, watchLines, "sendtrail watch to start", func(l string) bool { return strings.Contains(l, `"heartbeat":true`) })

	// 3. A webhook receiver.
	rcv := newHookReceiver(t)
	_, secret := s.addWebhook(rcv.srv.URL, "rag_changed")
	rcv.secret = secret

	// The change.
	res, err := s.admin().ChangeRag(context.Background(), connect.NewRequest(&pb.ChangeRagRequest{
		Plan: bcp, Ref: "3.4", Rag: "R", Commentary: "Recruitment to the SENCO post has stalled"}))
	if err != nil {
		t.Fatal(err)
	}
	seq := res.Msg.GetResult().GetSequence()
	before, err := s.admin().GetActionHistory(context.Background(), connect.NewRequest(&pb.GetActionHistoryRequest{Plan: bcp, Ref: "3.4", MinSequence: seq}))
	if err != nil {
		t.Fatal(err)
	}
	hist := before.Msg.GetEntries()
	want := hist[len(hist)-1] // the read model's own description of the change
	if want.GetBefore() != "A" || want.GetAfter() != "R" || want.GetCommentary() == "" {
		t.Fatalf("history entry: %v", want)
	}

	// nats CLI: one message, the event's protobuf with from, to and commentary.
	subject := waitLine(t, subLines, "the nats CLI's message", func(l string) bool { return strings.Contains(l, "Received on") })
	env := &pb.Envelope{}
	waitLine(t, subLines, "the nats CLI's message data", func(l string) bool {
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(l))
		return err == nil && len(b) > 0 && proto.Unmarshal(b, env) == nil && env.GetEventId() != ""
	})
	if err := sub.Wait(); err != nil {
		t.Fatalf("nats sub: %v", err)
	}
	rc := env.GetRagChanged()
	if rc.GetFrom() != want.GetBefore() || rc.GetTo() != "R" || rc.GetCommentary() != want.GetCommentary() || env.GetActor().GetRole() != "admin" {
		t.Errorf("nats CLI got %v (%s)", env, subject)
	}

	// sendtrail watch: a JSON line with before, after and commentary.
	line := waitLine(t, watchLines, "the watch line", func(l string) bool { return strings.Contains(l, `"type":"rag_changed"`) })
	var rec feed.Record
	if err := json.Unmarshal([]byte(line), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Sequence != seq || rec.Before != want.GetBefore() || rec.After != "R" || rec.Commentary != want.GetCommentary() || rec.Ref != "3.4" {
		t.Errorf("watch printed %s", line)
	}

	// The webhook: a signed CloudEvent with the same.
	rcv.waitAll([]uint64{seq}, 10*time.Second)
	rcv.mu.Lock()
	ce := rcv.got[0]
	rcv.mu.Unlock()
	if ce.Type != "org.sendtrail.rag_changed" || ce.Data.Before != want.GetBefore() || ce.Data.After != "R" || ce.Data.Commentary != want.GetCommentary() {
		t.Errorf("webhook got %+v", ce)
	}

	cancel()
	select {
	case code := <-watchDone:
		if code != 0 {
			t.Errorf("sendtrail watch exited %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Error("sendtrail watch did not stop")
	}

	// The nats CLI as the plan's user: another plan's subjects are refused,
	// and a durable consumer on the plan's stream reads its events.
	octx, ocancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer ocancel()
	out, err := exec.CommandContext(octx, natsBin, append([]string{"sub", "sendtrail.other-area.>", "--count", "1", "--wait", "3s"}, natsArgs...)...).CombinedOutput()
	if err == nil || !strings.Contains(strings.ToLower(string(out)), "permissions violation") {
		t.Errorf("nats sub on another plan: %v\n%s", err, out)
	}
	stream := PlanStreamName(bcp)
	out, err = exec.Command(natsBin, append([]string{"consumer", "add", stream, "casework-rag", "--pull", "--deliver", "all", "--ack", "explicit",
		"--filter", "sendtrail.bcp-2023-26.action.*.rag_changed", "--defaults"}, natsArgs...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("nats consumer add: %v\n%s", err, out)
	}
	out, err = exec.Command(natsBin, append([]string{"consumer", "next", stream, "casework-rag", "--count", "1", "--raw"}, natsArgs...)...).CombinedOutput()
	if err != nil || len(out) == 0 {
		t.Fatalf("nats consumer next: %v\n%s", err, out)
	}
	out, err = exec.Command(natsBin, append([]string{"stream", "info", "SENDTRAIL"}, natsArgs...)...).CombinedOutput()
	if err == nil {
		t.Errorf("nats stream info SENDTRAIL as a plan's user:\n%s", out)
	}
}
