package eventstore

import (
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

func TestAppendThenLoad(t *testing.T) {
	st := newStore(t)
	hdr := nats.Header{"Sendtrail-Type": []string{"ActionAdded"}}
	a1 := mustAppend(t, st, Message{Subject: subject("a", "added"), MsgID: "c1", Data: []byte("one"), Header: hdr}, Expect{Filter: filter("a")})
	b1 := mustAppend(t, st, event("b", "added", "c2"), Expect{Filter: filter("b")})
	a2 := mustAppend(t, st, event("a", "rag_changed", "c3"), Expect{Filter: filter("a"), Sequence: a1.Sequence})
	mustAppend(t, st, event("b", "rag_changed", "c4"), Expect{Filter: filter("b"), Sequence: b1.Sequence})
	mustAppend(t, st, event("a", "deadline_moved", "c5"), Expect{Filter: filter("a"), Sequence: a2.Sequence})
	if len(hdr) != 1 {
		t.Fatalf("Append changed the caller's header: %v", hdr)
	}

	tests := []struct {
		name   string
		filter string
		upTo   uint64
		ids    []string
	}{
		{"aggregate a", filter("a"), 0, []string{"c1", "c3", "c5"}},
		{"aggregate b", filter("b"), 0, []string{"c2", "c4"}},
		{"one event type", "sendtrail.*.action.*.rag_changed", 0, []string{"c3", "c4"}},
		{"whole plan", "sendtrail.p.>", 0, []string{"c1", "c2", "c3", "c4", "c5"}},
		{"everything", "", 0, []string{"c1", "c2", "c3", "c4", "c5"}},
		{"as of sequence 3", filter("a"), 3, []string{"c1", "c3"}},
		{"as of sequence 1", "", 1, []string{"c1"}},
		{"unknown aggregate", filter("zz"), 0, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := mustLoad(t, st, tc.filter, tc.upTo)
			if !slices.Equal(ids(got), tc.ids) {
				t.Fatalf("Load(%q, %d) = %v, want %v", tc.filter, tc.upTo, ids(got), tc.ids)
			}
			if !slices.IsSorted(seqs(got)) {
				t.Fatalf("not in stream order: %v", seqs(got))
			}
		})
	}

	got := mustLoad(t, st, filter("a"), 0)[0]
	if got.Sequence != 1 || got.Subject != subject("a", "added") || string(got.Data) != "one" ||
		got.Header.Get("Sendtrail-Type") != "ActionAdded" || got.Header.Get("Nats-Msg-Id") != "c1" ||
		got.Header.Get("Nats-Sequence") != "" || time.Since(got.Time) > time.Minute {
		t.Fatalf("stored message = %+v", got)
	}
	t.Logf("stored headers: %v", got.Header)
}

func TestAppend(t *testing.T) {
	st := newStore(t)
	// Aggregate "h" has events at sequences 1 and 2.
	h1 := mustAppend(t, st, event("h", "added", "h1"), Expect{Filter: filter("h")})
	h2 := mustAppend(t, st, event("h", "revised", "h2"), Expect{Filter: filter("h"), Sequence: h1.Sequence})

	tests := []struct {
		name      string
		msg       Message
		exp       Expect
		withError error
		current   uint64 // with ErrConflict
	}{
		{name: "first event of a new aggregate", msg: event("n", "added", "n1"), exp: Expect{Filter: filter("n")}},
		{name: "next event", msg: event("h", "revised", "h3"), exp: Expect{Filter: filter("h"), Sequence: h2.Sequence}},
		{name: "no expectation", msg: event("u", "added", "u1")},
		{name: "no message id", msg: Message{Subject: subject("m", "added")}, exp: Expect{Filter: filter("m")}},
		{name: "stale expectation", msg: event("h", "revised", "hx"), exp: Expect{Filter: filter("h"), Sequence: h1.Sequence}, withError: ErrConflict, current: 4},
		{name: "new aggregate already exists", msg: event("h", "added", "hy"), exp: Expect{Filter: filter("h")}, withError: ErrConflict, current: 4},
		{name: "expectation ahead", msg: event("n", "revised", "nz"), exp: Expect{Filter: filter("n"), Sequence: 999}, withError: ErrConflict, current: 3},
		{name: "subject outside filter", msg: event("x", "added", "x1"), exp: Expect{Filter: filter("h"), Sequence: 4}, withError: ErrInvalid},
		{name: "subject outside stream", msg: Message{Subject: "elsewhere.x", MsgID: "e1"}, withError: ErrInvalid},
		{name: "wildcard subject", msg: Message{Subject: "sendtrail.p.>", MsgID: "w1"}, withError: ErrInvalid},
		{name: "malformed filter", msg: event("h", "revised", "f1"), exp: Expect{Filter: "sendtrail..>"}, withError: ErrInvalid},
		{name: "sequence without filter", msg: event("h", "revised", "s1"), exp: Expect{Sequence: 4}, withError: ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := mustLastSequence(t, st)
			a, err := st.Append(testCtx(t), tc.msg, tc.exp)
			checkError(t, err, tc.withError)
			after := mustLastSequence(t, st)
			if err != nil {
				if after != before {
					t.Fatalf("refused append wrote: last sequence %d -> %d", before, after)
				}
				var ce *ConflictError
				if errors.As(err, &ce) && (ce.Current != tc.current || ce.Expected != tc.exp.Sequence || ce.Filter != tc.exp.Filter) {
					t.Fatalf("conflict = %+v, want current %d", ce, tc.current)
				}
				if errors.Is(tc.withError, ErrConflict) && ce == nil {
					t.Fatalf("%v is not a *ConflictError", err)
				}
				return
			}
			if a.Duplicate || a.Sequence != before+1 || after != a.Sequence {
				t.Fatalf("Append = %+v, last sequence %d -> %d", a, before, after)
			}
		})
	}
}

