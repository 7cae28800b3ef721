package importer

import (
	"bytes"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/xuri/excelize/v2"

	"github.com/sendtrail/sendtrail/domain"
)

const (
	prioCSV = "Number,Title,Summary,Parent/Carer voice\r\n" +
		"1,Leadership,Lead well,Be accountable\r\n" +
		"2,Communication,Talk,Listen\r\n"
	actionsHeader = "Priority,Ref,Origin,Action,Lead,Deadline,RAG,Success measures,Progress to date,Impact to date\r\n"
	kpisHeader    = "Priority,Indicator,Required direction,Period,Value,Target,National comparator\r\n"
	schemeCSV     = "Code,Description,Count,Percent,Direction\r\nR,High risk,2,1%,↓\r\nNS,Not Started,3,2%,↓\r\n"
)

// actionRow returns a valid actions.csv record for ref under priority 1
// unless changed by kv pairs (column → value).
func actionRow(ref string, kv ...string) string {
	cells := map[string]string{
		"Priority": "1. Leadership", "Ref": ref, "Origin": "WSoA", "Action": "Do " + ref,
		"Lead": "Jude Nash – SEND Service Manager", "Deadline": "30/04/24", "RAG": "",
		"Success measures": "", "Progress to date": "", "Impact to date": "",
	}
	for i := 0; i+1 < len(kv); i += 2 {
		cells[kv[i]] = kv[i+1]
	}
	out := make([]string, 0, 10)
	for _, c := range columns[tActions] {
		v := cells[c]
		if strings.ContainsAny(v, ",\"\n") {
			v = `"` + strings.ReplaceAll(v, `"`, `""`) + `"`
		}
		out = append(out, v)
	}
	return strings.Join(out, ",") + "\r\n"
}

func files(actions string, extra ...string) map[string][]byte {
	m := map[string][]byte{"priorities.csv": []byte(prioCSV), "actions.csv": []byte(actions)}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = []byte(extra[i+1])
	}
	return m
}

func read(t *testing.T, fs map[string][]byte) *Plan {
	t.Helper()
	p, err := ReadFiles(fs, Options{Slug: "test", Title: "Test"})
	if err != nil {
		t.Fatalf("ReadFiles: %v", err)
	}
	return p
}

func TestGoodSmallPlan(t *testing.T) {
	bom := "\xef\xbb\xbf"
	p := read(t, files(bom+actionsHeader+actionRow("1.1")+actionRow("2.1", "Priority", "2. Communication", "RAG", "a", "Deadline", "1/5/2024"),
		"kpis.csv", kpisHeader+"1. Leadership,Attendance,▲,Dec-23,TBC,100%,n/a\r\n1. Leadership,Attendance,▲,Jan-24,90%,100%,n/a\r\n",
		"rag-scheme.csv", schemeCSV))
	if len(p.Problems) != 0 {
		t.Fatalf("problems: %v", p.Problems)
	}
	if err := p.Err(Options{}); err != nil {
		t.Fatalf("Err = %v", err)
	}
	want := []domain.AddAction{
		{Ref: "1.1", Priority: "1", Origin: "WSoA", Text: "Do 1.1", Leads: []domain.Lead{{Name: "Jude Nash", Role: "SEND Service Manager"}},
			LeadsRaw: "Jude Nash – SEND Service Manager", Deadline: "2024-04-30"},
		{Ref: "2.1", Priority: "2", Origin: "WSoA", Text: "Do 2.1", Leads: []domain.Lead{{Name: "Jude Nash", Role: "SEND Service Manager"}},
			LeadsRaw: "Jude Nash – SEND Service Manager", Deadline: "2024-05-01", Rag: "A", RagRaw: "a"},
	}
	if !reflect.DeepEqual(p.Actions, want) {
		t.Errorf("actions =\n%+v\nwant\n%+v", p.Actions, want)
	}
	if len(p.Kpis) != 1 || len(p.Kpis[0].Values) != 2 || p.Kpis[0].Define.Priority != "1" {
		t.Errorf("kpis = %+v", p.Kpis)
	}
	if len(p.Create.RagScheme) != 2 {
		t.Errorf("rag scheme = %+v", p.Create.RagScheme)
	}
}

