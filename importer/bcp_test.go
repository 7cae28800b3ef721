package importer

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/sendtrail/sendtrail/domain"
)

const bcpDir = "../demo/bcp-2023-26"

var bcpOpts = Options{Slug: "bcp-2023-26", Title: "BCP SEND Improvement Plan 2023/26"}

func readBCP(t *testing.T) *Plan {
	t.Helper()
	p, err := ReadPath(bcpDir, bcpOpts)
	if err != nil {
		t.Fatalf("ReadPath: %v", err)
	}
	return p
}

func date(t *testing.T, s string) domain.Date {
	t.Helper()
	d, err := domain.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func actionByRef(t *testing.T, p *Plan, ref string) domain.AddAction {
	t.Helper()
	for _, a := range p.Actions {
		if a.Ref == ref {
			return a
		}
	}
	t.Fatalf("no action %s", ref)
	return domain.AddAction{}
}

func kpiByName(t *testing.T, p *Plan, name string) Kpi {
	t.Helper()
	for _, k := range p.Kpis {
		if k.Define.Name == name {
			return k
		}
	}
	t.Fatalf("no indicator %q", name)
	return Kpi{}
}

func TestBCPCounts(t *testing.T) {
	p := readBCP(t)
	if got := len(p.Priorities); got != 8 {
		t.Errorf("priorities = %d, want 8", got)
	}
	if got := len(p.Actions); got != 138 {
		t.Errorf("actions = %d, want 138", got)
	}
	per := map[string]int{}
	for _, a := range p.Actions {
		per[a.Priority]++
	}
	want := map[string]int{"1": 17, "2": 11, "3": 19, "4": 18, "5": 26, "6": 16, "7": 15, "8": 16}
	if !reflect.DeepEqual(per, want) {
		t.Errorf("actions per priority = %v, want %v", per, want)
	}
	if got := len(p.Kpis); got != 50 {
		t.Errorf("indicators = %d, want 50", got)
	}
	if got := p.ValueCount(); got != 184 {
		t.Errorf("KPI values = %d, want 184", got)
	}
	if p.Create.Slug != bcpOpts.Slug || p.Create.Title != bcpOpts.Title {
		t.Errorf("Create = %q %q", p.Create.Slug, p.Create.Title)
	}
	for i, pa := range p.Priorities {
		if pa.Number != string(rune('1'+i)) || pa.Title == "" || pa.Summary == "" || pa.ParentCarerVoice == "" {
			t.Errorf("priority %d = %+v", i+1, pa)
		}
	}
	if p.Priorities[0].Title != "SEND Leadership, Management and Governance" {
		t.Errorf("priority 1 title = %q", p.Priorities[0].Title)
	}
}

// bcpProblems are the problems the BCP plan has: ten impossible dates and
// 5.3's deadline with no date.
var bcpProblems = []struct {
	row          int
	ref, value   string
	msg          string
	deadlineRaw  string
	flagContains string
}{
	{8, "1.7", "31/04/24", "31/04/24 is not a date: April has 30 days", "31/04/24", ""},
	{27, "2.9", "31/06/24", "31/06/24 is not a date: June has 30 days", "31/06/24", ""},
	{40, "3.11", "31/06/24", "31/06/24 is not a date: June has 30 days", "31/06/24", ""},
	{49, "4.1", "31/11/24", "31/11/24 is not a date: November has 30 days", "31/11/24", ""},
	{50, "4.2", "31/06/24", "31/06/24 is not a date: June has 30 days", "31/06/24", ""},
	{52, "4.4", "31/06/24", "31/06/24 is not a date: June has 30 days", "31/06/24", ""},
	{67, "5.1", "31/09/24", "31/09/24 is not a date: September has 30 days", "31/09/24", ""},
	{69, "5.3", "", "", "", "no date in"},
	{75, "5.9", "31/04/24", "31/04/24 is not a date: April has 30 days", "31/04/24", ""},
	{77, "5.11", "31/04/24", "31/04/24 is not a date: April has 30 days", "31/04/24", ""},
	{111, "7.3", "31/06/24", "31/06/24 is not a date: June has 30 days", "31/06/24", ""},
}

func TestBCPProblems(t *testing.T) {
	p := readBCP(t)
	if len(p.Problems) != len(bcpProblems) {
		for _, pr := range p.Problems {
			t.Log(pr)
		}
		t.Fatalf("%d problems, want %d", len(p.Problems), len(bcpProblems))
	}
	for i, w := range bcpProblems {
		got := p.Problems[i]
		if got.File != "actions.csv" || got.Row != w.row || got.Column != "Deadline" || got.Ref != w.ref || !got.Flaggable {
			t.Errorf("problem %d = %+v, want actions.csv row %d Deadline ref %s flaggable", i, got, w.row, w.ref)
		}
		if w.msg != "" && (got.Message != w.msg || got.Value != w.value) {
			t.Errorf("problem %d: value %q message %q, want %q %q", i, got.Value, got.Message, w.value, w.msg)
		}
		if w.flagContains != "" && !strings.Contains(got.Message, w.flagContains) {
			t.Errorf("problem %d: message %q, want it to contain %q", i, got.Message, w.flagContains)
		}
	}

	err := p.Err(bcpOpts)
	if err == nil {
		t.Fatal("Err() = nil without AcceptFlagged, want the impossible dates")
	}
	if domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("Err code = %q, want %q", domain.ErrorCode(err), domain.EINVALID)
	}
	msg := err.(*domain.Error).Message
	lines := strings.Split(msg, "\n")
	if len(lines) != 1+len(bcpProblems) || !strings.Contains(lines[0], "11 problems") {
		t.Errorf("Err message has %d lines, first %q; want 12 lines counting 11 problems", len(lines), lines[0])
	}
	for _, want := range []string{
		"actions.csv row 8, Deadline (ref 1.7): 31/04/24 is not a date: April has 30 days",
		"actions.csv row 75, Deadline (ref 5.9): 31/04/24 is not a date: April has 30 days",
		"actions.csv row 77, Deadline (ref 5.11): 31/04/24 is not a date: April has 30 days",
		"actions.csv row 27, Deadline (ref 2.9): 31/06/24 is not a date: June has 30 days",
		"actions.csv row 40, Deadline (ref 3.11): 31/06/24 is not a date: June has 30 days",
		"actions.csv row 50, Deadline (ref 4.2): 31/06/24 is not a date: June has 30 days",
		"actions.csv row 52, Deadline (ref 4.4): 31/06/24 is not a date: June has 30 days",
		"actions.csv row 111, Deadline (ref 7.3): 31/06/24 is not a date: June has 30 days",
		"actions.csv row 49, Deadline (ref 4.1): 31/11/24 is not a date: November has 30 days",
		"actions.csv row 67, Deadline (ref 5.1): 31/09/24 is not a date: September has 30 days",
	} {
		if !strings.Contains(msg, "\n"+want+"\n") && !strings.HasSuffix(msg, "\n"+want) {
			t.Errorf("Err message lacks the line %q", want)
		}
	}

	accept := bcpOpts
	accept.AcceptFlagged = true
	if err := p.Err(accept); err != nil {
		t.Errorf("Err(AcceptFlagged) = %v, want nil", err)
	}
	for _, w := range bcpProblems {
		a := actionByRef(t, p, w.ref)
		if a.Deadline != "" {
			t.Errorf("%s: Deadline = %q, want none", w.ref, a.Deadline)
		}
		if len(a.Flags) != 1 || a.Flags[0].Field != "deadline" || a.Flags[0].Raw != a.DeadlineRaw || a.DeadlineRaw == "" {
			t.Errorf("%s: flags %+v, raw %q; want one deadline flag with the raw text", w.ref, a.Flags, a.DeadlineRaw)
		}
		if w.deadlineRaw != "" && (a.DeadlineRaw != w.deadlineRaw || a.Flags[0].Message != w.msg) {
			t.Errorf("%s: raw %q flag %q, want %q %q", w.ref, a.DeadlineRaw, a.Flags[0].Message, w.deadlineRaw, w.msg)
		}
	}
	// No other action carries a flag.
	flagged := 0
	for _, a := range p.Actions {
		if len(a.Flags) > 0 {
			flagged++
		}
	}
	if flagged != len(bcpProblems) {
		t.Errorf("%d actions flagged, want %d", flagged, len(bcpProblems))
	}
}