func TestAppendConcurrentWriters(t *testing.T) {
	st := newStore(t)
	const writers, rounds = 8, 20
	var expect uint64
	for round := range rounds {
		var wg sync.WaitGroup
		results := make([]Appended, writers)
		errs := make([]error, writers)
		for w := range writers {
			wg.Go(func() {
				results[w], errs[w] = st.Append(testCtx(t), event("hot", "rag_changed", idf("r%d-w%d", round, w)),
					Expect{Filter: filter("hot"), Sequence: expect})
			})
		}
		wg.Wait()
		winners := 0
		var won uint64
		for w := range writers {
			if errs[w] == nil {
				winners++
				won = results[w].Sequence
			}
		}
		if winners != 1 {
			t.Fatalf("round %d: %d winners, want exactly 1 (errors %v)", round, winners, errs)
		}
		for w := range writers {
			var ce *ConflictError
			if errs[w] != nil && (!errors.As(errs[w], &ce) || ce.Current != won) {
				t.Fatalf("round %d: loser error %v, want a conflict at %d", round, errs[w], won)
			}
		}
		expect = won
	}
	if got := mustLoad(t, st, filter("hot"), 0); len(got) != rounds {
		t.Fatalf("%d events, want %d", len(got), rounds)
	}
}

func TestAppendIdempotent(t *testing.T) {
	tests := []struct {
		name string
		// after the first append of c1 (sequence 2, after one event at 1 on
		// the same aggregate), other runs before the retry.
		other     func(t *testing.T, st *Store)
		retry     Message
		exp       Expect
		withError error
		sequence  uint64
	}{
		{
			name:     "lost ack: same id, same expectation",
			retry:    event("a", "rag_changed", "c1"),
			exp:      Expect{Filter: filter("a"), Sequence: 1},
			sequence: 2,
		},
		{
			name:     "same id, fresh expectation",
			retry:    event("a", "rag_changed", "c1"),
			exp:      Expect{Filter: filter("a"), Sequence: 2},
			sequence: 2,
		},
		{
			name:     "same id, no expectation",
			retry:    event("a", "rag_changed", "c1"),
			sequence: 2,
		},
		{
			name: "lost ack, then another writer on the aggregate",
			other: func(t *testing.T, st *Store) {
				mustAppend(t, st, event("a", "progress_recorded", "c2"), Expect{Filter: filter("a"), Sequence: 2})
			},
			retry:    event("a", "rag_changed", "c1"),
			exp:      Expect{Filter: filter("a"), Sequence: 1},
			sequence: 2,
		},
		{
			name: "lost ack, then writers on other aggregates",
			other: func(t *testing.T, st *Store) {
				mustAppend(t, st, event("b", "added", "b1"), Expect{Filter: filter("b")})
			},
			retry:    event("a", "rag_changed", "c1"),
			exp:      Expect{Filter: filter("a"), Sequence: 1},
			sequence: 2,
		},
		{
			name: "new id with a stale expectation is a conflict",
			other: func(t *testing.T, st *Store) {
				mustAppend(t, st, event("a", "progress_recorded", "c2"), Expect{Filter: filter("a"), Sequence: 2})
			},
			retry:     event("a", "rag_changed", "c9"),
			exp:       Expect{Filter: filter("a"), Sequence: 1},
			withError: ErrConflict,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := newStore(t)
			mustAppend(t, st, event("a", "added", "c0"), Expect{Filter: filter("a")})
			first := mustAppend(t, st, event("a", "rag_changed", "c1"), Expect{Filter: filter("a"), Sequence: 1})
			if first.Sequence != 2 || first.Duplicate {
				t.Fatalf("first append = %+v", first)
			}
			if tc.other != nil {
				tc.other(t, st)
			}
			before := mustLastSequence(t, st)
			got, err := st.Append(testCtx(t), tc.retry, tc.exp)
			checkError(t, err, tc.withError)
			if after := mustLastSequence(t, st); after != before {
				t.Fatalf("retry wrote: last sequence %d -> %d", before, after)
			}
			if err == nil && (!got.Duplicate || got.Sequence != tc.sequence) {
				t.Fatalf("retry = %+v, want duplicate of %d", got, tc.sequence)
			}
		})
	}
}