// TestProblems checks that each kind of bad input gives one precise problem.
func TestProblems(t *testing.T) {
	big := make([]byte, MaxFileSize+1)
	copy(big, actionsHeader)
	for i := len(actionsHeader); i < len(big); i++ {
		big[i] = 'x'
	}
	var many strings.Builder
	many.WriteString(actionsHeader)
	for i := 1; i <= MaxActions+1; i++ {
		many.WriteString(actionRow(fmt.Sprintf("1.%d", i)))
	}

	tests := []struct {
		name  string
		files map[string][]byte
		want  Problem // Message is matched as a substring
		notes string  // a substring of some note, if set
	}{
		{"missing column", files(strings.Replace(actionsHeader, "Deadline,", "", 1) + "1. Leadership,1.1,WSoA,Do,Jude,,,,\r\n"),
			Problem{File: "actions.csv", Row: 1, Column: "Deadline", Message: `required column "Deadline" is missing`}, ""},
		{"column twice", files(strings.TrimSuffix(actionsHeader, "\r\n") + ", REF\r\n"),
			Problem{File: "actions.csv", Row: 1, Column: "REF", Value: "REF", Message: `column "REF" appears twice (columns B and K)`}, ""},
		{"duplicate ref", files(actionsHeader + actionRow("1.1") + actionRow("1.2") + actionRow("1.1")),
			Problem{File: "actions.csv", Row: 4, Column: "Ref", Ref: "1.1", Value: "1.1", Message: "ref 1.1 is used twice: rows 2 and 4"}, ""},
		{"unknown priority", files(actionsHeader + actionRow("9.1", "Priority", "9. Nine")),
			Problem{File: "actions.csv", Row: 2, Column: "Priority", Ref: "9.1", Value: "9. Nine", Message: "priority 9 is not one of the plan's priority areas (1, 2)"}, ""},
		{"priority without number", files(actionsHeader + actionRow("1.1", "Priority", "Leadership")),
			Problem{File: "actions.csv", Row: 2, Column: "Priority", Ref: "1.1", Value: "Leadership", Message: "does not start with a priority number"}, ""},
		{"ref prefix", files(actionsHeader + actionRow("2.1")),
			Problem{File: "actions.csv", Row: 2, Column: "Ref", Ref: "2.1", Value: "2.1", Message: `ref 2.1 is listed under priority 1 ("1. Leadership"), but its number says priority 2`, Flaggable: true}, ""},
		{"ref missing", files(actionsHeader + actionRow("")),
			Problem{File: "actions.csv", Row: 2, Column: "Ref", Message: "Ref is required"}, ""},
		{"ref invalid", files(actionsHeader + actionRow("1 1")),
			Problem{File: "actions.csv", Row: 2, Column: "Ref", Ref: "1 1", Value: "1 1", Message: `"1 1" is not an action reference`}, ""},
		{"action empty", files(actionsHeader + actionRow("1.1", "Action", "  ")),
			Problem{File: "actions.csv", Row: 2, Column: "Action", Ref: "1.1", Message: "Action is required"}, ""},
		{"lead empty", files(actionsHeader + actionRow("1.1", "Lead", "")),
			Problem{File: "actions.csv", Row: 2, Column: "Lead", Ref: "1.1", Message: "no lead is named", Flaggable: true}, ""},
		{"impossible date", files(actionsHeader + actionRow("1.1", "Deadline", "29/02/23")),
			Problem{File: "actions.csv", Row: 2, Column: "Deadline", Ref: "1.1", Value: "29/02/23", Message: "29/02/23 is not a date: February has 28 days", Flaggable: true}, ""},
		{"month 13", files(actionsHeader + actionRow("1.1", "Deadline", "01/13/24")),
			Problem{File: "actions.csv", Row: 2, Column: "Deadline", Ref: "1.1", Value: "01/13/24", Message: "01/13/24 is not a date: there is no month 13", Flaggable: true}, ""},
		{"bad milestone", files(actionsHeader + actionRow("1.1", "Deadline", "30/04/24 draft\n31/04/24 final")),
			Problem{File: "actions.csv", Row: 2, Column: "Deadline", Ref: "1.1", Value: "30/04/24 draft\n31/04/24 final", Message: "31/04/24 is not a date: April has 30 days", Flaggable: true}, ""},
		{"bad rag", files(actionsHeader + actionRow("1.1", "RAG", "Amber")),
			Problem{File: "actions.csv", Row: 2, Column: "RAG", Ref: "1.1", Value: "Amber", Message: `"Amber" is not a RAG code`, Flaggable: true}, ""},
		{"broken quoting", files(actionsHeader + actionRow("1.1") + "1. Leadership,1.2,WSoA,\"Do \"this\" now\",Jude,30/04/24,,,,\r\n" + actionRow("1.3")),
			Problem{File: "actions.csv", Row: 3, Message: "bad CSV: a quoted cell is not closed properly"}, ""},
		{"bare quote", files(actionsHeader + actionRow("1.1") + "1. Leadership,1.2,WSoA,Do \"this\" now,Jude,30/04/24,,,,\r\n"),
			Problem{File: "actions.csv", Row: 3, Message: `bad CSV: a " appears inside an unquoted cell`}, ""},
		{"unclosed quote", files(actionsHeader + actionRow("1.1") + "1. Leadership,1.2,WSoA,\"Do this,Jude,30/04/24,,,,\r\n" + actionRow("1.3")),
			Problem{File: "actions.csv", Row: 3, Message: "bad CSV"}, ""},
		{"invalid UTF-8", files(actionsHeader + actionRow("1.1") + actionRow("1.2", "Action", "caf\xe9")),
			Problem{File: "actions.csv", Row: 3, Column: "Action", Value: "caf\uFFFD", Message: "not valid UTF-8 (at byte 4 of the cell)"}, ""},
		{"short row", files(actionsHeader + "1. Leadership,1.1,WSoA\r\n"),
			Problem{File: "actions.csv", Row: 2, Message: "the row has 3 cells, the header 10"}, ""},
		{"cell without column", files(actionsHeader + strings.TrimSuffix(actionRow("1.1"), "\r\n") + ",stray\r\n"),
			Problem{File: "actions.csv", Row: 2, Column: "K", Value: "stray", Message: "column K has no name"}, ""},
		{"empty file", files(""),
			Problem{File: "actions.csv", Row: 1, Message: "the file is empty"}, ""},
		{"blank file", files("\xef\xbb\xbf \r\n\r\n"),
			Problem{File: "actions.csv", Row: 1, Message: "the file is empty"}, ""},
		{"file too large", files(string(big)),
			Problem{File: "actions.csv", Message: "the file is over 20.0 MiB; at most 20.0 MiB is accepted"}, ""},
		{"too many actions", files(many.String()),
			Problem{File: "actions.csv", Row: MaxActions + 2, Message: "more than 10000 actions: at most 10000 are accepted"}, ""},
		{"priority twice", map[string][]byte{"priorities.csv": []byte(prioCSV + "1,Again,,\r\n"), "actions.csv": []byte(actionsHeader)},
			Problem{File: "priorities.csv", Row: 4, Column: "Number", Value: "1", Message: "priority 1 appears twice: rows 2 and 4"}, ""},
		{"priority number", map[string][]byte{"priorities.csv": []byte(prioCSV + "X,Again,,\r\n"), "actions.csv": []byte(actionsHeader)},
			Problem{File: "priorities.csv", Row: 4, Column: "Number", Value: "X", Message: `"X" is not a priority number`}, ""},
		{"priority title", map[string][]byte{"priorities.csv": []byte(prioCSV + "3,,,\r\n"), "actions.csv": []byte(actionsHeader)},
			Problem{File: "priorities.csv", Row: 4, Column: "Title", Message: "Title is required"}, ""},
		{"rag scheme code", files(actionsHeader, "rag-scheme.csv", schemeCSV+"X,Unknown,0,0%,↔\r\n"),
			Problem{File: "rag-scheme.csv", Row: 4, Column: "Code", Value: "X", Message: `"X" is not one of the scheme's codes R, A, P, G, C, NS`}, ""},
		{"rag scheme twice", files(actionsHeader, "rag-scheme.csv", schemeCSV+"r,Again,0,0%,↔\r\n"),
			Problem{File: "rag-scheme.csv", Row: 4, Column: "Code", Value: "r", Message: "code R appears twice: rows 2 and 4"}, ""},
		{"kpi target differs", files(actionsHeader, "kpis.csv", kpisHeader+"1. L,Attendance,▲,Dec-23,1,100%,n/a\r\n1. L,Attendance,▲,Jan-24,2,90%,n/a\r\n"),
			Problem{File: "kpis.csv", Row: 3, Column: "Target", Value: "90%", Message: `Target "90%" differs from "100%" in row 2 for the same indicator "Attendance"`}, ""},
		{"kpi direction differs", files(actionsHeader, "kpis.csv", kpisHeader+"1. L,Attendance,▲,Dec-23,1,100%,n/a\r\n1. L,Attendance,,Jan-24,2,100%,n/a\r\n"),
			Problem{File: "kpis.csv", Row: 3, Column: "Required direction", Message: `Required direction "" differs from "▲"`}, ""},
		{"kpi bad direction", files(actionsHeader, "kpis.csv", kpisHeader+"1. L,Attendance,sideways,Dec-23,1,100%,n/a\r\n"),
			Problem{File: "kpis.csv", Row: 2, Column: "Required direction", Value: "sideways", Message: `"sideways" is not a direction`}, ""},
		{"kpi period twice", files(actionsHeader, "kpis.csv", kpisHeader+"1. L,Attendance,▲,Dec-23,1,100%,n/a\r\n1. L,Attendance,▲,Dec-23,2,100%,n/a\r\n"),
			Problem{File: "kpis.csv", Row: 3, Column: "Value", Value: "2", Message: `"Attendance" has two values for Dec-23: "1" in row 2 and "2" here`}, ""},
		{"kpi two priorities", files(actionsHeader, "kpis.csv", kpisHeader+"1. L,Attendance,▲,Dec-23,1,100%,n/a\r\n2. C,attendance ,▲,Jan-24,2,100%,n/a\r\n"),
			Problem{File: "kpis.csv", Row: 3, Column: "Priority", Value: "2. C", Message: `indicator "Attendance" is under priority 2 here but under priority 1 in row 2`}, ""},
		{"kpi unknown priority", files(actionsHeader, "kpis.csv", kpisHeader+"7. L,Attendance,▲,Dec-23,1,100%,n/a\r\n"),
			Problem{File: "kpis.csv", Row: 2, Column: "Priority", Value: "7. L", Message: "priority 7 is not one of the plan's priority areas (1, 2)"}, ""},
		{"kpi no period", files(actionsHeader, "kpis.csv", kpisHeader+"1. L,Attendance,▲,,1,100%,n/a\r\n"),
			Problem{File: "kpis.csv", Row: 2, Column: "Period", Message: "Period is required"}, ""},
		{"text too long", files(actionsHeader + actionRow("1.1", "Origin", strings.Repeat("o", 2001))),
			Problem{File: "actions.csv", Row: 2, Column: "Origin", Ref: "1.1", Value: strings.Repeat("o", 60) + "…", Message: "Origin is 2001 characters long; at most 2000 are allowed"}, ""},
		{"unknown column is a note", files(strings.TrimSuffix(actionsHeader, "\r\n") + ",Notes\r\n" + strings.TrimSuffix(actionRow("1.1"), "\r\n") + ",x\r\n"),
			Problem{}, `actions.csv: column "Notes" is not one of the plan's columns and is ignored`},
		{"empty origin is a note", files(actionsHeader + actionRow("1.1", "Origin", "")),
			Problem{}, "1.1: Origin is empty"},
		{"unknown file is a note", files(actionsHeader+actionRow("1.1"), "README.md", "hi"),
			Problem{}, "README.md ignored"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := read(t, tc.files)
			if tc.notes != "" {
				found := false
				for _, n := range p.Notes {
					found = found || strings.Contains(n, tc.notes)
				}
				if !found {
					t.Errorf("notes %q lack %q", p.Notes, tc.notes)
				}
			}
			if tc.want == (Problem{}) {
				if len(p.Problems) != 0 {
					t.Errorf("problems: %v", p.Problems)
				}
				return
			}
			if len(p.Problems) != 1 {
				for _, pr := range p.Problems {
					t.Log(pr)
				}
				t.Fatalf("%d problems, want 1", len(p.Problems))
			}
			got := p.Problems[0]
			if !strings.Contains(got.Message, tc.want.Message) {
				t.Errorf("message %q, want it to contain %q", got.Message, tc.want.Message)
			}
			got.Message = tc.want.Message
			if got != tc.want {
				t.Errorf("problem\n%#v\nwant\n%#v", got, tc.want)
			}
			err := p.Err(Options{AcceptFlagged: true})
			if tc.want.Flaggable != (err == nil) {
				t.Errorf("Err(AcceptFlagged) = %v with flaggable %v", err, tc.want.Flaggable)
			}
			if err := p.Err(Options{}); err == nil || !strings.Contains(err.Error(), p.Problems[0].String()) {
				t.Errorf("Err() = %v, want it to list %q", err, p.Problems[0])
			}
		})
	}
}

