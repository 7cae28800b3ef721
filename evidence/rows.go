package evidence

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/sendtrail/sendtrail/domain"
)

// table is one spreadsheet: a CSV file and a sheet of evidence.xlsx with
// the same header and rows.
type table struct {
	file   string // in data/
	sheet  string
	header []string
	widths []float64 // column widths in the sheet
}

// The spreadsheets, in the order the sheets appear after Summary.
var (
	actionsTable = table{file: "actions.csv", sheet: "Actions",
		header: []string{"Ref", "Priority", "Origin", "Action", "Leads", "Deadline", "Original deadline", "Deadline as published",
			"Deadline moves", "RAG", "RAG meaning", "Trend as published", "Overdue on as-of date", "Success measures",
			"Progress to date", "Impact to date", "Withdrawn", "Withdrawn reason", "Open flags", "Last changed (business time)", "Version (stream sequence)"},
		widths: []float64{7, 28, 20, 60, 30, 12, 12, 14, 9, 6, 30, 9, 10, 40, 50, 40, 10, 30, 30, 20, 12}}
	deadlineTable = table{file: "deadline-changes.csv", sheet: "Deadline changes",
		header: []string{"Sequence", "Leaf", "Recorded at (UTC)", "Decided at (UTC)", "Ref", "Priority", "From", "To",
			"Days moved", "Counts as slippage", "Reason category", "Reason", "By", "By (id)", "By (role)"},
		widths: []float64{10, 8, 21, 21, 7, 28, 12, 12, 10, 10, 14, 50, 20, 16, 10}}
	ragTable = table{file: "rag-changes.csv", sheet: "RAG changes",
		header: []string{"Sequence", "Leaf", "Recorded at (UTC)", "Decided at (UTC)", "Ref", "Priority", "From", "To",
			"Direction", "Commentary", "By", "By (id)", "By (role)"},
		widths: []float64{10, 8, 21, 21, 7, 28, 6, 6, 11, 60, 20, 16, 10}}
	leadTable = table{file: "lead-changes.csv", sheet: "Lead changes",
		header: []string{"Sequence", "Leaf", "Recorded at (UTC)", "Decided at (UTC)", "Ref", "Priority", "From", "To",
			"Reason", "By", "By (id)", "By (role)"},
		widths: []float64{10, 8, 21, 21, 7, 28, 40, 40, 50, 20, 16, 10}}
	kpiTable = table{file: "kpi-values.csv", sheet: "KPI values",
		header: []string{"Indicator", "Priority", "Required direction", "Target", "National comparator", "Period", "Value",
			"First recorded value", "Corrections", "Correction history"},
		widths: []float64{50, 28, 10, 10, 12, 10, 10, 12, 10, 60}}
	summarySheet = "Summary"
)

// tables lists the spreadsheets in bundle order.
var tables = []*table{&actionsTable, &deadlineTable, &ragTable, &leadTable, &kpiTable}

// changeTables are the histories: one row per event of a kind.
var changeTables = []*table{&deadlineTable, &ragTable, &leadTable}

// stamp formats a time as the spreadsheets show it: RFC 3339 UTC to the
// second ("" for none).
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func leadsText(ls []domain.Lead) string {
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = l.String()
	}
	return strings.Join(parts, "; ")
}

// changeRow returns the history row an event makes, if it is a deadline
// move, a RAG change or a lead change.
func (v *view) changeRow(s step) (*table, []string) {
	a, ok := s.next.(domain.ActionState)
	if !ok {
		return nil, nil
	}
	env := s.env
	head := []string{strconv.FormatUint(env.Sequence, 10), strconv.FormatUint(s.leaf, 10), stamp(env.RecordedAt), stamp(env.OccurredAt),
		a.Ref(), v.priorityTitle(a.Priority())}
	by := []string{env.Actor.DisplayName, env.Actor.ID, string(env.Actor.Role)}
	switch e := env.Event.(type) {
	case domain.DeadlineMoved:
		days := ""
		if !e.From.IsZero() && !e.To.IsZero() {
			days = strconv.Itoa(e.From.DaysUntil(e.To))
		}
		slip := e.Category.IsSlip() && !e.From.IsZero() && !e.To.IsZero() && e.From.Before(e.To)
		row := append(head, e.From.String(), e.To.String(), days, yesNo(slip), e.Category.String(), e.Reason)
		return &deadlineTable, append(row, by...)
	case domain.RagChanged:
		row := append(head, e.From.String(), e.To.String(), ragDirection(e.From, e.To), e.Commentary)
		return &ragTable, append(row, by...)
	case domain.LeadsReassigned:
		row := append(head, leadsText(e.From), leadsText(e.To), e.Reason)
		return &leadTable, append(row, by...)
	}
	return nil, nil
}