// batch makes n messages over aggs aggregates, perAgg each, interleaved in a
// shuffled order; the payload of a message is "<agg>/<k>".
func batch(aggs, perAgg int, idPrefix string) ([]Message, []Expect) {
	type slot struct{ agg, k int }
	var order []slot
	for k := range perAgg {
		for a := range aggs {
			order = append(order, slot{a, k})
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	// Shuffle, then restore each aggregate's own order.
	r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	next := make([]int, aggs)
	msgs := make([]Message, len(order))
	exps := make([]Expect, len(order))
	for i, s := range order {
		k := next[s.agg]
		next[s.agg]++
		agg := idf("agg%03d", s.agg)
		id := idf("%s%s-%d", idPrefix, agg, k)
		msgs[i] = Message{Subject: subject(agg, "kpi_value_recorded"), MsgID: id, Data: []byte(idf("%s/%d", agg, k))}
		exps[i] = Expect{Filter: filter(agg)}
	}
	return msgs, exps
}

// appendAllModes are the ways AppendAll can publish.
var appendAllModes = []struct {
	name      string
	atomic    bool
	batchSize int
}{
	{"atomic batches of 1000", true, 1000},
	{"atomic batches of 64", true, 64}, // aggregates span batches
	{"pipelined", false, 0},
}

func storeFor(t *testing.T, atomic bool, batchSize int) *Store {
	st := newStore(t)
	if !st.atomic {
		t.Fatal("the stream does not take atomic batches")
	}
	st.atomic, st.batchSize = atomic, batchSize
	return st
}

func TestAppendAll(t *testing.T) {
	for _, mode := range appendAllModes {
		t.Run(mode.name, func(t *testing.T) {
			st := storeFor(t, mode.atomic, mode.batchSize)
			const aggs, perAgg = 100, 10
			msgs, exps := batch(aggs, perAgg, "")

			start := time.Now()
			got, err := st.AppendAll(testCtx(t), msgs, exps)
			if err != nil {
				t.Fatalf("AppendAll: %v", err)
			}
			t.Logf("AppendAll of %d messages: %v", len(msgs), time.Since(start))
			if len(got) != len(msgs) {
				t.Fatalf("%d results for %d messages", len(got), len(msgs))
			}
			if seq := mustLastSequence(t, st); seq != uint64(len(msgs)) {
				t.Fatalf("LastSequence = %d, want %d", seq, len(msgs))
			}
			stored := make(map[string]uint64)
			for _, m := range mustLoad(t, st, "", 0) {
				stored[m.MsgID] = m.Sequence
			}
			for i, a := range got {
				if a.Duplicate || a.Sequence != stored[msgs[i].MsgID] {
					t.Fatalf("result %d = %+v, stored at %d", i, a, stored[msgs[i].MsgID])
				}
			}
			for a := range aggs {
				agg := idf("agg%03d", a)
				loaded := mustLoad(t, st, filter(agg), 0)
				if len(loaded) != perAgg {
					t.Fatalf("%s: %d events, want %d", agg, len(loaded), perAgg)
				}
				for k, m := range loaded {
					if want := idf("%s/%d", agg, k); string(m.Data) != want {
						t.Fatalf("%s event %d = %q, want %q", agg, k, m.Data, want)
					}
				}
			}

			// Retrying the whole batch (e.g. after a lost ack) writes nothing.
			again, err := st.AppendAll(testCtx(t), msgs, exps)
			if err != nil {
				t.Fatalf("AppendAll retry: %v", err)
			}
			for i := range again {
				if !again[i].Duplicate || again[i].Sequence != got[i].Sequence {
					t.Fatalf("retry result %d = %+v, want duplicate of %d", i, again[i], got[i].Sequence)
				}
			}
			if seq := mustLastSequence(t, st); seq != uint64(len(msgs)) {
				t.Fatalf("retry wrote: LastSequence = %d", seq)
			}

			// A follow-up batch chains on the sequences read back.
			next, nextExps := make([]Message, aggs), make([]Expect, aggs)
			for a := range aggs {
				agg := idf("agg%03d", a)
				next[a] = Message{Subject: subject(agg, "rag_changed"), MsgID: "next-" + agg, Data: []byte(agg + "/next")}
				nextExps[a] = Expect{Filter: filter(agg), Sequence: mustLoad(t, st, filter(agg), 0)[perAgg-1].Sequence}
			}
			if _, err := st.AppendAll(testCtx(t), next, nextExps); err != nil {
				t.Fatalf("follow-up batch: %v", err)
			}
			if seq := mustLastSequence(t, st); seq != uint64(len(msgs)+aggs) {
				t.Fatalf("LastSequence = %d after the follow-up", seq)
			}
		})
	}
}

func TestAppendAllFailure(t *testing.T) {
	for _, mode := range appendAllModes {
		t.Run(mode.name, func(t *testing.T) {
			st := storeFor(t, mode.atomic, mode.batchSize/2)
			mustAppend(t, st, event("busy", "added", "busy0"), Expect{Filter: filter("busy")}) // sequence 1

			msgs, exps := batch(20, 5, "")
			// A stale expectation on "busy" part way through the batch.
			bad := len(msgs) / 2
			msgs = slices.Insert(msgs, bad, event("busy", "revised", "busy1"))
			exps = slices.Insert(exps, bad, Expect{Filter: filter("busy"), Sequence: 0})

			got, err := st.AppendAll(testCtx(t), msgs, exps)
			var be *BatchError
			if !errors.As(err, &be) || be.Index != bad || !errors.Is(err, ErrConflict) {
				t.Fatalf("AppendAll error = %v, want a conflict at index %d", err, bad)
			}
			var ce *ConflictError
			if !errors.As(err, &ce) || ce.Current != 1 {
				t.Fatalf("conflict = %+v, want current 1", ce)
			}
			stored := 0
			for _, a := range got {
				if a.Sequence != 0 {
					stored++
				}
			}
			if seq := mustLastSequence(t, st); seq != uint64(1+stored) {
				t.Fatalf("LastSequence = %d, results report %d stored", seq, stored)
			}
			t.Logf("stored before the failure was seen: %d of %d", stored, len(msgs))

			// The retry with the right expectation completes the rest.
			exps[bad].Sequence = 1
			again, err := st.AppendAll(testCtx(t), msgs, exps)
			if err != nil {
				t.Fatalf("retry: %v", err)
			}
			dups := 0
			for i, a := range again {
				if a.Duplicate {
					dups++
					if a.Sequence != got[i].Sequence {
						t.Fatalf("message %d: duplicate of %d, first stored at %d", i, a.Sequence, got[i].Sequence)
					}
				}
			}
			if dups != stored {
				t.Fatalf("%d duplicates, want %d", dups, stored)
			}
			if seq := mustLastSequence(t, st); seq != uint64(1+len(msgs)) {
				t.Fatalf("LastSequence = %d, want %d", seq, 1+len(msgs))
			}
			for a := range 20 {
				agg := idf("agg%03d", a)
				for k, m := range mustLoad(t, st, filter(agg), 0) {
					if want := idf("%s/%d", agg, k); string(m.Data) != want {
						t.Fatalf("%s event %d = %q, want %q", agg, k, m.Data, want)
					}
				}
			}
		})
	}
}

func TestAppendAllInvalid(t *testing.T) {
	st := newStore(t)
	msgs, exps := batch(2, 3, "")
	tests := []struct {
		name      string
		msgs      []Message
		exps      []Expect
		withError error
		index     int
	}{
		{name: "lengths differ", msgs: msgs, exps: exps[:2], withError: ErrInvalid, index: -1},
		{name: "subject outside filter", msgs: msgs, exps: func() []Expect {
			e := slices.Clone(exps)
			e[3].Filter = filter("other")
			return e
		}(), withError: ErrInvalid, index: 3},
		{name: "empty batch", msgs: nil, exps: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := st.AppendAll(testCtx(t), tc.msgs, tc.exps)
			checkError(t, err, tc.withError)
			var be *BatchError
			if tc.index >= 0 && err != nil && (!errors.As(err, &be) || be.Index != tc.index) {
				t.Fatalf("error %v, want index %d", err, tc.index)
			}
			if seq := mustLastSequence(t, st); seq != 0 {
				t.Fatalf("invalid batch wrote %d messages", seq)
			}
		})
	}
}
