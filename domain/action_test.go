package domain_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/sendtrail/sendtrail/domain"
)

var (
	jane = domain.Lead{Name: "Jane Smith", Role: "Head of SEND", Organisation: "BCP Council"}
	omar = domain.Lead{Name: "Omar Khan", Role: "Designated Clinical Officer", Organisation: "NHS Dorset"}
)

func addAction() domain.AddAction {
	return domain.AddAction{
		Ref:             "3.4",
		Priority:        "3",
		Origin:          "WSoA",
		Text:            "Review the EHCP quality assurance framework",
		Leads:           []domain.Lead{jane},
		Deadline:        "2024-03-31",
		Rag:             "A",
		SuccessMeasures: "90% of audited plans good or better",
		Progress:        "Framework drafted",
		Impact:          "Too early to say",
	}
}

// anAction returns a history holding the action of addAction().
func anAction(t *testing.T) *history {
	t.Helper()
	h := newHistory(t, domain.AggAction)
	h.do(addAction())
	return h
}

// aWithdrawnAction returns a history holding a withdrawn action.
func aWithdrawnAction(t *testing.T) *history {
	t.Helper()
	h := anAction(t)
	h.do(domain.WithdrawAction{Reason: "merged into 3.5"})
	return h
}

func TestAddAction(t *testing.T) {
	with := func(f func(*domain.AddAction)) domain.AddAction {
		c := addAction()
		f(&c)
		return c
	}
	tests := []struct {
		name      string
		cmd       domain.AddAction
		wantCode  string
		wantField string
	}{
		{"valid", addAction(), "", ""},
		{"no deadline", with(func(c *domain.AddAction) { c.Deadline = "" }), "", ""},
		{"not rated", with(func(c *domain.AddAction) { c.Rag = "" }), "", ""},
		{"lower-case rag", with(func(c *domain.AddAction) { c.Rag = " ns " }), "", ""},
		{"no leads", with(func(c *domain.AddAction) { c.Leads = nil }), "", ""},
		{"text at MaxText runes", with(func(c *domain.AddAction) { c.Text = strings.Repeat("é", domain.MaxText) }), "", ""},
		{"empty ref", with(func(c *domain.AddAction) { c.Ref = "" }), domain.EINVALID, "ref"},
		{"ref with space", with(func(c *domain.AddAction) { c.Ref = "3 4" }), domain.EINVALID, "ref"},
		{"ref with wildcard", with(func(c *domain.AddAction) { c.Ref = "3.*" }), domain.EINVALID, "ref"},
		{"no priority", with(func(c *domain.AddAction) { c.Priority = "" }), domain.EINVALID, "priority"},
		{"empty text", with(func(c *domain.AddAction) { c.Text = "" }), domain.EINVALID, "text"},
		{"blank text", with(func(c *domain.AddAction) { c.Text = " \n\t " }), domain.EINVALID, "text"},
		{"text over MaxText", with(func(c *domain.AddAction) { c.Text = strings.Repeat("x", domain.MaxText+1) }), domain.EINVALID, "text"},
		{"text not UTF-8", with(func(c *domain.AddAction) { c.Text = "bad \xff byte" }), domain.EINVALID, "text"},
		{"progress over MaxText", with(func(c *domain.AddAction) { c.Progress = strings.Repeat("x", domain.MaxText+1) }), domain.EINVALID, "progress"},
		{"31 April", with(func(c *domain.AddAction) { c.Deadline = "2024-04-31" }), domain.EINVALID, "deadline"},
		{"29 Feb 2023", with(func(c *domain.AddAction) { c.Deadline = "2023-02-29" }), domain.EINVALID, "deadline"},
		{"plan's own date format", with(func(c *domain.AddAction) { c.Deadline = "31/04/24" }), domain.EINVALID, "deadline"},
		{"short date", with(func(c *domain.AddAction) { c.Deadline = "2024-4-1" }), domain.EINVALID, "deadline"},
		{"rag X", with(func(c *domain.AddAction) { c.Rag = "X" }), domain.EINVALID, "rag"},
		{"rag Red", with(func(c *domain.AddAction) { c.Rag = "Red" }), domain.EINVALID, "rag"},
		{"rag arrow", with(func(c *domain.AddAction) { c.Rag = "↑" }), domain.EINVALID, "rag"},
		{"rag GREEN", with(func(c *domain.AddAction) { c.Rag = "GREEN" }), domain.EINVALID, "rag"},
		{"lead without name", with(func(c *domain.AddAction) { c.Leads = []domain.Lead{{Role: "Head of SEND"}} }), domain.EINVALID, "leads[0].name"},
		{"second lead blank", with(func(c *domain.AddAction) { c.Leads = []domain.Lead{jane, {Name: "  "}} }), domain.EINVALID, "leads[1].name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := domain.Decide(domain.NewState(domain.AggAction), tt.cmd)
			withError(t, err, tt.wantCode, tt.wantField)
			if tt.wantCode != "" {
				if len(events) != 0 {
					t.Fatalf("a refused command returned events %v", events)
				}
				return
			}
			if len(events) != 1 {
				t.Fatalf("events = %#v, want one ActionAdded", events)
			}
			e, ok := events[0].(domain.ActionAdded)
			if !ok || e.Ref != tt.cmd.Ref || e.Text != tt.cmd.Text || e.Deadline.String() != tt.cmd.Deadline || e.Rag != mustRAG(t, tt.cmd.Rag) {
				t.Fatalf("event = %#v", events[0])
			}
		})
	}
}

