package domain_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sendtrail/sendtrail/domain"
)

// withError checks err against a table row: wantCode "" means no error;
// otherwise domain.ErrorCode(err) must be wantCode and, when wantField is
// set, err must be a *domain.Error whose Field names the offending input.
func withError(t *testing.T, err error, wantCode, wantField string) {
	t.Helper()
	if wantCode == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("want error %s (field %q), got none", wantCode, wantField)
	}
	if got := domain.ErrorCode(err); got != wantCode {
		t.Fatalf("ErrorCode = %q, want %q (err: %v)", got, wantCode, err)
	}
	var de *domain.Error
	if !errors.As(err, &de) {
		t.Fatalf("error %v (%T) is not a *domain.Error", err, err)
	}
	if wantField != "" && de.Field != wantField {
		t.Fatalf("Field = %q, want %q (err: %v)", de.Field, wantField, err)
	}
	if strings.TrimSpace(de.Message) == "" {
		t.Fatalf("error %v has no message", err)
	}
}

// history folds events into a state, giving each envelope the next stream
// sequence, as the store would.
type history struct {
	t     *testing.T
	st    domain.State
	seq   uint64
	log   []domain.Envelope
	clock time.Time
}

func newHistory(t *testing.T, agg domain.AggregateType) *history {
	t.Helper()
	return &history{t: t, st: domain.NewState(agg), seq: 100, clock: time.Date(2024, 1, 1, 9, 0, 0, 0, time.UTC)}
}

// apply folds events through domain.Evolve.
func (h *history) apply(events ...domain.Event) {
	h.t.Helper()
	for _, e := range events {
		h.seq += 3 // stream sequences are global: an aggregate's are increasing, not contiguous
		h.clock = h.clock.Add(time.Hour)
		env := domain.Envelope{
			EventID:       "evt",
			Plan:          "bcp-2023-26",
			AggregateType: h.st.AggregateType(),
			AggregateID:   "agg",
			OccurredAt:    h.clock,
			RecordedAt:    h.clock.Add(time.Second),
			Actor:         domain.Actor{ID: "u1", DisplayName: "Officer", Role: domain.RoleEditor},
			CorrelationID: "cmd",
			SchemaVersion: domain.SchemaVersion,
			Sequence:      h.seq,
			Event:         e,
		}
		h.log = append(h.log, env)
		h.st = domain.Evolve(h.st, env)
		if h.st.Version() != h.seq {
			h.t.Fatalf("after %s Version() = %d, want the envelope's Sequence %d", e.Type(), h.st.Version(), h.seq)
		}
	}
}

// do decides cmd on the current state and folds the events; it fails the
// test on an error.
func (h *history) do(cmd domain.Command) []domain.Event {
	h.t.Helper()
	events, err := domain.Decide(h.st, cmd)
	if err != nil {
		h.t.Fatalf("Decide(%T): %v", cmd, err)
	}
	h.apply(events...)
	return events
}

func (h *history) action() domain.ActionState {
	h.t.Helper()
	return h.st.(domain.ActionState)
}

func (h *history) kpi() domain.KpiState {
	h.t.Helper()
	return h.st.(domain.KpiState)
}

func (h *history) plan() domain.PlanState {
	h.t.Helper()
	return h.st.(domain.PlanState)
}

func (h *history) token() domain.TokenState {
	h.t.Helper()
	return h.st.(domain.TokenState)
}

func mustDate(t *testing.T, s string) domain.Date {
	t.Helper()
	d, err := domain.ParseDate(s)
	if err != nil || d.IsZero() {
		t.Fatalf("ParseDate(%q) = %v, %v", s, d, err)
	}
	return d
}

func mustRAG(t *testing.T, s string) domain.RAG {
	t.Helper()
	r, err := domain.ParseRAG(s)
	if err != nil {
		t.Fatalf("ParseRAG(%q): %v", s, err)
	}
	return r
}

func mustCategory(t *testing.T, s string) domain.ReasonCategory {
	t.Helper()
	c, err := domain.ParseReasonCategory(s)
	if err != nil {
		t.Fatalf("ParseReasonCategory(%q): %v", s, err)
	}
	return c
}

func checkEvents(t *testing.T, got, want []domain.Event) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("events:\n got %#v\nwant %#v", got, want)
	}
}