func TestFlaggedValues(t *testing.T) {
	p := read(t, files(actionsHeader+
		actionRow("1.1", "RAG", "Amber")+
		actionRow("2.1", "Lead", "")+
		actionRow("1.3", "Deadline", "next review by March")))
	if len(p.Problems) != 4 || len(p.Actions) != 3 {
		t.Fatalf("problems %v, %d actions", p.Problems, len(p.Actions))
	}
	want := [][]domain.Flag{
		{{Field: "rag", Raw: "Amber", Message: p.Problems[0].Message}},
		{{Field: "ref", Raw: "2.1", Message: `ref 2.1 is listed under priority 1 ("1. Leadership"), but its number says priority 2`},
			{Field: "leads", Raw: "", Message: "no lead is named: every action needs a lead"}},
		{{Field: "deadline", Raw: "next review by March", Message: p.Problems[3].Message}},
	}
	for i, a := range p.Actions {
		if !reflect.DeepEqual(a.Flags, want[i]) {
			t.Errorf("%s flags = %+v, want %+v", a.Ref, a.Flags, want[i])
		}
	}
	if a := p.Actions[0]; a.Rag != "" || a.RagRaw != "Amber" {
		t.Errorf("1.1 rag %q raw %q", a.Rag, a.RagRaw)
	}
	if a := p.Actions[2]; a.Deadline != "" || a.DeadlineRaw != "next review by March" || len(a.Milestones) != 1 {
		t.Errorf("1.3 deadline %q raw %q milestones %+v", a.Deadline, a.DeadlineRaw, a.Milestones)
	}
	if err := p.Err(Options{AcceptFlagged: true}); err != nil {
		t.Errorf("Err(AcceptFlagged) = %v", err)
	}
}

