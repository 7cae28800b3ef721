package eventstore

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestOpenCreatesAuditLogStream(t *testing.T) {
	e := startServer(t, t.TempDir())
	nc := connect(t, e)
	st := openStore(t, nc)
	ctx := testCtx(t)

	info, err := st.stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := info.Config
	checks := []struct {
		name string
		ok   bool
	}{
		{"name SENDTRAIL", c.Name == "SENDTRAIL"},
		{"subjects sendtrail.>", slices.Equal(c.Subjects, []string{"sendtrail.>"})},
		{"file storage", c.Storage == jetstream.FileStorage},
		{"limits retention", c.Retention == jetstream.LimitsPolicy},
		{"no age limit", c.MaxAge == 0},
		{"no size limit", c.MaxBytes == -1},
		{"no message limit", c.MaxMsgs == -1},
		{"no per-subject limit", c.MaxMsgsPerSubject == -1},
		{"deny delete", c.DenyDelete},
		{"deny purge", c.DenyPurge},
		{"no rollup", !c.AllowRollup},
		{"direct get", c.AllowDirect},
		{"duplicate window 24h", c.Duplicates == 24*time.Hour},
		{"replicas 1", c.Replicas == 1},
		{"no message TTL", !c.AllowMsgTTL},
		{"atomic batches", c.AllowAtomicPublish},
	}
	for _, ch := range checks {
		if !ch.ok {
			t.Errorf("stream config: want %s; got %+v", ch.name, c)
		}
	}

	a := mustAppend(t, st, event("a1", "added", "c1"), Expect{Filter: filter("a1")})
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(ctx, "SENDTRAIL")
	if err != nil {
		t.Fatal(err)
	}
	loosened := c
	loosened.DenyDelete, loosened.DenyPurge = false, false
	for _, tc := range []struct {
		name string
		do   func() error
	}{
		{"delete message", func() error { return s.DeleteMsg(ctx, a.Sequence) }},
		{"secure delete message", func() error { return s.SecureDeleteMsg(ctx, a.Sequence) }},
		{"purge stream", func() error { return s.Purge(ctx) }},
		{"purge subject", func() error { return s.Purge(ctx, jetstream.WithPurgeSubject(subject("a1", "added"))) }},
		{"loosen deny delete/purge", func() error { _, err := js.UpdateStream(ctx, loosened); return err }},
		{"roll up", func() error {
			_, err := js.UpdateStream(ctx, func() jetstream.StreamConfig { c := c; c.AllowRollup = true; return c }())
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.do(); err == nil {
				t.Fatal("succeeded on an audit log")
			} else {
				t.Logf("refused: %v", err)
			}
		})
	}
	if got := mustLoad(t, st, filter("a1"), 0); len(got) != 1 || got[0].Sequence != a.Sequence {
		t.Fatalf("message lost: %+v", got)
	}
	if seq := mustLastSequence(t, st); seq != 1 {
		t.Fatalf("LastSequence = %d, want 1", seq)
	}
}

