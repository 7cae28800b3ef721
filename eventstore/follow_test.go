package eventstore

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestFollowWithSeveralFiltersFromASequence(t *testing.T) {
	st := newStore(t)
	for i, ev := range []string{"rag_changed", "progress_recorded", "deadline_moved", "rag_changed", "impact_recorded"} {
		mustAppend(t, st, event("a1", ev, idf("m%d", i)), Expect{})
	}
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	var got []uint64
	filters := []string{subject("*", "rag_changed"), subject("*", "deadline_moved")}
	err := st.Follow(ctx, 2, filters, func(m Stored) error {
		got = append(got, m.Sequence)
		if len(got) == 2 {
			cancel()
		}
		return nil
	})
	if err != context.Canceled {
		t.Fatalf("Follow: %v", err)
	}
	// From 2: 3 (deadline_moved), 4 (rag_changed), then 6, appended while following.
	go func() {
		time.Sleep(100 * time.Millisecond)
		mustAppend(t, st, event("a1", "rag_changed", "m5"), Expect{})
	}()
	ctx2, cancel2 := context.WithCancel(testCtx(t))
	defer cancel2()
	_ = st.Follow(ctx2, 5, filters, func(m Stored) error {
		got = append(got, m.Sequence)
		cancel2()
		return nil
	})
	if !slices.Equal(got, []uint64{3, 4, 6}) {
		t.Fatalf("followed %v, want [3 4 6]", got)
	}

	if ms, err := st.LoadBetween(testCtx(t), filter("a1"), 2, 4); err != nil || !slices.Equal(seqs(ms), []uint64{2, 3, 4}) {
		t.Fatalf("LoadBetween 2..4: %v %v", seqs(ms), err)
	}
	if ms, err := st.LoadBetween(testCtx(t), subject("*", "rag_changed"), 2, 0); err != nil || !slices.Equal(seqs(ms), []uint64{4, 6}) {
		t.Fatalf("LoadBetween rag_changed from 2: %v %v", seqs(ms), err)
	}
	if m, ok, err := st.NextMatching(testCtx(t), 5, 6, filters); err != nil || !ok || m.Sequence != 6 {
		t.Fatalf("NextMatching 5..6: %v %v %v", m.Sequence, ok, err)
	}
	if _, ok, err := st.NextMatching(testCtx(t), 5, 5, filters); err != nil || ok {
		t.Fatalf("NextMatching 5..5: %v %v", ok, err)
	}
	if err := st.Follow(testCtx(t), 1, []string{"bad subject"}, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Follow with a bad filter: %v", err)
	}
}

func TestReadUsersAndSubsetStreams(t *testing.T) {
	e, auth, err := StartEmbeddedWithUsers(EmbeddedConfig{Dir: t.TempDir(), ListenHost: "127.0.0.1"}, []ReadUser{
		{Name: "svc", Password: "pw-1", Subjects: []string{"sendtrail.p.>"}, Streams: []string{"SENDTRAIL_P"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Shutdown)
	st := openStore(t, connect(t, e, auth))
	if err := st.EnsureSubsetStream(testCtx(t), "SENDTRAIL_P", "sendtrail.p.>"); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, st, event("a1", "rag_changed", "m1"), Expect{})
	mustAppend(t, st, Message{Subject: "sendtrail.q.action.b.rag_changed", MsgID: "m2", Data: []byte("q")}, Expect{})

	if _, err := nats.Connect(e.ClientURL()); err == nil {
		t.Fatal("an anonymous client connected")
	}
	nc, err := nats.Connect(e.ClientURL(), nats.UserInfo("svc", "pw-1"), nats.CustomInboxPrefix("_INBOX_svc"),
		nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(testCtx(t), 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, "SENDTRAIL_P")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.CachedInfo().State.Msgs != 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		s, _ = js.Stream(ctx, "SENDTRAIL_P")
	}
	if n := s.CachedInfo().State.Msgs; n != 1 {
		t.Fatalf("the subset stream holds %d messages, want plan p's 1", n)
	}
	sctx, scancel := context.WithTimeout(ctx, time.Second)
	defer scancel()
	if _, err := js.Stream(sctx, "SENDTRAIL"); err == nil {
		t.Fatal("a read user reads the whole stream")
	}
	for _, bad := range []ReadUser{{Name: "a b", Password: "x"}, {Name: "ok"}, {Name: "ok", Password: "x", Streams: []string{"A.B"}}} {
		if _, _, err := StartEmbeddedWithUsers(EmbeddedConfig{Dir: t.TempDir(), ListenHost: "127.0.0.1"}, []ReadUser{bad}); !errors.Is(err, ErrInvalid) {
			t.Errorf("user %+v: %v", bad, err)
		}
	}
}