func TestRowNumbers(t *testing.T) {
	// A multi-line cell is one row; a blank line is an empty row.
	p := read(t, files(actionsHeader+
		actionRow("1.1", "Success measures", "one\ntwo\nthree")+
		"\r\n"+
		actionRow("1.2", "Deadline", "31/04/24")))
	if len(p.Problems) != 1 || p.Problems[0].Row != 4 {
		t.Fatalf("problems %v, want one on row 4", p.Problems)
	}
	// LF line ends, and a CRLF inside a quoted cell, read the same.
	lf := strings.ReplaceAll(actionsHeader+actionRow("1.1")+actionRow("1.2", "Deadline", "31/04/24"), "\r\n", "\n")
	p = read(t, files(lf))
	if len(p.Problems) != 1 || p.Problems[0].Row != 3 {
		t.Fatalf("problems %v, want one on row 3", p.Problems)
	}
	// After a syntax error the next records are read, numbered as before.
	p = read(t, files(actionsHeader+actionRow("1.1")+
		"1. Leadership,1.2,WSoA,\"Do \"this\" now\",Jude,30/04/24,,,,\r\n"+
		actionRow("1.3", "Deadline", "31/04/24", "Success measures", "a\nb")+
		actionRow("1.4", "Deadline", "31/04/24")))
	if len(p.Problems) != 3 || p.Problems[0].Row != 3 || p.Problems[1].Row != 4 || p.Problems[2].Row != 5 || len(p.Actions) != 3 {
		t.Fatalf("problems %v, %d actions; want rows 3, 4, 5 and 3 actions", p.Problems, len(p.Actions))
	}
	p = read(t, files(actionsHeader+"1. Leadership,1.1,WSoA,\"line one\r\nline two\",Jude,30/04/24,,,,\r\n"))
	if len(p.Problems) != 0 || p.Actions[0].Text != "line one\nline two" {
		t.Fatalf("problems %v, text %q", p.Problems, p.Actions[0].Text)
	}
}

