package eventstore

import (
	"errors"
	"testing"

	"github.com/nats-io/nats.go"
)

func TestEmbeddedRestartKeepsData(t *testing.T) {
	dir := t.TempDir()
	e, err := StartEmbedded(EmbeddedConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := e.Connect()
	if err != nil {
		t.Fatal(err)
	}
	st := openStore(t, nc)
	a1 := mustAppend(t, st, event("a", "added", "c1"), Expect{Filter: filter("a")})
	a2 := mustAppend(t, st, event("a", "rag_changed", "c2"), Expect{Filter: filter("a"), Sequence: a1.Sequence})
	mustAppend(t, st, event("b", "added", "c3"), Expect{Filter: filter("b")})
	before := mustLoad(t, st, "", 0)
	nc.Close()
	e.Shutdown()

	st = openStore(t, connect(t, startServer(t, dir)))
	after := mustLoad(t, st, "", 0)
	if len(after) != len(before) {
		t.Fatalf("%d messages after restart, want %d", len(after), len(before))
	}
	for i := range before {
		b, a := before[i], after[i]
		if a.Sequence != b.Sequence || a.Subject != b.Subject || string(a.Data) != string(b.Data) ||
			a.MsgID != b.MsgID || !a.Time.Equal(b.Time) {
			t.Fatalf("message %d: %+v after restart, was %+v", i, a, b)
		}
	}
	// The concurrency and de-duplication state survive too.
	if _, err := st.Append(testCtx(t), event("a", "revised", "c4"), Expect{Filter: filter("a"), Sequence: a1.Sequence}); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale append after restart: %v", err)
	}
	if got := mustAppend(t, st, event("a", "rag_changed", "c2"), Expect{Filter: filter("a"), Sequence: a1.Sequence}); !got.Duplicate || got.Sequence != a2.Sequence {
		t.Fatalf("retry after restart = %+v, want duplicate of %d", got, a2.Sequence)
	}
	if got := mustAppend(t, st, event("a", "revised", "c5"), Expect{Filter: filter("a"), Sequence: a2.Sequence}); got.Sequence != 4 {
		t.Fatalf("append after restart = %+v", got)
	}
}

func TestEmbeddedListener(t *testing.T) {
	tests := []struct {
		name   string
		cfg    EmbeddedConfig
		listen bool
	}{
		{name: "in-process only", cfg: EmbeddedConfig{}},
		{name: "loopback, free port", cfg: EmbeddedConfig{ListenHost: "127.0.0.1"}, listen: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Dir = t.TempDir()
			e, err := StartEmbedded(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(e.Shutdown)
			url := e.ClientURL()
			if (url != "") != tc.listen {
				t.Fatalf("ClientURL = %q", url)
			}
			openStore(t, connect(t, e)) // in-process always works
			if !tc.listen {
				return
			}
			nc, err := nats.Connect(url)
			if err != nil {
				t.Fatalf("connect to %s: %v", url, err)
			}
			t.Cleanup(nc.Close)
			st := openStore(t, nc)
			mustAppend(t, st, event("a", "added", "c1"), Expect{Filter: filter("a")})
			t.Logf("listening on %s", url)
		})
	}
}

func TestStartEmbeddedNeedsDir(t *testing.T) {
	_, err := StartEmbedded(EmbeddedConfig{})
	checkError(t, err, ErrInvalid)
}
