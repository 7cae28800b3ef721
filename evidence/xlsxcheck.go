package evidence

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/xuri/excelize/v2"
)

// xlsxResult is the workbook opened for checking, after its history
// sheets were checked.
type xlsxResult struct {
	x   *excelize.File
	err error
}

// checkWorkbookHistories opens evidence.xlsx, checks it holds no formula
// and the expected sheets, and compares each history sheet with its CSV
// file cell by cell (the CSV files are checked against the events).
func (b *bundle) checkWorkbookHistories(ctx context.Context, tmp string) xlsxResult {
	f := b.files[xlsxFile]
	rc, err := f.Open()
	if err != nil {
		return xlsxResult{err: fail(xlsxFile, "cannot be read: %v", err)}
	}
	path := filepath.Join(tmp, "evidence.xlsx")
	out, err := os.Create(path)
	if err != nil {
		rc.Close()
		return xlsxResult{err: err}
	}
	_, err = io.Copy(out, rc)
	rc.Close()
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return xlsxResult{err: fail(xlsxFile, "cannot be read: %v", err)}
	}
	if err := noFormulas(path); err != nil {
		return xlsxResult{err: err}
	}
	x, err := excelize.OpenFile(path, excelize.Options{UnzipXMLSizeLimit: 8 << 20})
	if err != nil {
		return xlsxResult{err: fail(xlsxFile, "is not a workbook: %v", err)}
	}
	want := []string{summarySheet}
	for _, t := range tables {
		want = append(want, t.sheet)
	}
	if got := x.GetSheetList(); strings.Join(got, "|") != strings.Join(want, "|") {
		return xlsxResult{x: x, err: fail(xlsxFile, "has the sheets %q, not %q", got, want)}
	}
	for _, t := range changeTables {
		c, err := b.openCSV(t)
		if err != nil {
			return xlsxResult{x: x, err: err}
		}
		err = compareSheet(x, t, func(add func([]string) error) error {
			for {
				row, err := c.r.Read()
				if err == io.EOF {
					return nil
				}
				if err != nil {
					return fail(payloadDir+t.file, "%v", err)
				}
				if err := add(row); err != nil {
					return err
				}
				if err := ctx.Err(); err != nil {
					return err
				}
			}
		}, true)
		c.rc.Close()
		if err != nil {
			return xlsxResult{x: x, err: err}
		}
	}
	return xlsxResult{x: x}
}

// compareSheet checks a sheet (t's, or the Summary for nil) against the
// rows rows gives: the rows the events give (fromCSV false), or the cells
// of the table's CSV file (fromCSV true: a workbook cell v must be the CSV
// cell csvSafe(v)). Past xlsxMaxRows the sheet must say where the rest is.
func compareSheet(x *excelize.File, t *table, rows func(add func([]string) error) error, fromCSV bool) error {
	name := summarySheet
	if t != nil {
		name = t.sheet
	}
	file := fmt.Sprintf("%s sheet %q", xlsxFile, name)
	it, err := x.Rows(name)
	if err != nil {
		return fail(xlsxFile, "sheet %q: %v", name, err)
	}
	defer it.Close()
	next := func() ([]string, bool, error) {
		if !it.Next() {
			return nil, false, it.Error()
		}
		cols, err := it.Columns(excelize.Options{RawCellValue: true})
		return cols, true, err
	}
	n := 0
	if t != nil {
		hdr, ok, err := next()
		if err != nil || !ok {
			return fail(file, "has no header row: %v", err)
		}
		if err := compareRow(file, 1, t, hdr, t.header, false); err != nil {
			return err
		}
		n = 1
	}
	count := int64(0)
	limit := xlsxMaxRows
	if t == nil {
		limit = 1 << 62 // the Summary is never cut
	}
	err = rows(func(w []string) error {
		count++
		if count > limit {
			return nil
		}
		got, ok, err := next()
		n++
		if err != nil {
			return fail(file, "row %d: %v", n, err)
		}
		if !ok {
			return fail(file, "ends at row %d, but the events give more rows: a row was removed", n-1)
		}
		w = trimTrailing(w)
		if fromCSV {
			return compareWithCSV(file, n, t, got, w)
		}
		return compareRow(file, n, t, got, w, false)
	})
	if err != nil {
		return err
	}
	if count > limit {
		got, ok, err := next()
		n++
		if err != nil || !ok {
			return fail(file, "does not say where its last %d rows are", count-limit)
		}
		if err := compareRow(file, n, t, got, overflowRow(count-limit, t), false); err != nil {
			return err
		}
	}
	if _, ok, _ := next(); ok {
		return fail(file, "has a row %d that the events do not give: a row was added", n+1)
	}
	return nil
}

// compareWithCSV checks a workbook row against the same row of the CSV
// file: each cell, made CSV-safe, must be the CSV's; a cell the workbook
// had to cut must be the start of the CSV's.
func compareWithCSV(file string, rowNum int, t *table, got, csvRow []string) error {
	n := max(len(got), len(csvRow))
	for i := 0; i < n; i++ {
		var g, c string
		if i < len(got) {
			g = got[i]
		}
		if i < len(csvRow) {
			c = csvRow[i]
		}
		if csvSafe(g) == c {
			continue
		}
		if cut, ok := strings.CutSuffix(g, truncatedNote); ok && strings.HasPrefix(c, csvSafe(cut)) {
			continue
		}
		col := fmt.Sprint(i + 1)
		if t != nil && i < len(t.header) {
			col = fmt.Sprintf("%q", t.header[i])
		}
		id := ""
		if len(csvRow) > 0 {
			id = " (sequence " + csvRow[0] + ")"
		}
		return fail(file, "row %d%s, column %s says %q, but %s%s (checked against the events) says %q: the workbook was edited after export",
			rowNum, id, col, g, payloadDir, t.file, c)
	}
	return nil
}