func TestCellsTrimmedOnly(t *testing.T) {
	p := read(t, files(actionsHeader+actionRow("1.1", "Action", "  two  spaces\n kept \n", "Origin", "\tWSoA ")))
	if a := p.Actions[0]; a.Text != "two  spaces\n kept" || a.Origin != "WSoA" {
		t.Errorf("text %q origin %q", a.Text, a.Origin)
	}
}

func TestHeaderCaseAndSpace(t *testing.T) {
	h := " priority ,REF,origin,Action,lead,DEADLINE,rag,Success  Measures,progress to date,Impact To Date\r\n"
	p := read(t, files(h+actionRow("1.1", "Deadline", "31/04/24")))
	if len(p.Problems) != 1 || p.Problems[0].Column != "DEADLINE" {
		t.Fatalf("problems %v, want one naming the column as written", p.Problems)
	}
	if len(p.Actions) != 1 || p.Actions[0].Text != "Do 1.1" {
		t.Errorf("actions %+v", p.Actions)
	}
}

func TestInputErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string][]byte
		want  string
	}{
		{"nothing", map[string][]byte{}, "no plan files"},
		{"no actions", map[string][]byte{"priorities.csv": []byte(prioCSV)}, "missing actions.csv"},
		{"no priorities", map[string][]byte{"actions.csv": []byte(actionsHeader)}, "missing priorities.csv"},
		{"not a zip", map[string][]byte{"plan.xlsx": []byte("not a workbook")}, "plan.xlsx is not a readable .xlsx workbook"},
		{"both", map[string][]byte{"plan.xlsx": nil, "actions.csv": nil}, "either CSV files or one workbook"},
		{"two workbooks", map[string][]byte{"a.xlsx": nil, "b.xlsx": nil}, "give one workbook"},
		{"xls", map[string][]byte{"plan.xls": nil}, "only .xlsx workbooks"},
		{"same file twice", map[string][]byte{"a/actions.csv": nil, "b/Actions.CSV": nil, "priorities.csv": nil}, "are both actions.csv"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ReadFiles(tc.files, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) || p != nil {
				t.Fatalf("ReadFiles = %v, %v; want an error containing %q", p, err, tc.want)
			}
			if domain.ErrorCode(err) != domain.EINVALID {
				t.Errorf("code %q", domain.ErrorCode(err))
			}
		})
	}
	if _, err := ReadPath(filepath.Join(t.TempDir(), "nope"), Options{}); err == nil {
		t.Error("ReadPath of a missing path: no error")
	}
	if _, err := ReadPath(filepath.Join(bcpDir, "actions.csv"), Options{}); err == nil || !strings.Contains(err.Error(), "give a folder") {
		t.Errorf("ReadPath of a CSV file: %v", err)
	}
	if _, err := ReadXLSX(bcpDir, Options{}); err == nil {
		t.Error("ReadXLSX of a folder: no error")
	}
}

