package evidence

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"time"

	"github.com/xuri/excelize/v2"
)

// workbook is evidence.xlsx being written: a Summary sheet, then one sheet
// per spreadsheet table, every cell a string (inline string cells are never
// formulas, so nothing in them is ever evaluated).
type workbook struct {
	f      *excelize.File
	header int // style of header rows
	label  int // style of the summary's labels
}

func newWorkbook() (*workbook, error) {
	f := excelize.NewFile()
	wb := &workbook{f: f}
	if err := f.SetSheetName("Sheet1", summarySheet); err != nil {
		return nil, err
	}
	for _, t := range tables {
		if _, err := f.NewSheet(t.sheet); err != nil {
			return nil, err
		}
	}
	var err error
	wb.header, err = f.NewStyle(&excelize.Style{
		Font:      &excelize.Font{Bold: true, Color: "FFFFFF"},
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"1F3A5F"}},
		Alignment: &excelize.Alignment{Vertical: "top", WrapText: true},
	})
	if err != nil {
		return nil, err
	}
	wb.label, err = f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Alignment: &excelize.Alignment{Vertical: "top"}})
	if err != nil {
		return nil, err
	}
	return wb, nil
}

func cells(row []string) []any {
	out := make([]any, len(row))
	for i, s := range row {
		out[i] = xlsxCell(s)
	}
	return out
}

// summary writes the Summary sheet.
func (wb *workbook) summary(rows [][]string) error {
	sw, err := wb.f.NewStreamWriter(summarySheet)
	if err != nil {
		return err
	}
	if err := sw.SetColWidth(1, 1, 48); err != nil {
		return err
	}
	if err := sw.SetColWidth(2, 7, 24); err != nil {
		return err
	}
	for i, row := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		vals := cells(row)
		if len(row) > 0 {
			v := vals[0]
			vals[0] = excelize.Cell{Value: v, StyleID: wb.label}
		}
		if err := sw.SetRow(cell, vals); err != nil {
			return err
		}
	}
	return sw.Flush()
}

// sheet writes one table's sheet from rows, which calls add for each row;
// past xlsxMaxRows it counts the rest and says where they are.
func (wb *workbook) sheet(t *table, rows func(add func(row []string) error) error) error {
	sw, err := wb.f.NewStreamWriter(t.sheet)
	if err != nil {
		return err
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	for i, w := range t.widths {
		if err := sw.SetColWidth(i+1, i+1, w); err != nil {
			return err
		}
	}
	hdr := make([]any, len(t.header))
	for i, h := range t.header {
		hdr[i] = excelize.Cell{Value: h, StyleID: wb.header}
	}
	if err := sw.SetRow("A1", hdr); err != nil {
		return err
	}
	n := int64(0)
	err = rows(func(row []string) error {
		n++
		if n > xlsxMaxRows {
			return nil
		}
		cell, err := excelize.CoordinatesToCellName(1, int(n)+1)
		if err != nil {
			return err
		}
		return sw.SetRow(cell, cells(row))
	})
	if err != nil {
		return err
	}
	if n > xlsxMaxRows {
		cell, _ := excelize.CoordinatesToCellName(1, int(xlsxMaxRows)+2)
		if err := sw.SetRow(cell, cells(overflowRow(n-xlsxMaxRows, t))); err != nil {
			return err
		}
	}
	return sw.Flush()
}

// write writes the workbook to w, its parts in name order with a fixed
// time, so the same content always gives the same bytes.
func (wb *workbook) write(w io.Writer, tmp string, mod time.Time) error {
	defer wb.f.Close()
	var zerr error
	wb.f.SetZipWriter(func(io.Writer) excelize.ZipWriter {
		return &sortedZip{dst: w, tmp: tmp, mod: mod, err: &zerr}
	})
	if err := wb.f.Write(io.Discard); err != nil {
		return err
	}
	return zerr
}

// sortedZip is an excelize.ZipWriter that keeps each part in a temporary
// file and writes them, sorted by name, when closed: excelize writes
// streamed sheets in map order, which would make two identical workbooks
// differ.
type sortedZip struct {
	dst   io.Writer
	tmp   string
	mod   time.Time
	parts []*zipPart
	err   *error
}

type zipPart struct {
	name string
	dir  string
	mem  bytes.Buffer
	f    *os.File
}

func (p *zipPart) Write(b []byte) (int, error) {
	if p.f == nil && p.mem.Len()+len(b) > 1<<20 {
		f, err := os.CreateTemp(p.dir, "xlsx-part-*")
		if err != nil {
			return 0, err
		}
		if _, err := f.Write(p.mem.Bytes()); err != nil {
			return 0, err
		}
		p.mem = bytes.Buffer{}
		p.f = f
	}
	if p.f != nil {
		return p.f.Write(b)
	}
	return p.mem.Write(b)
}

func (z *sortedZip) Create(name string) (io.Writer, error) {
	p := &zipPart{name: name, dir: z.tmp}
	z.parts = append(z.parts, p)
	return p, nil
}

func (z *sortedZip) AddFS(fs.FS) error { return fmt.Errorf("evidence: AddFS is not supported") }

func (z *sortedZip) Close() error {
	defer func() {
		for _, p := range z.parts {
			if p.f != nil {
				p.f.Close()
				os.Remove(p.f.Name())
			}
		}
	}()
	sort.SliceStable(z.parts, func(i, j int) bool { return partRank(z.parts[i].name) < partRank(z.parts[j].name) })
	zw := zip.NewWriter(z.dst)
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestSpeed)
	})
	for _, p := range z.parts {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: p.name, Method: zip.Deflate, Modified: z.mod})
		if err != nil {
			*z.err = err
			return err
		}
		if p.f != nil {
			if _, err := p.f.Seek(0, io.SeekStart); err != nil {
				*z.err = err
				return err
			}
			if _, err := io.Copy(w, p.f); err != nil {
				*z.err = err
				return err
			}
		} else if _, err := w.Write(p.mem.Bytes()); err != nil {
			*z.err = err
			return err
		}
	}
	if err := zw.Close(); err != nil {
		*z.err = err
		return err
	}
	return nil
}

// partRank puts [Content_Types].xml first (some readers want it there),
// then the rest by name.
func partRank(name string) string {
	if name == "[Content_Types].xml" {
		return "\x00"
	}
	return name
}
