package importer

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// columns are each table's required columns, in the plan's order.
var columns = map[string][]string{
	tActions:    {"Priority", "Ref", "Origin", "Action", "Lead", "Deadline", "RAG", "Success measures", "Progress to date", "Impact to date"},
	tPriorities: {"Number", "Title", "Summary", "Parent/Carer voice"},
	tKpis:       {"Priority", "Indicator", "Required direction", "Period", "Value", "Target", "National comparator"},
	tRagScheme:  {"Code", "Description", "Count", "Percent", "Direction"},
}

// table is one CSV file or sheet: its header and data rows, cells trimmed.
type table struct {
	file   string         // as problems name it: "actions.csv", "plan.xlsx:actions"
	kind   string         // tActions …
	ok     bool           // the header has every required column once
	col    map[string]int // required column → cell index
	name   map[string]string
	width  int // cells in the header
	rows   []record
	closed bool // no more rows are accepted (limit reached)
	count  int  // data rows seen
}

type record struct {
	row   int // as a spreadsheet shows it
	cells []string
}

// get returns the cell of column c (a required column) in r.
func (t *table) get(r record, c string) string {
	i, ok := t.col[c]
	if !ok || i >= len(r.cells) {
		return ""
	}
	return r.cells[i]
}

// colName returns column c's name as the header writes it.
func (t *table) colName(c string) string {
	if n, ok := t.name[c]; ok {
		return n
	}
	return c
}

func fold(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }

// trimCell trims surrounding space only: line breaks and runs of spaces
// inside a cell are kept.
func trimCell(s string) string { return strings.TrimSpace(s) }

func safe(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

func sizeText(n int) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// setHeader reads the header row. It reports missing and duplicated
// required columns as problems and unknown columns as notes.
func (b *builder) setHeader(t *table, row int, cells []string) {
	t.col, t.name = map[string]int{}, map[string]string{}
	t.width = len(cells)
	want := map[string]string{}
	for _, c := range columns[t.kind] {
		want[fold(c)] = c
	}
	for i, raw := range cells {
		if !utf8.ValidString(raw) {
			b.problem(Problem{File: t.file, Row: row, Value: safe(raw), Message: fmt.Sprintf("header cell %d is not valid UTF-8", i+1)})
			continue
		}
		h := trimCell(strings.TrimPrefix(raw, "\ufeff"))
		if h == "" {
			continue
		}
		c, known := want[fold(h)]
		if !known {
			b.note("%s: column %q is not one of the plan's columns and is ignored", t.file, h)
			continue
		}
		if j, dup := t.col[c]; dup {
			b.problem(Problem{File: t.file, Row: row, Column: h, Value: h,
				Message: fmt.Sprintf("column %q appears twice (columns %s and %s)", h, excelColumn(j), excelColumn(i))})
			continue
		}
		t.col[c], t.name[c] = i, h
	}
	t.ok = true
	for _, c := range columns[t.kind] {
		if _, ok := t.col[c]; !ok {
			t.ok = false
			b.problem(Problem{File: t.file, Row: row, Column: c,
				Message: fmt.Sprintf("required column %q is missing (want the columns %s)", c, strings.Join(columns[t.kind], ", "))})
		}
	}
	if len(t.col) != len(columns[t.kind]) {
		t.ok = false
	}
}

// addRow adds a data row. strict says that a row must not have fewer cells
// than the header (CSV); a sheet leaves trailing empty cells out.
func (b *builder) addRow(t *table, row int, cells []string, strict bool) {
	if t.closed {
		return
	}
	blank := true
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			blank = false
			break
		}
	}
	if blank {
		return
	}
	t.count++
	limit := maxTableRows
	if t.kind == tActions {
		limit = MaxActions
	}
	if t.count > limit {
		what := "rows"
		if t.kind == tActions {
			what = "actions"
		}
		b.problem(Problem{File: t.file, Row: row, Message: fmt.Sprintf("more than %d %s: at most %d are accepted; the rest of the file was not read", limit, what, limit)})
		t.closed = true
		return
	}
	bad := false
	for i, c := range cells {
		if !utf8.ValidString(c) {
			b.problem(Problem{File: t.file, Row: row, Column: t.headerAt(i), Value: safe(c),
				Message: fmt.Sprintf("not valid UTF-8 (at byte %d of the cell); save the file as UTF-8", invalidAt(c))})
			bad = true
		}
	}
	if strict && len(cells) < t.width {
		b.problem(Problem{File: t.file, Row: row,
			Message: fmt.Sprintf("the row has %d cells, the header %d", len(cells), t.width)})
		bad = true
	}
	for i := t.width; i < len(cells); i++ {
		if strings.TrimSpace(cells[i]) != "" {
			b.problem(Problem{File: t.file, Row: row, Column: excelColumn(i), Value: safe(trimCell(cells[i])),
				Message: fmt.Sprintf("the row has %d cells, the header %d: column %s has no name", len(cells), t.width, excelColumn(i))})
			bad = true
			break
		}
	}
	if bad {
		return
	}
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = trimCell(c)
	}
	t.rows = append(t.rows, record{row: row, cells: out})
}

func (t *table) headerAt(i int) string {
	for c, j := range t.col {
		if j == i {
			return t.name[c]
		}
	}
	return excelColumn(i)
}

func invalidAt(s string) int {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			return i + 1
		}
		i += n
	}
	return 0
}

// excelColumn returns the spreadsheet name of 0-based column i ("A", "AB").
func excelColumn(i int) string {
	s := ""
	for i++; i > 0; i = (i - 1) / 26 {
		s = string(rune('A'+(i-1)%26)) + s
	}
	return s
}