// actionRow is an action as of the bundle's date.
func (v *view) actionRow(a domain.ActionState, day domain.Date) []string {
	var flags []string
	for _, f := range a.Flags() {
		flags = append(flags, fmt.Sprintf("%s: %s (%q)", f.Field, f.Message, f.Raw))
	}
	return []string{
		a.Ref(), v.priorityTitle(a.Priority()), a.Origin(), a.Text(), leadsText(a.Leads()),
		a.Deadline().String(), a.OriginalDeadline().String(), a.DeadlineRaw(), strconv.Itoa(a.DeadlineMoves()),
		a.Rag().String(), a.Rag().Description(), a.Trend(), yesNo(overdue(a, day)), a.SuccessMeasures(),
		a.Progress(), a.Impact(), yesNo(a.Withdrawn()), a.WithdrawnReason(), strings.Join(flags, "; "),
		stamp(a.LastChanged()), strconv.FormatUint(a.Version(), 10),
	}
}

// kpiRows are an indicator's values, one row a period.
func (v *view) kpiRows(k domain.KpiState) [][]string {
	d := k.Definition()
	dir := map[string]string{"up": "▲ higher is better", "down": "▼ lower is better"}[d.Direction.String()]
	head := []string{d.Name, v.priorityTitle(d.Priority), dir, d.Target, d.National}
	if len(k.Periods()) == 0 {
		return [][]string{append(head, "", "", "", "0", "")}
	}
	var out [][]string
	for _, p := range k.Periods() {
		val, _ := k.Value(p)
		cs := k.Corrections(p)
		first := val
		var hist []string
		for _, c := range cs {
			hist = append(hist, fmt.Sprintf("%s → %s: %s", c.Old, c.New, c.Reason))
		}
		if len(cs) > 0 {
			first = cs[0].Old
		}
		row := append(append([]string(nil), head...), p, val, first, strconv.Itoa(len(cs)), strings.Join(hist, "; "))
		out = append(out, row)
	}
	return out
}

// --- Excel safety ---

// plainNumber matches a cell that is only a number (with an optional sign
// and percent): Excel reads it as a number, never as a formula.
var plainNumber = regexp.MustCompile(`^[+-]?[0-9]+(\.[0-9]+)?%?$`)

// csvSafe makes a cell safe to open in a spreadsheet (OWASP CSV injection):
// a cell that starts with = + - @, a tab or a carriage return (or their
// full-width forms) is prefixed with a single quote, so that Excel and
// LibreOffice show it as text and never run it as a formula. A plain number
// ("-3", "+4.5%") is left as it is.
//
// Line breaks inside a cell are written as CRLF and read back as LF, so a
// cell's CR LF and lone CR are made LF first: what is read is what was
// meant.
func csvSafe(s string) string {
	if s == "" || plainNumber.MatchString(s) {
		return s
	}
	switch r, _ := utf8.DecodeRuneInString(s); r {
	case '=', '+', '-', '@', '\t', '\r', '＝', '＋', '－', '＠':
		s = "'" + s
	}
	if strings.IndexByte(s, '\r') >= 0 {
		s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	}
	return s
}

// xlsxMaxChars is the most a spreadsheet cell holds (UTF-16 code units).
const xlsxMaxChars = 32767

const truncatedNote = " …[truncated: the CSV has the full text]"

// xlsxCell fits a value in a cell: longer text is cut, with a note.
func xlsxCell(s string) string {
	if len(s) <= xlsxMaxChars/3 { // fast path: cannot exceed the limit
		return s
	}
	u := utf16.Encode([]rune(s))
	if len(u) <= xlsxMaxChars {
		return s
	}
	keep := xlsxMaxChars - len(utf16.Encode([]rune(truncatedNote)))
	if keep > 0 && utf16.IsSurrogate(rune(u[keep-1])) {
		keep--
	}
	return string(utf16.Decode(u[:keep])) + truncatedNote
}

// xlsxMaxRows bounds a sheet's data rows: Excel opens at most 1,048,576
// rows. A longer history is cut in the workbook, with a last row saying
// so; the CSV file always has every row.
var xlsxMaxRows int64 = 1_000_000

func overflowRow(n int64, t *table) []string {
	return []string{fmt.Sprintf("… %d more rows are in %s (Excel opens at most 1,048,576 rows)", n, t.file)}
}
