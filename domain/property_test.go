package domain_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/sendtrail/sendtrail/domain"
)

// gen draws commands for one action. Values come from small pools so that
// repeats (no-op commands) are frequent.
type gen struct{ r *rand.Rand }

func (g gen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }

func (g gen) pad(s string) string {
	switch g.r.IntN(4) {
	case 0:
		return " " + s
	case 1:
		return s + " \t"
	}
	return s
}

func (g gen) leads() []domain.Lead {
	pool := []domain.Lead{jane, omar, {Name: "Priya Patel", Organisation: "Dorset Parent Carer Forum"}}
	var out []domain.Lead
	for _, l := range pool {
		if g.r.IntN(2) == 0 {
			l.Name = g.pad(l.Name)
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		out = append(out, pool[g.r.IntN(len(pool))])
	}
	return out
}

// valid returns a command that passes validation on an existing action.
func (g gen) valid(add domain.AddAction) domain.Command {
	switch g.r.IntN(11) {
	case 0, 1:
		code := domain.RAGCodes()[g.r.IntN(len(domain.RAGCodes()))].String()
		if g.r.IntN(2) == 0 {
			code = strings.ToLower(code)
		}
		return domain.ChangeRag{Rag: g.pad(code), Commentary: g.pick("", "slipping", "  back on track ")}
	case 2, 3:
		cats := domain.ReasonCategories()
		return domain.MoveDeadline{
			Deadline: g.pick("2024-02-29", "2024-03-31", "2024-04-30", "2024-12-31", "2025-01-01", "2026-03-31"),
			Category: g.pad(cats[g.r.IntN(len(cats))].String()),
			Reason:   g.pad(g.pick("staff leave", "waiting on 2.1", "agreed with the DfE adviser")),
		}
	case 4:
		return domain.ReassignLeads{Leads: g.leads(), Reason: g.pick("restructure", " joint lead ")}
	case 5:
		return domain.RecordProgress{Text: g.pick("Framework drafted", "Framework agreed", "Audit under way")}
	case 6:
		return domain.RecordImpact{Text: g.pick("Too early to say", "Audit scores up")}
	case 7:
		if g.r.IntN(2) == 0 {
			return domain.ReviseAction{Origin: add.Origin, Text: add.Text, SuccessMeasures: add.SuccessMeasures}
		}
		return domain.ReviseAction{Origin: "PAP", Text: "Rewrite the framework", SuccessMeasures: "95%"}
	case 8:
		return domain.ResolveFlag{Field: g.pick("deadline", "rag", "leads", "origin"), Note: "checked"}
	case 9:
		if g.r.IntN(3) == 0 {
			return add // the importer running again
		}
		return domain.WithdrawAction{Reason: g.pad("merged into 3.5")}
	}
	return domain.ReinstateAction{Reason: g.pad("board asked")}
}

// invalid returns a command that breaks a rule.
func (g gen) invalid() domain.Command {
	switch g.r.IntN(7) {
	case 0:
		return domain.ChangeRag{Rag: g.pick("X", "Red", "GREEN", "↑", "")}
	case 1:
		return domain.MoveDeadline{Deadline: g.pick("2024-04-31", "2023-02-29", "31/04/24", "2024-4-1", ""), Category: "capacity", Reason: "r"}
	case 2:
		return domain.MoveDeadline{Deadline: "2024-06-30", Category: g.pick("", "weather"), Reason: "r"}
	case 3:
		return domain.MoveDeadline{Deadline: "2024-06-30", Category: "capacity", Reason: g.pick("", "  ", "\n")}
	case 4:
		return domain.ReassignLeads{Leads: []domain.Lead{{Name: g.pick("", " ")}}, Reason: "r"}
	case 5:
		return domain.RecordProgress{Text: strings.Repeat("x", domain.MaxText+1)}
	}
	return domain.WithdrawAction{Reason: strings.Repeat("x", domain.MaxReason+1)}
}

// holds checks that the state reflects a command that was accepted,
// whether it produced events or was a no-op.
func holds(t *testing.T, cmd domain.Command, a domain.ActionState) {
	t.Helper()
	ok := true
	switch c := cmd.(type) {
	case domain.ChangeRag:
		ok = a.Rag() == mustRAG(t, c.Rag)
	case domain.MoveDeadline:
		ok = a.Deadline() == mustDate(t, strings.TrimSpace(c.Deadline))
	case domain.ReassignLeads:
		var want []domain.Lead
		for _, l := range c.Leads {
			nl, _ := domain.NewLead(l.Name, l.Role, l.Organisation)
			want = append(want, nl)
		}
		ok = reflect.DeepEqual(a.Leads(), want)
	case domain.RecordProgress:
		ok = a.Progress() == c.Text
	case domain.RecordImpact:
		ok = a.Impact() == c.Text
	case domain.ReviseAction:
		ok = a.Origin() == c.Origin && a.Text() == c.Text && a.SuccessMeasures() == c.SuccessMeasures
	case domain.WithdrawAction:
		ok = a.Withdrawn()
	case domain.ReinstateAction:
		ok = !a.Withdrawn()
	case domain.ResolveFlag:
		for _, f := range a.Flags() {
			ok = ok && f.Field != c.Field
		}
	}
	if !ok {
		t.Fatalf("accepted %#v but the state does not reflect it: %#v", cmd, a)
	}
}

func TestActionRandomCommands(t *testing.T) {
	const runs, steps = 400, 80
	r := rand.New(rand.NewPCG(2024, 229))
	flagged := domain.AddAction{
		Ref: "1.2", Priority: "1", Text: "Publish the Local Offer", DeadlineRaw: "31/04/24", RagRaw: "Being scoped", LeadsRaw: "TBC",
		Flags: []domain.Flag{{Field: "deadline", Raw: "31/04/24"}, {Field: "rag", Raw: "Being scoped"}, {Field: "leads", Raw: "TBC"}},
	}
	var accepted, noops, refused int
	defer func() { t.Logf("%d commands: %d changed, %d no-op, %d refused", runs*steps, accepted, noops, refused) }()
	for run := range runs {
		g := gen{r}
		add := addAction()
		if run%3 == 0 {
			add = flagged
		}
		h := newHistory(t, domain.AggAction)
		h.do(add)
		original := h.action().OriginalDeadline()
		var trace []string

		for step := range steps {
			var cmd domain.Command
			if r.IntN(10) == 0 {
				cmd = g.invalid()
			} else {
				cmd = g.valid(add)
			}
			line := fmt.Sprintf("%#v", cmd)
			if len(line) > 160 {
				line = line[:160] + "…"
			}
			trace = append(trace, line)
			fail := func(format string, args ...any) {
				t.Helper()
				t.Fatalf("run %d step %d: %s\ncommands:\n  %s", run, step, fmt.Sprintf(format, args...), strings.Join(trace, "\n  "))
			}

			prev := h.action()
			snapshot := fmt.Sprintf("%#v", prev)
			var events []domain.Event
			var err error
			func() {
				defer func() {
					if p := recover(); p != nil {
						fail("panic: %v", p)
					}
				}()
				events, err = domain.Decide(prev, cmd)
				h.apply(events...) // checks Version() == Sequence after each event
			}()
			if fmt.Sprintf("%#v", prev) != snapshot {
				fail("Decide or Evolve changed the state it was given")
			}

			if err != nil {
				code := domain.ErrorCode(err)
				switch {
				case prev.Withdrawn() && code == domain.EPRECONDITION:
				case code == domain.EINVALID:
				default:
					fail("unexpected error %v (withdrawn %v)", err, prev.Withdrawn())
				}
				if len(events) != 0 {
					fail("refused command returned events %v", events)
				}
				refused++
				continue
			}
			if len(events) == 0 {
				noops++
				if !reflect.DeepEqual(prev, h.action()) {
					fail("a command with no events changed the state")
				}
			} else if h.action().Version() <= prev.Version() {
				fail("Version() went from %d to %d", prev.Version(), h.action().Version())
			} else {
				accepted++
			}
			a := h.action()
			holds(t, cmd, a)

			// Accepted once, the same command changes nothing.
			again, err := domain.Decide(a, cmd)
			if err != nil || len(again) != 0 {
				fail("repeating the command gave %v, %v; want nothing", again, err)
			}

			// Invariants.
			if a.Ref() != add.Ref || !a.Exists() || !reflect.DeepEqual(a.Added().Flags, add.Flags) {
				fail("identity changed: %#v", a)
			}
			if !original.IsZero() && a.OriginalDeadline() != original {
				fail("original deadline moved from %v to %v", original, a.OriginalDeadline())
			}
			if original.IsZero() && !a.OriginalDeadline().IsZero() {
				original = a.OriginalDeadline()
			}
			moves := 0
			for _, env := range h.log {
				if e, ok := env.Event.(domain.DeadlineMoved); ok && !e.From.IsZero() {
					moves++
				}
			}
			if a.DeadlineMoves() != moves {
				fail("DeadlineMoves() = %d, want %d", a.DeadlineMoves(), moves)
			}
		}

		// Folding the whole log again gives the same state.
		var replay domain.State = domain.NewState(domain.AggAction)
		for _, env := range h.log {
			replay = domain.Evolve(replay, env)
		}
		if !reflect.DeepEqual(replay, h.st) {
			t.Fatalf("run %d: replaying %d events gives another state", run, len(h.log))
		}
	}
}