func TestBCPActions(t *testing.T) {
	p := readBCP(t)

	a11 := domain.AddAction{
		Ref: "1.1", Priority: "1", Origin: "SEND Governance review",
		Text:     "Complete intelligence led 'deep dive' workshops involving all members of the partnership framed around thematic areas to inform and co-produce actions required to deliver and monitor system wide improvement",
		Leads:    []domain.Lead{{Name: "Sharon Muldoon", Role: "Interim Education and Skills Director"}},
		LeadsRaw: "Sharon Muldoon/ Interim Education and Skills Director",
		Deadline: "2024-01-30",
		SuccessMeasures: "Local Authority diagnostic completed All LA Education SMT engaged in workshops Clear forward plan is approved Joint Performance Scorecard in place\n" +
			"Improvement Plan in place",
		Progress: "Improvement Plan signed off. First draft SEND Performance Scorecard developed  SEF sessions completed (Jan)  Diagnostic shared with Schools and forward actions established\n" +
			"Schools Inclusion processes reviewed.",
		Impact: "Workshops complete and intelligence gathered informing future plans",
	}
	if got := actionByRef(t, p, "1.1"); !reflect.DeepEqual(got, a11) {
		t.Errorf("1.1 =\n%#v\nwant\n%#v", got, a11)
	}

	a := actionByRef(t, p, "1.7")
	if a.Priority != "1" || a.Deadline != "" || a.DeadlineRaw != "31/04/24" || a.Milestones != nil ||
		!reflect.DeepEqual(a.Flags, []domain.Flag{{Field: "deadline", Raw: "31/04/24", Message: "31/04/24 is not a date: April has 30 days"}}) ||
		!reflect.DeepEqual(a.Leads, []domain.Lead{{Name: "Rachel Gravett", Role: "Director Quality, Performance Improvement and Governance"}}) {
		t.Errorf("1.7 = %+v", a)
	}
	if !strings.HasSuffix(a.Progress, "Terms of reference drafted and to be agree") {
		t.Errorf("1.7 progress = %q, want the text as it breaks off", a.Progress)
	}

	a = actionByRef(t, p, "3.14")
	wantMs := []domain.Milestone{
		{Date: date(t, "2024-04-30"), Text: "Design Modelling events"},
		{Date: date(t, "2024-08-31"), Text: "Draft Business Case"},
		{Date: date(t, "2024-09-30"), Text: "Commissioning Approach"},
		{Date: date(t, "2024-10-30"), Text: "Implementation to commence"},
	}
	if a.Deadline != "2024-10-30" || !reflect.DeepEqual(a.Milestones, wantMs) || len(a.Flags) != 0 ||
		a.DeadlineRaw != "30/04/24 Design Modelling events\n31/08/24 Draft Business Case\n30/09/24 Commissioning Approach\n30/10/24 Implementation to commence" {
		t.Errorf("3.14 deadline %q raw %q milestones %+v flags %+v", a.Deadline, a.DeadlineRaw, a.Milestones, a.Flags)
	}
	if !reflect.DeepEqual(a.Leads, []domain.Lead{
		{Name: "Elaine Hurl", Role: "Head of CYP, MH, Autism and LD", Organisation: "NHS Dorset"},
		{Name: "Suzanne Green"},
	}) || a.LeadsRaw != "Elaine Hurl – Head of CYP, MH, Autism and LD, NHS Dorset\nSuzanne Green" {
		t.Errorf("3.14 leads %+v raw %q", a.Leads, a.LeadsRaw)
	}
	if !contains(p.Notes, "3.14: deadline taken as the latest of 4 milestones (2024-10-30)") {
		t.Errorf("no milestone note for 3.14 in %q", p.Notes)
	}

	a = actionByRef(t, p, "3.15")
	if a.Deadline != "2024-12-31" || a.DeadlineRaw != "30/06/24\n31/12/24" || !reflect.DeepEqual(a.Milestones, []domain.Milestone{
		{Date: date(t, "2024-06-30")}, {Date: date(t, "2024-12-31")}}) {
		t.Errorf("3.15 deadline %q raw %q milestones %+v", a.Deadline, a.DeadlineRaw, a.Milestones)
	}

	a = actionByRef(t, p, "4.12")
	if a.Deadline != "2024-04-30" || a.DeadlineRaw != "" || a.Milestones != nil || len(a.Flags) != 0 || a.Rag != "" || a.Trend != "↔" || a.RagRaw != "↔" {
		t.Errorf("4.12 = deadline %q raw %q rag %q trend %q ragRaw %q flags %+v", a.Deadline, a.DeadlineRaw, a.Rag, a.Trend, a.RagRaw, a.Flags)
	}
	for _, ref := range []string{"4.13", "4.14"} {
		if a := actionByRef(t, p, ref); a.Deadline != "2024-05-10" || len(a.Flags) != 0 {
			t.Errorf("%s deadline %q flags %+v", ref, a.Deadline, a.Flags)
		}
	}

	a = actionByRef(t, p, "5.3")
	raw53 := "Options for new model confirmed: Information Assessment Support Training confirmed by Dec 2023\nBusiness Case for identified new investment approved by March 2024"
	if a.Deadline != "" || a.DeadlineRaw != raw53 || !reflect.DeepEqual(a.Milestones, []domain.Milestone{
		{Text: "Options for new model confirmed: Information Assessment Support Training confirmed by Dec 2023"},
		{Text: "Business Case for identified new investment approved by March 2024"},
	}) || len(a.Flags) != 1 || a.Flags[0].Field != "deadline" || a.Flags[0].Raw != raw53 {
		t.Errorf("5.3 deadline %q raw %q milestones %+v flags %+v", a.Deadline, a.DeadlineRaw, a.Milestones, a.Flags)
	}
	if !strings.Contains(a.Progress, "Neurodiversity – NHS Dorset") {
		t.Errorf("5.3 progress lacks the link text")
	}

	a = actionByRef(t, p, "5.22")
	if a.Deadline != "2024-03-31" || a.DeadlineRaw != "next meeting by 31/03/24" || len(a.Flags) != 0 ||
		!reflect.DeepEqual(a.Milestones, []domain.Milestone{{Date: date(t, "2024-03-31"), Text: "next meeting by 31/03/24"}}) ||
		!reflect.DeepEqual(a.Leads, []domain.Lead{{Name: "Chloe Morley", Role: "DCO, SEND", Organisation: "NHS Dorset"}}) {
		t.Errorf("5.22 = %+v", a)
	}
	if a.Impact != "" {
		t.Errorf("5.22 impact = %q, want empty", a.Impact)
	}

	a = actionByRef(t, p, "6.1")
	if a.Rag != "" || a.Trend != "▲" || a.RagRaw != "▲" || len(a.Flags) != 0 || a.Deadline != "2024-04-30" || a.Origin != "Delivering Better Value (DBV)" {
		t.Errorf("6.1 rag %q trend %q raw %q flags %+v", a.Rag, a.Trend, a.RagRaw, a.Flags)
	}
	for _, ref := range []string{"1.8", "4.10", "4.11"} {
		if a := actionByRef(t, p, ref); a.Trend != "↑" || a.Rag != "" {
			t.Errorf("%s trend %q rag %q", ref, a.Trend, a.Rag)
		}
	}

	a = actionByRef(t, p, "3.11")
	if a.Rag != "NS" || a.RagRaw != "NS" || a.Trend != "" || a.DeadlineRaw != "31/06/24" {
		t.Errorf("3.11 rag %q raw %q trend %q deadline raw %q", a.Rag, a.RagRaw, a.Trend, a.DeadlineRaw)
	}
	rated := 0
	for _, a := range p.Actions {
		if a.Rag != "" {
			rated++
			if a.Rag != "NS" {
				t.Errorf("%s rag %q: the text holds no code but NS", a.Ref, a.Rag)
			}
		}
	}
	if rated != 3 {
		t.Errorf("%d rated actions, want 3 (NS: 3.11, 5.26, 8.16)", rated)
	}

	a = actionByRef(t, p, "6.16")
	if a.Origin != "" || len(a.Flags) != 0 || a.Text != "Expanding EY Provision linked to new extended entitlement for Early Years" {
		t.Errorf("6.16 = %+v", a)
	}
	if !contains(p.Notes, "6.16: Origin is empty") {
		t.Errorf("no note for 6.16's empty origin")
	}

	a = actionByRef(t, p, "7.3")
	if a.Priority != "7" || a.Text != "Secure partnership PfA Links between LA and health\n(link to Priority 6.10 above)" ||
		a.DeadlineRaw != "31/06/24" || a.Deadline != "" || len(a.Flags) != 1 ||
		!strings.HasPrefix(a.Impact, "Health Update - Making best use of the annual health check offer for young people from 14yrs") ||
		!strings.HasSuffix(a.Progress, "It also gives a blueprint for future Young Adult services") {
		t.Errorf("7.3 = %+v", a)
	}

	// Leads are kept verbatim as written, and every action has at least one.
	for _, a := range p.Actions {
		if a.LeadsRaw == "" || len(a.Leads) == 0 {
			t.Errorf("%s: leads %+v raw %q", a.Ref, a.Leads, a.LeadsRaw)
		}
		for _, l := range a.Leads {
			if _, err := domain.NewLead(l.Name, l.Role, l.Organisation); err != nil || l.Name != strings.TrimSpace(l.Name) {
				t.Errorf("%s: lead %+v", a.Ref, l)
			}
		}
	}
}

