package eventstore

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// startServer starts an embedded server on dir and stops it at cleanup.
func startServer(t testing.TB, dir string) *Embedded {
	t.Helper()
	e, err := StartEmbedded(EmbeddedConfig{Dir: dir})
	if err != nil {
		t.Fatalf("StartEmbedded: %v", err)
	}
	t.Cleanup(e.Shutdown)
	return e
}

// connect opens an in-process connection closed at cleanup.
func connect(t testing.TB, e *Embedded, opts ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := e.Connect(opts...)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// openStore opens the default stream on nc.
func openStore(t testing.TB, nc *nats.Conn) *Store {
	t.Helper()
	st, err := Open(testCtx(t), nc, Config{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return st
}

// newStore is a store on a fresh embedded server with storage in a temp dir.
func newStore(t testing.TB) *Store {
	t.Helper()
	return openStore(t, connect(t, startServer(t, t.TempDir())))
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// subject and filter of an action aggregate in plan "p".
func subject(agg, event string) string { return "sendtrail.p.action." + agg + "." + event }
func filter(agg string) string         { return "sendtrail.p.action." + agg + ".>" }

func event(agg, event, id string) Message {
	return Message{Subject: subject(agg, event), MsgID: id, Data: []byte(id)}
}

// checkError fails unless err matches want (nil: no error expected).
func checkError(t testing.TB, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("error = %v, want %v", err, want)
	}
}

func mustAppend(t testing.TB, st *Store, msg Message, exp Expect) Appended {
	t.Helper()
	a, err := st.Append(testCtx(t), msg, exp)
	if err != nil {
		t.Fatalf("Append %s: %v", msg.MsgID, err)
	}
	return a
}

func mustLastSequence(t testing.TB, st *Store) uint64 {
	t.Helper()
	seq, err := st.LastSequence(testCtx(t))
	if err != nil {
		t.Fatalf("LastSequence: %v", err)
	}
	return seq
}

func mustLoad(t testing.TB, st *Store, filter string, upTo uint64) []Stored {
	t.Helper()
	ms, err := st.Load(testCtx(t), filter, upTo)
	if err != nil {
		t.Fatalf("Load %s: %v", filter, err)
	}
	return ms
}

// ids lists the MsgIDs of ms.
func ids(ms []Stored) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.MsgID
	}
	return out
}

func seqs(ms []Stored) []uint64 {
	out := make([]uint64, len(ms))
	for i, m := range ms {
		out[i] = m.Sequence
	}
	return out
}

func idf(format string, a ...any) string { return fmt.Sprintf(format, a...) }
