package eventstore

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestLoadEmptyFilterReturnsAtOnce(t *testing.T) {
	st := newStore(t)
	for _, f := range []string{filter("none"), "", "sendtrail.>"} { // empty stream
		start := time.Now()
		got := mustLoad(t, st, f, 0)
		if len(got) != 0 || time.Since(start) > time.Second {
			t.Fatalf("Load(%q) on an empty stream: %d messages in %v", f, len(got), time.Since(start))
		}
	}
	mustAppend(t, st, event("a", "added", "c1"), Expect{Filter: filter("a")})
	start := time.Now()
	got := mustLoad(t, st, filter("none"), 0)
	if elapsed := time.Since(start); len(got) != 0 || elapsed > time.Second {
		t.Fatalf("Load of an unknown aggregate: %d messages in %v", len(got), elapsed)
	}
	t.Logf("Load of an unknown aggregate: %v", time.Since(start))
}

func TestLoadPages(t *testing.T) {
	st := newStore(t)
	st.pageSize = 7 // several direct-get batches per Load
	msgs, exps := batch(3, 20, "")
	if _, err := st.AppendAll(testCtx(t), msgs, exps); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		filter string
		upTo   uint64
		want   int
	}{
		{"one aggregate", filter("agg001"), 0, 20},
		{"all", "", 0, 60},
		{"up to 30", "", 30, 30},
		{"up to 7", "", 7, 7},
		{"up to beyond the end", "", 1000, 60},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := mustLoad(t, st, tc.filter, tc.upTo)
			if len(got) != tc.want {
				t.Fatalf("Load = %d messages, want %d", len(got), tc.want)
			}
			s := seqs(got)
			for i := 1; i < len(s); i++ {
				if s[i] <= s[i-1] {
					t.Fatalf("sequences not increasing: %v", s)
				}
			}
			if tc.upTo > 0 && s[len(s)-1] > tc.upTo {
				t.Fatalf("sequence %d beyond %d", s[len(s)-1], tc.upTo)
			}
		})
	}
}

func TestLast(t *testing.T) {
	st := newStore(t)
	mustAppend(t, st, event("a", "added", "c1"), Expect{Filter: filter("a")})
	mustAppend(t, st, event("b", "added", "c2"), Expect{Filter: filter("b")})
	mustAppend(t, st, event("a", "rag_changed", "c3"), Expect{Filter: filter("a"), Sequence: 1})
	mustAppend(t, st, event("b", "deadline_moved", "c4"), Expect{Filter: filter("b"), Sequence: 2})

	tests := []struct {
		name      string
		filter    string
		msgID     string
		sequence  uint64
		withError error
	}{
		{name: "wildcard > filter", filter: filter("a"), msgID: "c3", sequence: 3},
		{name: "wildcard * filter", filter: "sendtrail.p.action.*.added", msgID: "c2", sequence: 2},
		{name: "literal subject", filter: subject("a", "added"), msgID: "c1", sequence: 1},
		{name: "whole stream", filter: "sendtrail.>", msgID: "c4", sequence: 4},
		{name: "nothing matches", filter: filter("zz"), withError: ErrNotFound},
		{name: "malformed filter", filter: "sendtrail.>.x", withError: ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := st.Last(testCtx(t), tc.filter)
			checkError(t, err, tc.withError)
			if err == nil && (got.MsgID != tc.msgID || got.Sequence != tc.sequence || string(got.Data) != tc.msgID ||
				got.Header.Get("Nats-Sequence") != "" || got.Time.IsZero()) {
				t.Fatalf("Last(%q) = %+v, want %s at %d", tc.filter, got, tc.msgID, tc.sequence)
			}
		})
	}
}

func TestReadFollows(t *testing.T) {
	st := newStore(t)
	for i := range 5 {
		mustAppend(t, st, event("a", "progress_recorded", idf("before%d", i)), Expect{})
	}
	mustAppend(t, st, event("b", "added", "other"), Expect{}) // outside the filter

	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	got := make(chan Stored, 100)
	done := make(chan error, 1)
	go func() {
		done <- st.Read(ctx, 2, filter("a"), func(batch []Stored) error {
			for _, m := range batch {
				got <- m
			}
			return nil
		})
	}()
	next := func() Stored {
		t.Helper()
		select {
		case m := <-got:
			return m
		case err := <-done:
			t.Fatalf("Read ended: %v", err)
		case <-time.After(5 * time.Second):
			t.Fatal("nothing delivered in 5s")
		}
		return Stored{}
	}
	for i := 1; i < 5; i++ { // from sequence 2
		if m := next(); m.MsgID != idf("before%d", i) || m.Sequence != uint64(i+1) {
			t.Fatalf("delivered %s at %d, want before%d", m.MsgID, m.Sequence, i)
		}
	}
	var worst time.Duration
	for i := range 20 {
		mustAppend(t, st, event("b", "added", idf("b%d", i)), Expect{}) // not delivered
		a := mustAppend(t, st, event("a", "progress_recorded", idf("after%d", i)), Expect{})
		appended := time.Now()
		m := next()
		worst = max(worst, time.Since(appended))
		if m.MsgID != idf("after%d", i) || m.Sequence != a.Sequence {
			t.Fatalf("delivered %s at %d, want after%d at %d", m.MsgID, m.Sequence, i, a.Sequence)
		}
	}
	t.Logf("worst delay from ack to delivery: %v", worst)
	if worst > 500*time.Millisecond {
		t.Errorf("new messages delivered after %v", worst)
	}

	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Read returned %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read did not stop on cancel")
	}
}

func TestReadBatches(t *testing.T) {
	st := newStore(t)
	msgs, exps := batch(50, 50, "") // 2500 messages
	if _, err := st.AppendAll(testCtx(t), msgs, exps); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	var sizes []int
	var last uint64
	err := st.Read(ctx, 0, "", func(batch []Stored) error {
		sizes = append(sizes, len(batch))
		for _, m := range batch {
			if m.Sequence != last+1 {
				t.Errorf("sequence %d after %d", m.Sequence, last)
			}
			last = m.Sequence
		}
		if last == uint64(len(msgs)) {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Read: %v", err)
	}
	t.Logf("batch sizes: %v", sizes)
	if slices.Max(sizes) > 1000 || slices.Max(sizes) < 2 || len(sizes) > len(msgs)/2 {
		t.Fatalf("batch sizes %v", sizes)
	}
}

func TestReadStopsOnFnError(t *testing.T) {
	st := newStore(t)
	mustAppend(t, st, event("a", "added", "c1"), Expect{})
	stop := errors.New("projector failed")
	err := st.Read(testCtx(t), 0, "", func([]Stored) error { return stop })
	if !errors.Is(err, stop) {
		t.Fatalf("Read returned %v, want fn's error", err)
	}
	err = st.Read(testCtx(t), 0, "sendtrail..bad", func([]Stored) error { return nil })
	checkError(t, err, ErrInvalid)
}