func TestBCPKpis(t *testing.T) {
	p := readBCP(t)
	k := kpiByName(t, p, "% of case audits judged as good/outstanding")
	want := Kpi{
		Define: domain.DefineKpi{Priority: "1", Name: "% of case audits judged as good/outstanding", Direction: "▲", Target: "90%", National: "n/a"},
		Values: []domain.RecordKpiValue{{Period: "Dec-23", Value: "27.6%"}, {Period: "Jan-24", Value: "41.6% %"}, {Period: "Feb-24", Value: "41.6%"}, {Period: "Mar-24", Value: "41.6%"}},
	}
	if !reflect.DeepEqual(k, want) {
		t.Errorf("case audits =\n%+v\nwant\n%+v", k, want)
	}
	k = kpiByName(t, p, "Cost of Primary in Non-Maintained (£ amount)")
	if k.Define.Priority != "8" || k.Define.Direction != "▼" || len(k.Values) != 4 || k.Values[0] != (domain.RecordKpiValue{Period: "Dec-23", Value: "3.9M"}) {
		t.Errorf("cost of primary = %+v", k)
	}
	k = kpiByName(t, p, "No. of Suspensions – EHCPs")
	if k.Define.Target != "" || k.Define.National != "7.78 (rate)" || k.Values[0] != (domain.RecordKpiValue{Period: "Spring 23", Value: "-"}) {
		t.Errorf("suspensions = %+v", k)
	}
	k = kpiByName(t, p, "No. of Exclusions – SEN Support")
	if k.Define.National != "" || !reflect.DeepEqual(k.Values, []domain.RecordKpiValue{{Period: "HT1 23/24", Value: "HT 1-3 = 29"}}) {
		t.Errorf("exclusions = %+v", k)
	}
	k = kpiByName(t, p, "SALT - Total number of referrals received")
	if k.Define.Direction != "" || k.Define.Priority != "3" {
		t.Errorf("SALT = %+v", k)
	}
	tbc := 0
	for _, k := range p.Kpis {
		if _, err := domain.ParseDirection(k.Define.Direction); err != nil {
			t.Errorf("%q: direction %q", k.Define.Name, k.Define.Direction)
		}
		for _, v := range k.Values {
			if v.Value == "TBC" {
				tbc++
			}
		}
	}
	if tbc == 0 {
		t.Error("no TBC value kept")
	}
}