func TestAddActionNormalisesLeads(t *testing.T) {
	c := addAction()
	c.Leads = []domain.Lead{{Name: "  Jane Smith ", Role: "Head of SEND  ", Organisation: " BCP Council"}}
	events, err := domain.Decide(domain.NewState(domain.AggAction), c)
	withError(t, err, "", "")
	if got := events[0].(domain.ActionAdded).Leads; !reflect.DeepEqual(got, []domain.Lead{jane}) {
		t.Fatalf("leads = %#v", got)
	}
}

func TestReAddAction(t *testing.T) {
	with := func(f func(*domain.AddAction)) domain.AddAction {
		c := addAction()
		f(&c)
		return c
	}
	tests := []struct {
		name      string
		cmd       domain.AddAction
		wantCode  string
		wantField string
		wantDiff  string // the field the message names
	}{
		{"identical", addAction(), "", "", ""},
		{"identical up to lead spacing", with(func(c *domain.AddAction) {
			c.Leads = []domain.Lead{{Name: " Jane Smith", Role: "Head of SEND", Organisation: "BCP Council "}}
		}), "", "", ""},
		{"identical rag in lower case", with(func(c *domain.AddAction) { c.Rag = "a" }), "", "", ""},
		{"other text", with(func(c *domain.AddAction) { c.Text = "Something else" }), domain.EEXISTS, "ref", "text"},
		{"other priority", with(func(c *domain.AddAction) { c.Priority = "4" }), domain.EEXISTS, "ref", "priority"},
		{"other origin", with(func(c *domain.AddAction) { c.Origin = "PAP" }), domain.EEXISTS, "ref", "origin"},
		{"other deadline", with(func(c *domain.AddAction) { c.Deadline = "2024-04-30" }), domain.EEXISTS, "ref", "deadline"},
		{"other rag", with(func(c *domain.AddAction) { c.Rag = "R" }), domain.EEXISTS, "ref", "rag"},
		{"other leads", with(func(c *domain.AddAction) { c.Leads = []domain.Lead{omar} }), domain.EEXISTS, "ref", "leads"},
		{"other success measures", with(func(c *domain.AddAction) { c.SuccessMeasures = "" }), domain.EEXISTS, "ref", "successMeasures"},
		{"other progress", with(func(c *domain.AddAction) { c.Progress = "Done" }), domain.EEXISTS, "ref", "progress"},
		{"other impact", with(func(c *domain.AddAction) { c.Impact = "Big" }), domain.EEXISTS, "ref", "impact"},
		{"other flags", with(func(c *domain.AddAction) { c.Flags = []domain.Flag{{Field: "rag", Raw: "?"}} }), domain.EEXISTS, "ref", "flags"},
		{"invalid content is refused as invalid first", with(func(c *domain.AddAction) { c.Rag = "Red" }), domain.EINVALID, "rag", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := anAction(t)
			before := h.st
			events, err := domain.Decide(h.st, tt.cmd)
			withError(t, err, tt.wantCode, tt.wantField)
			if len(events) != 0 {
				t.Fatalf("re-adding appended %v", events)
			}
			if tt.wantDiff != "" && !strings.Contains(domain.ErrorMessage(err), tt.wantDiff) {
				t.Fatalf("message %q does not name %q", domain.ErrorMessage(err), tt.wantDiff)
			}
			if !reflect.DeepEqual(before, h.st) {
				t.Fatalf("Decide changed the state")
			}
		})
	}

	// Re-adding compares with the action as first added, so a re-import
	// after later changes is still a no-op.
	h := anAction(t)
	h.do(domain.ChangeRag{Rag: "R"})
	h.do(domain.MoveDeadline{Deadline: "2024-06-30", Category: "capacity", Reason: "staff leave"})
	events, err := domain.Decide(h.st, addAction())
	withError(t, err, "", "")
	checkEvents(t, events, nil)
}

