package evidence

import (
	"bufio"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
)

// bom starts every CSV file, so that Excel reads it as UTF-8.
const bom = "\uFEFF"

// csvWriter writes a spreadsheet-safe CSV: a UTF-8 byte order mark, CRLF
// line ends (RFC 4180), every cell through csvSafe.
type csvWriter struct {
	w    *csv.Writer
	cell []string
}

func newCSVWriter(w io.Writer, header []string) (*csvWriter, error) {
	if _, err := io.WriteString(w, bom); err != nil {
		return nil, err
	}
	c := &csvWriter{w: csv.NewWriter(w)}
	c.w.UseCRLF = true
	return c, c.write(header)
}

func (c *csvWriter) write(row []string) error {
	c.cell = c.cell[:0]
	for _, s := range row {
		c.cell = append(c.cell, csvSafe(s))
	}
	return c.w.Write(c.cell)
}

func (c *csvWriter) flush() error {
	c.w.Flush()
	return c.w.Error()
}

// csvReader reads a CSV the bundle holds: it checks and drops the byte
// order mark and gives rows as written (still escaped).
func newCSVReader(r io.Reader) (*csv.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	b := make([]byte, len(bom))
	if _, err := io.ReadFull(br, b); err != nil || string(b) != bom {
		return nil, errors.New("does not start with a UTF-8 byte order mark")
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	return cr, nil
}

// spool keeps rows on disk between two passes, so that a history of any
// length costs no memory: each row is a count then length-prefixed cells.
type spool struct {
	f *os.File
	w *bufio.Writer
	n int64
}

func newSpool(dir string) (*spool, error) {
	f, err := os.CreateTemp(dir, "rows-*")
	if err != nil {
		return nil, err
	}
	return &spool{f: f, w: bufio.NewWriterSize(f, 256<<10)}, nil
}

func (s *spool) write(row []string) error {
	var b [binary.MaxVarintLen64]byte
	if _, err := s.w.Write(b[:binary.PutUvarint(b[:], uint64(len(row)))]); err != nil {
		return err
	}
	for _, c := range row {
		if _, err := s.w.Write(b[:binary.PutUvarint(b[:], uint64(len(c)))]); err != nil {
			return err
		}
		if _, err := s.w.WriteString(c); err != nil {
			return err
		}
	}
	s.n++
	return nil
}

// finish ends writing; each may then run, several at once.
func (s *spool) finish() error { return s.w.Flush() }

// each calls fn with every row in order; the row is reused between calls.
// It reads through a file of its own, so several may run at once once the
// spool is finished.
func (s *spool) each(fn func(row []string) error) error {
	if err := s.w.Flush(); err != nil {
		return err
	}
	f, err := os.Open(s.f.Name())
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 256<<10)
	var row []string
	var buf []byte
	for i := int64(0); i < s.n; i++ {
		n, err := binary.ReadUvarint(r)
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		row = row[:0]
		for j := uint64(0); j < n; j++ {
			l, err := binary.ReadUvarint(r)
			if err != nil {
				return fmt.Errorf("spool: %w", err)
			}
			if uint64(cap(buf)) < l {
				buf = make([]byte, l)
			}
			if _, err := io.ReadFull(r, buf[:l]); err != nil {
				return fmt.Errorf("spool: %w", err)
			}
			row = append(row, string(buf[:l]))
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	return nil
}

func (s *spool) close() {
	s.f.Close()
	os.Remove(s.f.Name())
}