func TestBCPRagScheme(t *testing.T) {
	p := readBCP(t)
	want := []domain.RagSchemeRow{
		{Code: "R", Description: "High risk – action not started yet but expected it to have commenced / escalation required due to performance concerns /significant delay – action is a worry", Count: "2", Percent: "1%", Direction: "↓"},
		{Code: "A", Description: "Significant risk – plan in place, action started but further work required to ensure improvement.", Count: "30", Percent: "22%", Direction: "↓"},
		{Code: "P", Description: "On track – running to plan and within timescale, performance has improved against the plan.", Count: "96", Percent: "70%", Direction: "↑"},
		{Code: "G", Description: "Actioned – implemented and embedded.", Count: "7", Percent: "5%", Direction: "↑"},
		{Code: "C", Description: "Completed and can be removed from plan.", Count: "0", Percent: "0%", Direction: "↔"},
		{Code: "NS", Description: "Not Started", Count: "3", Percent: "2%", Direction: "↓"},
	}
	if !reflect.DeepEqual(p.Create.RagScheme, want) {
		t.Errorf("rag scheme =\n%+v\nwant\n%+v", p.Create.RagScheme, want)
	}
}

// TestBCPCommandsDecide applies every command to fresh domain state: the
// domain accepts all of them.
func TestBCPCommandsDecide(t *testing.T) {
	p := readBCP(t)
	if _, err := domain.Decide(domain.PlanState{}, p.Create); err != nil {
		t.Errorf("CreatePlan: %v", err)
	}
	for _, c := range p.Priorities {
		if _, err := domain.Decide(domain.PriorityState{}, c); err != nil {
			t.Errorf("priority %s: %v", c.Number, err)
		}
	}
	for _, c := range p.Actions {
		if _, err := domain.Decide(domain.ActionState{}, c); err != nil {
			t.Errorf("action %s: %v", c.Ref, err)
		}
	}
	for _, k := range p.Kpis {
		var s domain.State = domain.KpiState{}
		evs, err := domain.Decide(s, k.Define)
		if err != nil {
			t.Errorf("kpi %q: %v", k.Define.Name, err)
			continue
		}
		for seq, cmd := range append([]domain.Command{}, commands(k.Values)...) {
			for _, e := range evs {
				s = domain.Evolve(s, domain.Envelope{Sequence: uint64(seq + 1), Event: e})
			}
			if evs, err = domain.Decide(s, cmd); err != nil || len(evs) != 1 {
				t.Errorf("kpi %q %+v: %v (%d events)", k.Define.Name, cmd, err, len(evs))
			}
		}
	}
}