func TestReadFS(t *testing.T) {
	fsys := fstest.MapFS{
		"plan/actions.csv":    {Data: []byte(actionsHeader + actionRow("1.1"))},
		"plan/priorities.csv": {Data: []byte(prioCSV)},
		"plan/README.md":      {Data: []byte("ignored")},
	}
	p, err := ReadFS(fsys, "plan", Options{})
	if err != nil || len(p.Actions) != 1 || len(p.Problems) != 0 {
		t.Fatalf("ReadFS = %+v, %v", p, err)
	}
	if !contains(p.Notes, "no kpis table: the plan has no indicators") {
		t.Errorf("notes %q", p.Notes)
	}
}

func workbook(t *testing.T, sheets map[string][][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	first := true
	for name, rows := range sheets {
		if first {
			if err := f.SetSheetName("Sheet1", name); err != nil {
				t.Fatal(err)
			}
			first = false
		} else if _, err := f.NewSheet(name); err != nil {
			t.Fatal(err)
		}
		for r, row := range rows {
			axis, _ := excelize.CoordinatesToCellName(1, r+1)
			if err := f.SetSheetRow(name, axis, &row); err != nil {
				t.Fatal(err)
			}
		}
	}
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestWorkbook(t *testing.T) {
	header := []any{"Priority", "Ref", "Origin", "Action", "Lead", "Deadline", "RAG", "Success measures", "Progress to date", "Impact to date"}
	prios := [][]any{{"Number", "Title", "Summary", "Parent/Carer voice"}, {"1", "Leadership"}}
	data := workbook(t, map[string][][]any{
		"Actions": {
			header,
			{"1. Leadership", "1.1", "WSoA", "Do", "Jude Nash", "31/04/24"},
			{},
			{"1. Leadership", "1.2", "WSoA", "Do", "Jude Nash", "30/04/24", "NS"},
		},
		"priorities": prios,
		"Notes":      {{"anything"}},
	})
	p, err := ReadFiles(map[string][]byte{"uploads/My Plan.xlsx": data}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Problems) != 1 || p.Problems[0].String() != "My Plan.xlsx:Actions row 2, Deadline (ref 1.1): 31/04/24 is not a date: April has 30 days" {
		t.Fatalf("problems %v", p.Problems)
	}
	if len(p.Actions) != 2 || p.Actions[1].Rag != "NS" || p.Actions[1].Deadline != "2024-04-30" {
		t.Errorf("actions %+v", p.Actions)
	}
	if !contains(p.Notes, `My Plan.xlsx: sheet "Notes" is not one of actions, priorities, kpis, rag-scheme and is ignored`) {
		t.Errorf("notes %q", p.Notes)
	}

	// A missing required sheet is an error.
	data = workbook(t, map[string][][]any{"priorities": prios})
	if _, err := ReadFiles(map[string][]byte{"plan.xlsx": data}, Options{}); err == nil || !strings.Contains(err.Error(), "has no actions sheet") {
		t.Errorf("no actions sheet: %v", err)
	}
	// A sheet missing a column.
	data = workbook(t, map[string][][]any{"actions": {header[:5]}, "priorities": prios})
	p, err = ReadFiles(map[string][]byte{"plan.xlsx": data}, Options{})
	if err != nil || len(p.Problems) != 5 || p.Problems[0].File != "plan.xlsx:actions" || p.Problems[0].Column != "Deadline" {
		t.Errorf("missing columns: %v %v", p, err)
	}
	// An oversized workbook is a problem.
	p, err = ReadFiles(map[string][]byte{"plan.xlsx": make([]byte, MaxFileSize+1)}, Options{})
	if err != nil || len(p.Problems) != 1 || !strings.Contains(p.Problems[0].Message, "the workbook is over 20.0 MiB") {
		t.Errorf("oversized workbook: %+v %v", p, err)
	}
}

// TestWorkbookDateCells checks a deadline stored as a date (a number with a
// date format), as Excel saves a typed-in date.
func TestWorkbookDateCells(t *testing.T) {
	f := excelize.NewFile()
	defer f.Close()
	_ = f.SetSheetName("Sheet1", "actions")
	_ = f.SetSheetRow("actions", "A1", &[]any{"Priority", "Ref", "Origin", "Action", "Lead", "Deadline", "RAG", "Success measures", "Progress to date", "Impact to date"})
	_ = f.SetSheetRow("actions", "A2", &[]any{"1. Leadership", "1.1", "WSoA", "Do", "Jude Nash", 45412}) // 2024-04-30
	_ = f.SetSheetRow("actions", "A3", &[]any{"1. Leadership", "1.2", "WSoA", "Do", "Jude Nash", 45413})
	for _, fmtID := range []struct {
		cell string
		id   int
	}{{"F2", 14}} {
		st, err := f.NewStyle(&excelize.Style{NumFmt: fmtID.id})
		if err != nil {
			t.Fatal(err)
		}
		_ = f.SetCellStyle("actions", fmtID.cell, fmtID.cell, st)
	}
	custom := "dd/mm/yyyy"
	st, err := f.NewStyle(&excelize.Style{CustomNumFmt: &custom})
	if err != nil {
		t.Fatal(err)
	}
	_ = f.SetCellStyle("actions", "F3", "F3", st)
	_, _ = f.NewSheet("priorities")
	_ = f.SetSheetRow("priorities", "A1", &[]any{"Number", "Title", "Summary", "Parent/Carer voice"})
	_ = f.SetSheetRow("priorities", "A2", &[]any{1, "Leadership"})
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	p, err := ReadFiles(map[string][]byte{"plan.xlsx": buf.Bytes()}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Problems) != 0 || len(p.Actions) != 2 || p.Actions[0].Deadline != "2024-04-30" || p.Actions[1].Deadline != "2024-05-01" {
		t.Fatalf("problems %v actions %+v", p.Problems, p.Actions)
	}
}

func TestProblemString(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "actions.csv", Row: 12, Column: "Deadline", Ref: "1.7", Message: "m"}, "actions.csv row 12, Deadline (ref 1.7): m"},
		{Problem{File: "actions.csv", Row: 12, Message: "m"}, "actions.csv row 12: m"},
		{Problem{File: "actions.csv", Row: 1, Column: "Deadline", Message: "m"}, "actions.csv row 1, Deadline: m"},
		{Problem{File: "plan.xlsx", Message: "m"}, "plan.xlsx: m"},
	}
	for _, tc := range tests {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("%+v.String() = %q, want %q", tc.p, got, tc.want)
		}
	}
	if (Problem{Flaggable: true}).Severity() != SeverityFlag || (Problem{}).Severity() != SeverityError {
		t.Error("Severity")
	}
}