func TestChangeRag(t *testing.T) {
	tests := []struct {
		name      string
		cmd       domain.ChangeRag
		wantCode  string
		wantField string
		want      []domain.Event
	}{
		{"unknown code", domain.ChangeRag{Rag: "X"}, domain.EINVALID, "rag", nil},
		{"word", domain.ChangeRag{Rag: "Red"}, domain.EINVALID, "rag", nil},
		{"upper-case word", domain.ChangeRag{Rag: "GREEN"}, domain.EINVALID, "rag", nil},
		{"arrow", domain.ChangeRag{Rag: "↑"}, domain.EINVALID, "rag", nil},
		{"empty", domain.ChangeRag{Rag: ""}, domain.EINVALID, "rag", nil},
		{"commentary over MaxReason", domain.ChangeRag{Rag: "R", Commentary: strings.Repeat("x", domain.MaxReason+1)}, domain.EINVALID, "commentary", nil},
		{"same code", domain.ChangeRag{Rag: "A", Commentary: "still amber"}, "", "", nil},
		{"same code, other case and space", domain.ChangeRag{Rag: " a "}, "", "", nil},
		{"change", domain.ChangeRag{Rag: "R", Commentary: "  recruitment delayed \n"}, "", "",
			[]domain.Event{domain.RagChanged{From: domain.RagAmber, To: domain.RagRed, Commentary: "recruitment delayed"}}},
		{"change to not started", domain.ChangeRag{Rag: "ns"}, "", "",
			[]domain.Event{domain.RagChanged{From: domain.RagAmber, To: domain.RagNotYet}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := anAction(t)
			events, err := domain.Decide(h.st, tt.cmd)
			withError(t, err, tt.wantCode, tt.wantField)
			checkEvents(t, events, tt.want)
		})
	}
}