func commands(vs []domain.RecordKpiValue) []domain.Command {
	out := make([]domain.Command, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// writeWorkbook builds a workbook from the CSV files in dir, one sheet per
// file, every cell a string as written.
func writeWorkbook(t *testing.T, dir, out string) {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, name := range []string{"actions", "priorities", "kpis", "rag-scheme"} {
		data, err := os.ReadFile(filepath.Join(dir, name+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if err := f.SetSheetName("Sheet1", name); err != nil {
				t.Fatal(err)
			}
		} else if _, err := f.NewSheet(name); err != nil {
			t.Fatal(err)
		}
		for r, rec := range recs {
			cells := make([]any, len(rec))
			for j, c := range rec {
				cells[j] = c
			}
			axis, _ := excelize.CoordinatesToCellName(1, r+1)
			if err := f.SetSheetRow(name, axis, &cells); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := f.SaveAs(out); err != nil {
		t.Fatal(err)
	}
}

func TestBCPWorkbookEqualsCSV(t *testing.T) {
	fromCSV := readBCP(t)
	book := filepath.Join(t.TempDir(), "plan.xlsx")
	writeWorkbook(t, bcpDir, book)
	fromXLSX, err := ReadPath(book, bcpOpts)
	if err != nil {
		t.Fatalf("ReadPath(xlsx): %v", err)
	}
	if len(fromXLSX.Problems) != len(fromCSV.Problems) {
		t.Fatalf("xlsx: %d problems, csv %d", len(fromXLSX.Problems), len(fromCSV.Problems))
	}
	for i := range fromXLSX.Problems {
		if got := fromXLSX.Problems[i].File; got != "plan.xlsx:actions" {
			t.Errorf("xlsx problem %d file = %q", i, got)
		}
		fromXLSX.Problems[i].File = fromCSV.Problems[i].File
	}
	if !reflect.DeepEqual(fromXLSX, fromCSV) {
		for i := range fromCSV.Actions {
			if i < len(fromXLSX.Actions) && !reflect.DeepEqual(fromCSV.Actions[i], fromXLSX.Actions[i]) {
				t.Errorf("action %s differs:\ncsv  %#v\nxlsx %#v", fromCSV.Actions[i].Ref, fromCSV.Actions[i], fromXLSX.Actions[i])
			}
		}
		t.Fatalf("the workbook's plan differs from the CSV folder's")
	}
	// The same through ReadFiles, as the server receives it.
	data, err := os.ReadFile(book)
	if err != nil {
		t.Fatal(err)
	}
	viaFiles, err := ReadFiles(map[string][]byte{"plan.xlsx": data}, bcpOpts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range viaFiles.Problems {
		viaFiles.Problems[i].File = fromCSV.Problems[i].File
	}
	if !reflect.DeepEqual(viaFiles, fromCSV) {
		t.Errorf("ReadFiles(xlsx) differs from the CSV folder's plan")
	}
}

func TestBCPReadFilesEqualsReadPath(t *testing.T) {
	files := map[string][]byte{}
	for _, n := range []string{"actions.csv", "priorities.csv", "kpis.csv", "rag-scheme.csv"} {
		data, err := os.ReadFile(filepath.Join(bcpDir, n))
		if err != nil {
			t.Fatal(err)
		}
		files[n] = data
	}
	p, err := ReadFiles(files, bcpOpts)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, readBCP(t)) {
		t.Error("ReadFiles differs from ReadPath")
	}
	// Importing is deterministic.
	q, _ := ReadFiles(files, bcpOpts)
	if !reflect.DeepEqual(p, q) {
		t.Error("two reads differ")
	}
}