func TestErr(t *testing.T) {
	flag := Problem{File: "a.csv", Row: 2, Message: "flag", Flaggable: true}
	hard := Problem{File: "a.csv", Row: 3, Message: "hard"}
	tests := []struct {
		problems []Problem
		accept   bool
		first    string // "" = nil error
	}{
		{nil, false, ""},
		{[]Problem{flag}, true, ""},
		{[]Problem{flag}, false, "the plan cannot be imported: 1 problem, all flaggable (import them as flags with --accept-flagged)"},
		{[]Problem{hard}, true, "the plan cannot be imported: 1 problem, none flaggable"},
		{[]Problem{flag, hard}, true, "the plan cannot be imported: 2 problems: 1 flaggable (accepted), 1 to fix"},
		{[]Problem{flag, hard}, false, "the plan cannot be imported: 2 problems: 1 flaggable (--accept-flagged imports them as flags), 1 to fix"},
	}
	for _, tc := range tests {
		p := &Plan{Problems: tc.problems}
		err := p.Err(Options{AcceptFlagged: tc.accept})
		if tc.first == "" {
			if err != nil {
				t.Errorf("%v accept=%v: %v", tc.problems, tc.accept, err)
			}
			continue
		}
		e, ok := err.(*domain.Error)
		if !ok || e.Code != domain.EINVALID {
			t.Fatalf("Err = %#v", err)
		}
		lines := strings.Split(e.Message, "\n")
		if lines[0] != tc.first || len(lines) != 1+len(tc.problems) {
			t.Errorf("message %q, want first line %q and one line per problem", e.Message, tc.first)
		}
		for i, pr := range tc.problems {
			if lines[i+1] != pr.String() {
				t.Errorf("line %d = %q", i+1, lines[i+1])
			}
		}
	}
}