func TestOpenExistingStream(t *testing.T) {
	loose := jetstream.StreamConfig{
		Name:        "SENDTRAIL",
		Subjects:    []string{"sendtrail.bcp.>", "other.>"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      time.Hour,
		MaxMsgs:     100,
		MaxBytes:    1 << 20,
		AllowRollup: true,
		Duplicates:  2 * time.Minute,
	}
	tests := []struct {
		name      string
		existing  jetstream.StreamConfig
		withError error
	}{
		{name: "loose stream is tightened", existing: loose},
		{name: "already an audit log", existing: Config{}.withDefaults().streamConfig()},
		{name: "interest retention becomes limits", existing: func() jetstream.StreamConfig {
			c := loose
			c.Retention = jetstream.InterestPolicy
			return c
		}()},
		{name: "memory storage refused", existing: func() jetstream.StreamConfig {
			c := loose
			c.Storage = jetstream.MemoryStorage
			return c
		}(), withError: ErrStreamConfig},
		{name: "work queue refused", existing: func() jetstream.StreamConfig {
			c := loose
			c.Retention = jetstream.WorkQueuePolicy
			return c
		}(), withError: ErrStreamConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nc := connect(t, startServer(t, t.TempDir()))
			ctx := testCtx(t)
			js, err := jetstream.New(nc)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := js.CreateStream(ctx, tc.existing); err != nil {
				t.Fatal(err)
			}
			if _, err := js.Publish(ctx, "sendtrail.bcp.action.x.added", []byte("old")); err != nil {
				t.Fatal(err)
			}
			st, err := Open(ctx, nc, Config{})
			checkError(t, err, tc.withError)
			if err != nil {
				return
			}
			info, err := st.stream.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			c := info.Config
			if !c.DenyDelete || !c.DenyPurge || c.AllowRollup || !c.AllowDirect ||
				c.MaxAge != 0 || c.MaxMsgs != -1 || c.MaxBytes != -1 ||
				c.Retention != jetstream.LimitsPolicy || c.Duplicates != 24*time.Hour {
				t.Fatalf("not tightened: %+v", c)
			}
			if !slices.Contains(c.Subjects, "sendtrail.>") || slices.Contains(c.Subjects, "sendtrail.bcp.>") {
				t.Fatalf("subjects = %v", c.Subjects)
			}
			if len(tc.existing.Subjects) > 1 && !slices.Contains(c.Subjects, "other.>") {
				t.Fatalf("subject dropped: %v", c.Subjects)
			}
			if tc.existing.Retention == jetstream.LimitsPolicy && info.State.Msgs != 1 {
				t.Fatalf("messages = %d, want the old one kept", info.State.Msgs)
			}
			// Opening again changes nothing.
			if _, err := Open(ctx, nc, Config{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestMergeSubjects(t *testing.T) {
	tests := []struct {
		have, want, out []string
	}{
		{[]string{"sendtrail.>"}, []string{"sendtrail.>"}, []string{"sendtrail.>"}},
		{[]string{"sendtrail.bcp.>"}, []string{"sendtrail.>"}, []string{"sendtrail.>"}},
		{[]string{">"}, []string{"sendtrail.>"}, []string{">"}},
		{[]string{"a.>", "sendtrail.x.*"}, []string{"sendtrail.>"}, []string{"a.>", "sendtrail.>"}},
		{nil, []string{"sendtrail.>"}, []string{"sendtrail.>"}},
	}
	for _, tc := range tests {
		if got := mergeSubjects(tc.have, tc.want); !slices.Equal(got, tc.out) {
			t.Errorf("mergeSubjects(%v, %v) = %v, want %v", tc.have, tc.want, got, tc.out)
		}
	}
}

func TestPingAndUnavailable(t *testing.T) {
	e, err := StartEmbedded(EmbeddedConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	// Quiet: the client reports the lost connection on stderr by default.
	quiet := nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {})
	nc := connect(t, e, quiet)
	st := openStore(t, nc)
	closedNC := connect(t, e, quiet)
	closed := openStore(t, closedNC)
	ctx := testCtx(t)
	if err := st.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if seq := mustLastSequence(t, st); seq != 0 {
		t.Fatalf("LastSequence of an empty stream = %d", seq)
	}
	closedNC.Close()
	e.Shutdown()

	ops := []struct {
		name string
		do   func(context.Context, *Store) error
	}{
		{"ping", func(ctx context.Context, st *Store) error { return st.Ping(ctx) }},
		{"append", func(ctx context.Context, st *Store) error {
			_, err := st.Append(ctx, event("a", "added", "x"), Expect{})
			return err
		}},
		{"append all", func(ctx context.Context, st *Store) error {
			_, err := st.AppendAll(ctx, []Message{event("a", "added", "x")}, []Expect{{}})
			return err
		}},
		{"load", func(ctx context.Context, st *Store) error { _, err := st.Load(ctx, filter("a"), 0); return err }},
		{"last", func(ctx context.Context, st *Store) error { _, err := st.Last(ctx, filter("a")); return err }},
		{"last sequence", func(ctx context.Context, st *Store) error { _, err := st.LastSequence(ctx); return err }},
		{"read", func(ctx context.Context, st *Store) error {
			return st.Read(ctx, 0, "", func([]Stored) error { return nil })
		}},
	}
	for _, conn := range []struct {
		name string
		st   *Store
	}{{"server gone", st}, {"connection closed", closed}} {
		for _, op := range ops {
			t.Run(conn.name+"/"+op.name, func(t *testing.T) {
				short, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
				defer cancel()
				err := op.do(short, conn.st)
				checkError(t, err, ErrUnavailable)
				t.Logf("%v", err)
			})
		}
	}
}