func TestMoveDeadline(t *testing.T) {
	tests := []struct {
		name      string
		cmd       domain.MoveDeadline
		wantCode  string
		wantField string
		want      []domain.Event
	}{
		{"no date", domain.MoveDeadline{Category: "capacity", Reason: "leave"}, domain.EINVALID, "deadline", nil},
		{"blank date", domain.MoveDeadline{Deadline: "  ", Category: "capacity", Reason: "leave"}, domain.EINVALID, "deadline", nil},
		{"31 April", domain.MoveDeadline{Deadline: "2024-04-31", Category: "capacity", Reason: "leave"}, domain.EINVALID, "deadline", nil},
		{"31 June", domain.MoveDeadline{Deadline: "2024-06-31", Category: "capacity", Reason: "leave"}, domain.EINVALID, "deadline", nil},
		{"29 Feb 2023", domain.MoveDeadline{Deadline: "2023-02-29", Category: "capacity", Reason: "leave"}, domain.EINVALID, "deadline", nil},
		{"plan's date format", domain.MoveDeadline{Deadline: "31/04/24", Category: "capacity", Reason: "leave"}, domain.EINVALID, "deadline", nil},
		{"no category", domain.MoveDeadline{Deadline: "2024-06-30", Reason: "leave"}, domain.EINVALID, "reasonCategory", nil},
		{"unknown category", domain.MoveDeadline{Deadline: "2024-06-30", Category: "weather", Reason: "snow"}, domain.EINVALID, "reasonCategory", nil},
		{"no reason", domain.MoveDeadline{Deadline: "2024-06-30", Category: "capacity"}, domain.EINVALID, "reason", nil},
		{"whitespace reason", domain.MoveDeadline{Deadline: "2024-06-30", Category: "capacity", Reason: " \t\n "}, domain.EINVALID, "reason", nil},
		{"reason over MaxReason", domain.MoveDeadline{Deadline: "2024-06-30", Category: "capacity", Reason: strings.Repeat("x", domain.MaxReason+1)}, domain.EINVALID, "reason", nil},
		{"same date still needs a reason", domain.MoveDeadline{Deadline: "2024-03-31", Category: "capacity"}, domain.EINVALID, "reason", nil},
		{"same date", domain.MoveDeadline{Deadline: "2024-03-31", Category: "capacity", Reason: "no change"}, "", "", nil},
		{"same date, padded", domain.MoveDeadline{Deadline: " 2024-03-31 ", Category: "other", Reason: "no change"}, "", "", nil},
		{"reason at MaxReason", domain.MoveDeadline{Deadline: "2024-06-30", Category: "capacity", Reason: strings.Repeat("é", domain.MaxReason)}, "", "",
			[]domain.Event{domain.DeadlineMoved{From: mustDate(t, "2024-03-31"), To: mustDate(t, "2024-06-30"), Category: mustCategory(t, "capacity"), Reason: strings.Repeat("é", domain.MaxReason)}}},
		{"move", domain.MoveDeadline{Deadline: "2024-06-30", Category: " Capacity ", Reason: "  two vacancies "}, "", "",
			[]domain.Event{domain.DeadlineMoved{From: mustDate(t, "2024-03-31"), To: mustDate(t, "2024-06-30"), Category: mustCategory(t, "capacity"), Reason: "two vacancies"}}},
		{"earlier", domain.MoveDeadline{Deadline: "2024-02-29", Category: "rebaselined", Reason: "agreed with DfE adviser"}, "", "",
			[]domain.Event{domain.DeadlineMoved{From: mustDate(t, "2024-03-31"), To: mustDate(t, "2024-02-29"), Category: mustCategory(t, "rebaselined"), Reason: "agreed with DfE adviser"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := anAction(t)
			events, err := domain.Decide(h.st, tt.cmd)
			withError(t, err, tt.wantCode, tt.wantField)
			checkEvents(t, events, tt.want)
		})
	}

	// From is the current deadline, not the original one.
	h := anAction(t)
	h.do(domain.MoveDeadline{Deadline: "2024-06-30", Category: "capacity", Reason: "leave"})
	events := h.do(domain.MoveDeadline{Deadline: "2024-09-30", Category: "dependency", Reason: "waiting on 2.1"})
	checkEvents(t, events, []domain.Event{domain.DeadlineMoved{From: mustDate(t, "2024-06-30"), To: mustDate(t, "2024-09-30"), Category: mustCategory(t, "dependency"), Reason: "waiting on 2.1"}})
}

func TestReassignLeads(t *testing.T) {
	tests := []struct {
		name      string
		cmd       domain.ReassignLeads
		wantCode  string
		wantField string
		want      []domain.Event
	}{
		{"no leads", domain.ReassignLeads{Reason: "restructure"}, domain.EINVALID, "leads", nil},
		{"empty list", domain.ReassignLeads{Leads: []domain.Lead{}, Reason: "restructure"}, domain.EINVALID, "leads", nil},
		{"lead without name", domain.ReassignLeads{Leads: []domain.Lead{{Role: "DCO"}}, Reason: "restructure"}, domain.EINVALID, "leads[0].name", nil},
		{"second lead blank", domain.ReassignLeads{Leads: []domain.Lead{omar, {Name: " \t"}}, Reason: "restructure"}, domain.EINVALID, "leads[1].name", nil},
		{"no reason", domain.ReassignLeads{Leads: []domain.Lead{omar}}, domain.EINVALID, "reason", nil},
		{"whitespace reason", domain.ReassignLeads{Leads: []domain.Lead{omar}, Reason: "   "}, domain.EINVALID, "reason", nil},
		{"reason over MaxReason", domain.ReassignLeads{Leads: []domain.Lead{omar}, Reason: strings.Repeat("x", domain.MaxReason+1)}, domain.EINVALID, "reason", nil},
		{"same leads", domain.ReassignLeads{Leads: []domain.Lead{jane}, Reason: "confirming"}, "", "", nil},
		{"same leads, padded", domain.ReassignLeads{Leads: []domain.Lead{{Name: " Jane Smith ", Role: "Head of SEND", Organisation: "BCP Council"}}, Reason: "confirming"}, "", "", nil},
		{"other lead", domain.ReassignLeads{Leads: []domain.Lead{{Name: " Omar Khan", Role: "Designated Clinical Officer", Organisation: "NHS Dorset"}}, Reason: " health-led now "}, "", "",
			[]domain.Event{domain.LeadsReassigned{From: []domain.Lead{jane}, To: []domain.Lead{omar}, Reason: "health-led now"}}},
		{"add a lead", domain.ReassignLeads{Leads: []domain.Lead{jane, omar}, Reason: "joint"}, "", "",
			[]domain.Event{domain.LeadsReassigned{From: []domain.Lead{jane}, To: []domain.Lead{jane, omar}, Reason: "joint"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := anAction(t)
			events, err := domain.Decide(h.st, tt.cmd)
			withError(t, err, tt.wantCode, tt.wantField)
			checkEvents(t, events, tt.want)
		})
	}
}

func TestRecordProgressImpactRevise(t *testing.T) {
	long := strings.Repeat("x", domain.MaxText+1)
	tests := []struct {
		name      string
		cmd       domain.Command
		wantCode  string
		wantField string
		want      []domain.Event
	}{
		{"progress empty", domain.RecordProgress{}, domain.EINVALID, "text", nil},
		{"progress blank", domain.RecordProgress{Text: "  \n"}, domain.EINVALID, "text", nil},
		{"progress over MaxText", domain.RecordProgress{Text: long}, domain.EINVALID, "text", nil},
		{"progress same", domain.RecordProgress{Text: "Framework drafted"}, "", "", nil},
		{"progress new", domain.RecordProgress{Text: "Framework agreed"}, "", "",
			[]domain.Event{domain.ProgressRecorded{Before: "Framework drafted", Text: "Framework agreed"}}},
		{"impact empty", domain.RecordImpact{}, domain.EINVALID, "text", nil},
		{"impact over MaxText", domain.RecordImpact{Text: long}, domain.EINVALID, "text", nil},
		{"impact same", domain.RecordImpact{Text: "Too early to say"}, "", "", nil},
		{"impact new", domain.RecordImpact{Text: "Audit scores up"}, "", "",
			[]domain.Event{domain.ImpactRecorded{Before: "Too early to say", Text: "Audit scores up"}}},
		{"revise without text", domain.ReviseAction{Origin: "WSoA"}, domain.EINVALID, "text", nil},
		{"revise text over MaxText", domain.ReviseAction{Text: long}, domain.EINVALID, "text", nil},
		{"revise origin over MaxShort", domain.ReviseAction{Text: "t", Origin: strings.Repeat("o", domain.MaxShort+1)}, domain.EINVALID, "origin", nil},
		{"revise same", domain.ReviseAction{Origin: "WSoA", Text: "Review the EHCP quality assurance framework", SuccessMeasures: "90% of audited plans good or better"}, "", "", nil},
		{"revise", domain.ReviseAction{Origin: "PAP", Text: "Rewrite the framework", SuccessMeasures: "95%"}, "", "",
			[]domain.Event{domain.ActionRevised{Origin: "PAP", Text: "Rewrite the framework", SuccessMeasures: "95%",
				Before: domain.ActionTexts{Origin: "WSoA", Text: "Review the EHCP quality assurance framework", SuccessMeasures: "90% of audited plans good or better"}}}},
		{"resolve a flag that is not there", domain.ResolveFlag{Field: "deadline"}, "", "", nil},
		{"reinstate an action that is not withdrawn", domain.ReinstateAction{Reason: "why not"}, "", "", nil},
		{"reinstate still needs a reason", domain.ReinstateAction{}, domain.EINVALID, "reason", nil},
		{"withdraw without reason", domain.WithdrawAction{}, domain.EINVALID, "reason", nil},
		{"withdraw with blank reason", domain.WithdrawAction{Reason: "\t "}, domain.EINVALID, "reason", nil},
		{"withdraw reason over MaxReason", domain.WithdrawAction{Reason: strings.Repeat("x", domain.MaxReason+1)}, domain.EINVALID, "reason", nil},
		{"withdraw", domain.WithdrawAction{Reason: " merged into 3.5 "}, "", "", []domain.Event{domain.ActionWithdrawn{Reason: "merged into 3.5"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := anAction(t)
			events, err := domain.Decide(h.st, tt.cmd)
			withError(t, err, tt.wantCode, tt.wantField)
			checkEvents(t, events, tt.want)
		})
	}
}

// actionCommands is one valid, state-changing command of each kind but
// AddAction, for the action of addAction().
func actionCommands() []domain.Command {
	return []domain.Command{
		domain.ReviseAction{Origin: "PAP", Text: "Rewrite", SuccessMeasures: "95%"},
		domain.ChangeRag{Rag: "R"},
		domain.MoveDeadline{Deadline: "2024-06-30", Category: "capacity", Reason: "leave"},
		domain.ReassignLeads{Leads: []domain.Lead{omar}, Reason: "health-led"},
		domain.RecordProgress{Text: "more"},
		domain.RecordImpact{Text: "some"},
		domain.ResolveFlag{Field: "rag", Note: "checked"},
		domain.WithdrawAction{Reason: "again"},
		domain.ReinstateAction{Reason: "back"},
	}
}

func TestCommandsOnMissingAction(t *testing.T) {
	for _, cmd := range actionCommands() {
		t.Run(fmt.Sprintf("%T", cmd), func(t *testing.T) {
			events, err := domain.Decide(domain.NewState(domain.AggAction), cmd)
			withError(t, err, domain.ENOTFOUND, "ref")
			checkEvents(t, events, nil)
		})
	}
}

func TestWithdrawnAction(t *testing.T) {
	tests := []struct {
		name      string
		cmd       domain.Command
		wantCode  string
		wantField string
		want      []domain.Event
	}{
		{"revise", domain.ReviseAction{Origin: "PAP", Text: "Rewrite"}, domain.EPRECONDITION, "ref", nil},
		{"rag", domain.ChangeRag{Rag: "R"}, domain.EPRECONDITION, "ref", nil},
		{"same rag", domain.ChangeRag{Rag: "A"}, domain.EPRECONDITION, "ref", nil},
		{"invalid rag", domain.ChangeRag{Rag: "X"}, domain.EPRECONDITION, "ref", nil},
		{"deadline", domain.MoveDeadline{Deadline: "2024-06-30", Category: "capacity", Reason: "leave"}, domain.EPRECONDITION, "ref", nil},
		{"leads", domain.ReassignLeads{Leads: []domain.Lead{omar}, Reason: "health-led"}, domain.EPRECONDITION, "ref", nil},
		{"progress", domain.RecordProgress{Text: "more"}, domain.EPRECONDITION, "ref", nil},
		{"same progress", domain.RecordProgress{Text: "Framework drafted"}, domain.EPRECONDITION, "ref", nil},
		{"impact", domain.RecordImpact{Text: "some"}, domain.EPRECONDITION, "ref", nil},
		{"resolve flag", domain.ResolveFlag{Field: "rag"}, domain.EPRECONDITION, "ref", nil},
		{"withdraw again", domain.WithdrawAction{Reason: "again"}, "", "", nil},
		{"withdraw again without reason", domain.WithdrawAction{}, "", "", nil},
		{"reinstate without reason", domain.ReinstateAction{}, domain.EINVALID, "reason", nil},
		{"reinstate with blank reason", domain.ReinstateAction{Reason: "  "}, domain.EINVALID, "reason", nil},
		{"reinstate", domain.ReinstateAction{Reason: " board asked "}, "", "", []domain.Event{domain.ActionReinstated{Reason: "board asked"}}},
		// AddAction is the importer's idempotent create, decided before the
		// withdrawn check: an identical re-add is a no-op, a different one
		// still EEXISTS.
		{"identical re-add", addAction(), "", "", nil},
		{"different re-add", domain.AddAction{Ref: "3.4", Priority: "3", Text: "other"}, domain.EEXISTS, "ref", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := aWithdrawnAction(t)
			events, err := domain.Decide(h.st, tt.cmd)
			withError(t, err, tt.wantCode, tt.wantField)
			checkEvents(t, events, tt.want)
		})
	}

	// Reinstating restores changes.
	h := aWithdrawnAction(t)
	a := h.action()
	if !a.Withdrawn() || a.WithdrawnReason() != "merged into 3.5" {
		t.Fatalf("Withdrawn() = %v, %q", a.Withdrawn(), a.WithdrawnReason())
	}
	h.do(domain.ReinstateAction{Reason: "board asked"})
	if a := h.action(); a.Withdrawn() || a.WithdrawnReason() != "" {
		t.Fatalf("after reinstating: Withdrawn() = %v, %q", a.Withdrawn(), a.WithdrawnReason())
	}
	for _, cmd := range actionCommands() {
		if _, ok := cmd.(domain.ResolveFlag); ok {
			continue // no flag to resolve on this action
		}
		if _, ok := cmd.(domain.ReinstateAction); ok {
			continue // not withdrawn: nothing to reinstate
		}
		events, err := domain.Decide(h.st, cmd)
		withError(t, err, "", "")
		if len(events) != 1 {
			t.Fatalf("%T after reinstating: events %v, want one", cmd, events)
		}
	}
}

func TestEvolveAction(t *testing.T) {
	h := anAction(t)
	a := h.action()
	d0 := mustDate(t, "2024-03-31")
	if !a.Exists() || a.Ref() != "3.4" || a.Priority() != "3" || a.Deadline() != d0 || a.OriginalDeadline() != d0 || a.DeadlineMoves() != 0 {
		t.Fatalf("after ActionAdded: %#v", a)
	}
	if a.Rag() != domain.RagAmber || a.Text() != addAction().Text || a.Progress() != "Framework drafted" || a.Impact() != "Too early to say" || !reflect.DeepEqual(a.Leads(), []domain.Lead{jane}) {
		t.Fatalf("after ActionAdded: %#v", a)
	}
	if !a.LastChanged().Equal(h.log[0].OccurredAt) {
		t.Fatalf("LastChanged = %v, want the business time %v", a.LastChanged(), h.log[0].OccurredAt)
	}

	h.do(domain.MoveDeadline{Deadline: "2024-06-30", Category: "capacity", Reason: "leave"})
	h.do(domain.MoveDeadline{Deadline: "2024-09-30", Category: "rebaselined", Reason: "agreed"})
	a = h.action()
	if a.Deadline() != mustDate(t, "2024-09-30") || a.OriginalDeadline() != d0 || a.DeadlineMoves() != 2 {
		t.Fatalf("after two moves: deadline %v, original %v, moves %d", a.Deadline(), a.OriginalDeadline(), a.DeadlineMoves())
	}

	h.do(domain.ChangeRag{Rag: "P"})
	h.do(domain.ReassignLeads{Leads: []domain.Lead{omar}, Reason: "health-led"})
	h.do(domain.RecordProgress{Text: "Agreed"})
	h.do(domain.RecordImpact{Text: "Better plans"})
	h.do(domain.ReviseAction{Origin: "PAP", Text: "Rewrite", SuccessMeasures: "95%"})
	a = h.action()
	if a.Rag() != domain.RagPurple || !reflect.DeepEqual(a.Leads(), []domain.Lead{omar}) || a.Progress() != "Agreed" || a.Impact() != "Better plans" ||
		a.Origin() != "PAP" || a.Text() != "Rewrite" || a.SuccessMeasures() != "95%" {
		t.Fatalf("after changes: %#v", a)
	}
	if a.Added().Text != addAction().Text || a.Added().Rag != domain.RagAmber {
		t.Fatalf("Added() changed: %#v", a.Added())
	}
	if a.Version() != h.log[len(h.log)-1].Sequence {
		t.Fatalf("Version() = %d, want the last Sequence %d", a.Version(), h.log[len(h.log)-1].Sequence)
	}
	if !a.LastChanged().Equal(h.log[len(h.log)-1].OccurredAt) {
		t.Fatalf("LastChanged = %v", a.LastChanged())
	}

	// An event of another aggregate type changes nothing but the version.
	before := h.action()
	h.apply(domain.KpiValueRecorded{Period: "Jan 24", Value: "3"})
	after := h.action()
	if after.Version() == before.Version() || after.Rag() != before.Rag() || after.Deadline() != before.Deadline() || after.Progress() != before.Progress() {
		t.Fatalf("a foreign event changed the action")
	}
}

func TestEvolveFlags(t *testing.T) {
	flagged := domain.AddAction{
		Ref: "1.2", Priority: "1", Text: "Publish the Local Offer",
		DeadlineRaw: "31/04/24", RagRaw: "Being scoped",
		Flags: []domain.Flag{
			{Field: "deadline", Raw: "31/04/24", Message: "April has 30 days"},
			{Field: "rag", Raw: "Being scoped", Message: "not a RAG code"},
			{Field: "leads", Raw: "TBC", Message: "no lead named"},
		},
	}
	h := newHistory(t, domain.AggAction)
	h.do(flagged)
	a := h.action()
	if !a.Deadline().IsZero() || !a.OriginalDeadline().IsZero() || len(a.Flags()) != 3 || a.DeadlineRaw() != "31/04/24" || a.Rag().IsRated() {
		t.Fatalf("flagged action: %#v", a)
	}

	// Its first deadline is the baseline: the original deadline, not a move.
	events := h.do(domain.MoveDeadline{Deadline: "2024-04-30", Category: "other", Reason: "board confirmed 30 April"})
	checkEvents(t, events, []domain.Event{domain.DeadlineMoved{To: mustDate(t, "2024-04-30"), Category: mustCategory(t, "other"), Reason: "board confirmed 30 April"}})
	a = h.action()
	if a.Deadline() != mustDate(t, "2024-04-30") || a.OriginalDeadline() != mustDate(t, "2024-04-30") {
		t.Fatalf("deadline %v, original %v: want both 2024-04-30", a.Deadline(), a.OriginalDeadline())
	}
	if a.DeadlineMoves() != 0 {
		t.Fatalf("DeadlineMoves() = %d after setting the baseline, want 0", a.DeadlineMoves())
	}
	if got := flagFields(a.Flags()); got != "rag,leads" {
		t.Fatalf("flags = %s, want the deadline flag cleared", got)
	}

	// A later move keeps the original and counts.
	h.do(domain.MoveDeadline{Deadline: "2024-07-31", Category: "capacity", Reason: "leave"})
	a = h.action()
	if a.OriginalDeadline() != mustDate(t, "2024-04-30") || a.Deadline() != mustDate(t, "2024-07-31") || a.DeadlineMoves() != 1 {
		t.Fatalf("after a move: deadline %v, original %v, moves %d", a.Deadline(), a.OriginalDeadline(), a.DeadlineMoves())
	}

	h.do(domain.ChangeRag{Rag: "A"})
	if got := flagFields(h.action().Flags()); got != "leads" {
		t.Fatalf("flags = %s, want the rag flag cleared", got)
	}
	// ResolveFlag clears the named flag, and only when there is one.
	checkEvents(t, h.do(domain.ResolveFlag{Field: "origin"}), nil)
	checkEvents(t, h.do(domain.ResolveFlag{Field: "leads", Note: "lead agreed"}), []domain.Event{domain.FlagResolved{Field: "leads", Note: "lead agreed"}})
	if len(h.action().Flags()) != 0 {
		t.Fatalf("flags = %v, want none", h.action().Flags())
	}
}

func flagFields(fs []domain.Flag) string {
	var names []string
	for _, f := range fs {
		names = append(names, f.Field)
	}
	return strings.Join(names, ",")
}

func TestIsLedBy(t *testing.T) {
	h := newHistory(t, domain.AggAction)
	c := addAction()
	c.Leads = []domain.Lead{jane, {Name: "Dr  Omar   Khan"}}
	h.do(c)
	tests := []struct {
		name string
		want bool
	}{
		{"Jane Smith", true},
		{"jane smith", true},
		{"  JANE   SMITH ", true},
		{"Jane\tSmith", true},
		{"dr omar khan", true},
		{"Dr Omar Khan", true},
		{"Jane", false},
		{"Smith", false},
		{"Jane Smithson", false},
		{"JaneSmith", false},
		{"", false},
		{"   ", false},
		{"Head of SEND", false},
	}
	for _, tt := range tests {
		if got := h.action().IsLedBy(tt.name); got != tt.want {
			t.Errorf("IsLedBy(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
	if (domain.ActionState{}).IsLedBy("") {
		t.Errorf("an empty action is led by the empty name")
	}
}

func TestEvolveDoesNotAlias(t *testing.T) {
	h := anAction(t)
	h.do(domain.ReassignLeads{Leads: []domain.Lead{jane, omar}, Reason: "joint"})
	s1 := h.action()
	leads := append([]domain.Lead(nil), s1.Leads()...)
	// Two futures from the same state must not see each other.
	a := domain.Evolve(s1, domain.Envelope{Sequence: 1000, Event: domain.LeadsReassigned{From: s1.Leads(), To: []domain.Lead{omar}, Reason: "x"}}).(domain.ActionState)
	b := domain.Evolve(s1, domain.Envelope{Sequence: 1000, Event: domain.LeadsReassigned{From: s1.Leads(), To: []domain.Lead{jane}, Reason: "y"}}).(domain.ActionState)
	if !reflect.DeepEqual(s1.Leads(), leads) || a.Leads()[0] != omar || b.Leads()[0] != jane || s1.Version() == 1000 {
		t.Fatalf("Evolve changed its input or shared state between futures")
	}
}