// readCSV reads one CSV file (RFC 4180, UTF-8 with or without a byte order
// mark, CRLF or LF). Rows are numbered as a spreadsheet shows them: a record
// is one row however many line breaks its cells hold, and a blank line is an
// empty row.
func readCSV(file, kind string, data []byte, b *builder) *table {
	t := &table{file: file, kind: kind}
	if len(data) > MaxFileSize {
		b.problem(Problem{File: file, Message: fmt.Sprintf("the file is over %s; at most %s is accepted", sizeText(MaxFileSize), sizeText(MaxFileSize))})
		return t
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(data)) == 0 {
		b.problem(Problem{File: file, Row: 1, Message: fmt.Sprintf("the file is empty: want a header row with the columns %s", strings.Join(columns[kind], ", "))})
		return t
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	var (
		prevRow, prevEnd = 0, 0 // row and last line of the previous record
		header           = false
		errs             = 0
	)
	rowAt := func(start int) int {
		gap := start - prevEnd - 1
		if gap < 0 {
			gap = 0
		}
		return prevRow + 1 + gap
	}
	for !t.closed {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				b.problem(Problem{File: file, Row: prevRow + 1, Message: "cannot read the file: " + err.Error()})
				break
			}
			row := rowAt(pe.StartLine)
			b.problem(Problem{File: file, Row: row, Message: csvMessage(pe)})
			prevRow, prevEnd = row, pe.Line
			if errs++; errs >= maxCSVErrors {
				b.problem(Problem{File: file, Row: row, Message: fmt.Sprintf("%d CSV syntax errors: the rest of the file was not read", errs)})
				break
			}
			if !header {
				// Without a header nothing else can be read reliably.
				break
			}
			continue
		}
		start, _ := r.FieldPos(0)
		last := len(rec) - 1
		endLine, _ := r.FieldPos(last)
		endLine += strings.Count(rec[last], "\n")
		row := rowAt(start)
		prevRow, prevEnd = row, endLine
		if !header {
			header = true
			b.setHeader(t, row, rec)
			if !t.ok {
				return t
			}
			continue
		}
		b.addRow(t, row, rec, true)
	}
	if !header {
		t.ok = false
	}
	return t
}

func csvMessage(pe *csv.ParseError) string {
	what := pe.Err.Error()
	switch {
	case errors.Is(pe.Err, csv.ErrQuote):
		what = `a quoted cell is not closed properly (a " inside a quoted cell must be doubled as "")`
	case errors.Is(pe.Err, csv.ErrBareQuote):
		what = `a " appears inside an unquoted cell (quote the cell and double the ")`
	}
	if pe.StartLine != pe.Line {
		return fmt.Sprintf("bad CSV: %s (the record starts on line %d; error on line %d, column %d)", what, pe.StartLine, pe.Line, pe.Column)
	}
	return fmt.Sprintf("bad CSV: %s (line %d, column %d)", what, pe.Line, pe.Column)
}

// readWorkbook reads the plan's sheets from a .xlsx workbook. An unreadable
// workbook or a missing required sheet is an error; an oversized one a
// problem.
func readWorkbook(name string, data []byte, b *builder) (tables map[string]*table, err error) {
	tables = map[string]*table{}
	if len(data) > MaxFileSize {
		b.problem(Problem{File: name, Message: fmt.Sprintf("the workbook is over %s; at most %s is accepted", sizeText(MaxFileSize), sizeText(MaxFileSize))})
		return tables, nil
	}
	defer func() {
		if r := recover(); r != nil {
			tables, err = nil, inputError("%s is not a readable .xlsx workbook (%v)", name, r)
		}
	}()
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{
		UnzipSizeLimit:    maxUnzipBytes,
		UnzipXMLSizeLimit: maxUnzipBytes, // = the total limit: nothing spills to temporary files
		ShortDatePattern:  "dd/mm/yyyy",  // the regional short date (format 14) is shown as in the UK
	})
	if err != nil {
		return nil, inputError("%s is not a readable .xlsx workbook: %v", name, err)
	}
	defer f.Close()
	sheets := map[string]string{}
	for _, s := range f.GetSheetList() {
		k := strings.ToLower(strings.TrimSpace(s))
		if !isTable(k) {
			b.note("%s: sheet %q is not one of actions, priorities, kpis, rag-scheme and is ignored", name, s)
			continue
		}
		if prev, dup := sheets[k]; dup {
			return nil, inputError("%s has two %s sheets (%q and %q)", name, k, prev, s)
		}
		sheets[k] = s
	}
	var missing []string
	for _, k := range tableNames {
		if _, ok := sheets[k]; !ok && requiredTables[k] {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return nil, inputError("%s has no %s sheet: a plan needs the sheets actions and priorities (and kpis, rag-scheme)", name, strings.Join(missing, " or "))
	}
	for _, k := range tableNames {
		s, ok := sheets[k]
		if !ok {
			continue
		}
		t := &table{file: name + ":" + s, kind: k}
		tables[k] = t
		rows, err := f.GetRows(s)
		if err != nil {
			b.problem(Problem{File: t.file, Message: "cannot read the sheet: " + err.Error()})
			continue
		}
		header := false
		for i, cells := range rows {
			if !header {
				if len(cells) == 0 {
					continue
				}
				header = true
				b.setHeader(t, i+1, cells)
				if !t.ok {
					break
				}
				continue
			}
			b.addRow(t, i+1, cells, false)
			if t.closed {
				break
			}
		}
		if !header {
			b.problem(Problem{File: t.file, Row: 1, Message: fmt.Sprintf("the sheet is empty: want a header row with the columns %s", strings.Join(columns[k], ", "))})
		}
	}
	return tables, nil
}
