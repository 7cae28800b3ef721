package evidence

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sendtrail/sendtrail/domain"
)

// Exporter writes evidence bundles from the read model.
type Exporter struct {
	DB      *sql.DB // the read model's read-only pool (projections.DB.Reader)
	Key     *Key
	Now     func() time.Time // default time.Now
	TempDir string           // for spooled rows; default os.TempDir()
}

// Request asks for a bundle.
type Request struct {
	Plan string
	// AsOf is the last instant the bundle covers: the plan's log up to the
	// last event recorded at or before it. Zero: everything the read model
	// holds.
	AsOf time.Time
	// AsOfDay says AsOf was given as a date (it is then the date's last
	// nanosecond, UTC), so the bundle names the date.
	AsOfDay bool
	// Previous is a signed checkpoint from an earlier export of the same
	// plan: the bundle then proves it extends that log unchanged.
	Previous []byte
	// By is who asks (the authenticated actor), named in bag-info.txt.
	By domain.Actor
}

// ParseAsOf reads an as-of date ("2024-06-30": the whole day, UTC) or an
// RFC 3339 time. "" is zero (everything).
func ParseAsOf(s string) (t time.Time, isDay bool, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false, nil
	}
	if d, err := domain.ParseDate(s); err == nil {
		return d.Time().AddDate(0, 0, 1).Add(-time.Nanosecond), true, nil
	}
	t, err = time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false, domain.Invalid("as_of", "%q is not a date (YYYY-MM-DD) or an RFC 3339 time", s)
	}
	return t.UTC(), false, nil
}

// Prepared is a bundle whose tree head is fixed and checked, ready to be
// written (as many times as wanted: the payload is the same each time).
type Prepared struct {
	x       *Exporter
	req     Request
	lastSeq uint64
	meta    meta
	proof   [][]byte
}

// Size is the number of events (leaves) the bundle holds.
func (p *Prepared) Size() uint64 { return p.meta.cp.Size }

// Root is the Merkle root of the bundle's events.
func (p *Prepared) Root() []byte { return p.meta.cp.Root }

// RootBase64 is the root as the checkpoint writes it.
func (p *Prepared) RootBase64() string { return p.meta.cp.RootBase64() }

// Checkpoint is the bundle's signed checkpoint.
func (p *Prepared) Checkpoint() []byte { return p.meta.signedCheckpoint }

// AsOf is the last instant the bundle covers (the export time when the
// request named none).
func (p *Prepared) AsOf() time.Time {
	if p.meta.asOf.IsZero() {
		return p.meta.exportedAt
	}
	return p.meta.asOf
}

// FileName is a name for the bundle: "<plan>-evidence-<as-of>-<size>.zip".
func (p *Prepared) FileName() string { return p.bagName() + ".zip" }

func (p *Prepared) bagName() string {
	when := "latest"
	if !p.meta.asOf.IsZero() {
		when = p.meta.asOf.UTC().Format("2006-01-02")
		if !p.meta.asOfDay {
			when = p.meta.asOf.UTC().Format("20060102T150405Z")
		}
	}
	return fmt.Sprintf("%s-evidence-%s-%d", p.meta.plan, when, p.meta.cp.Size)
}

// Prepare fixes the bundle's tree head: the plan's events up to the as-of
// time, their Merkle root (recomputed from the stored bytes, and checked
// against the read model's own tree when the bundle is the whole log), the
// signed checkpoint and, given an earlier checkpoint, the consistency
// proof from it.
//
// Errors: EINVALID for a bad slug or previous checkpoint; ENOTFOUND when
// the plan has no events (by that time); EPRECONDITION when the previous
// checkpoint is not a prefix of this log.
func (x *Exporter) Prepare(ctx context.Context, req Request) (*Prepared, error) {
	if err := domain.ValidateSlug(req.Plan); err != nil {
		return nil, err
	}
	now := time.Now
	if x.Now != nil {
		now = x.Now
	}
	m := meta{plan: req.Plan, asOf: req.AsOf, asOfDay: req.AsOfDay && !req.AsOf.IsZero(), exportedAt: now().UTC(), key: x.Key.Public}
	m.day = domain.DateOf(m.exportedAt)
	if !req.AsOf.IsZero() {
		m.day = domain.DateOf(req.AsOf.UTC())
	}
	p := &Prepared{x: x, req: req}

	var size uint64
	var stored []byte
	if req.AsOf.IsZero() {
		h, err := LatestHead(ctx, x.DB, req.Plan, x.Key)
		if err != nil {
			return nil, err
		}
		size, p.lastSeq, stored = h.Size, h.LastSeq, h.Root
	} else {
		var err error
		if size, p.lastSeq, err = headAsOf(ctx, x.DB, req.Plan, req.AsOf); err != nil {
			return nil, err
		}
	}

	t := newTree()
	var prev Checkpoint
	if len(req.Previous) > 0 {
		var err error
		prev, err = OpenCheckpoint(req.Previous, x.Key.Public)
		if err != nil {
			return nil, domain.Invalid("previous_checkpoint", "%v (it must come from an earlier export by this server, signed by key %s)", err, x.Key.ShortFingerprint())
		}
		if prev.Origin != Origin(req.Plan) {
			return nil, domain.Invalid("previous_checkpoint", "is for %s, not %s", prev.Origin, Origin(req.Plan))
		}
		if prev.Size > size {
			return nil, domain.Invalid("previous_checkpoint", "covers %d events but this bundle only %d: ask for a later as-of date", prev.Size, size)
		}
		if err := t.proveConsistency(prev.Size, size); err != nil {
			return nil, err
		}
		m.prev = &prev
	}
	n := uint64(0)
	err := scanLeaves(ctx, x.DB, req.Plan, p.lastSeq, func(seq uint64, raw []byte) error {
		n++
		return t.add(raw)
	})
	if err != nil {
		return nil, err
	}
	if n != size {
		return nil, fmt.Errorf("evidence: %s: read %d events, expected %d", req.Plan, n, size)
	}
	root := t.root()
	if stored != nil && !bytes.Equal(stored, root) {
		return nil, domain.Errorf(domain.EINTERNAL, "the read model's Merkle tree for %s disagrees with its events: rebuild the read model (sendtrail rebuild)", req.Plan)
	}
	if m.prev != nil {
		at, _ := t.rootOf(prev.Size)
		if !bytes.Equal(at, prev.Root) {
			return nil, &domain.Error{Code: domain.EPRECONDITION, Field: "previous_checkpoint", Message: fmt.Sprintf(
				"the earlier checkpoint (%d events, root %s) is not a prefix of this plan's log, whose first %d events have root %s: the log was rewritten, or the checkpoint is of another log",
				prev.Size, prev.RootBase64(), prev.Size, b64(at))}
		}
		if p.proof, err = t.consistency(prev.Size, size); err != nil {
			return nil, err
		}
	}
	m.cp = Checkpoint{Origin: Origin(req.Plan), Size: size, Root: root}
	if m.signedCheckpoint, err = m.cp.Sign(x.Key); err != nil {
		return nil, err
	}
	p.meta = m
	return p, nil
}

// WriteTo writes the bundle to w as it is produced: memory stays bounded
// whatever the number of events (rows of the histories are spooled to
// temporary files between passes).
func (p *Prepared) WriteTo(ctx context.Context, w io.Writer) error {
	x := p.x
	tmp, err := os.MkdirTemp(x.TempDir, "sendtrail-export-")
	if err != nil {
		return fmt.Errorf("evidence: %w", err)
	}
	defer os.RemoveAll(tmp)

	m := p.meta
	mod := m.exportedAt
	if !m.asOf.IsZero() {
		mod = m.asOf
	}
	bag := newBagWriter(w, p.bagName(), mod)

	// Pass 1: events.jsonl, and on the way the plan folded with Evolve,
	// the history rows spooled, and the root recomputed from what is
	// written.
	spools := map[*table]*spool{}
	for _, t := range changeTables {
		s, err := newSpool(tmp)
		if err != nil {
			return err
		}
		defer s.close()
		spools[t] = s
	}
	v, col, t := newView(), newCollector(), newTree()
	dec := newDecoder()
	// Reading, decoding and folding run beside the compression and hashing
	// of what they write: two cores, two stages, a few chunks between them.
	chunks := make(chan []byte, 4)
	produced := make(chan error, 1)
	stop := make(chan struct{})
	go func() {
		cw := &chanWriter{ch: chunks, stop: stop, buf: make([]byte, 0, 256<<10)}
		err := scanLeaves(ctx, x.DB, m.plan, p.lastSeq, func(seq uint64, raw []byte) error {
			env, line, err := dec.decode(t.size(), seq, raw)
			if err != nil {
				return err
			}
			if _, err := cw.Write(line); err != nil {
				return err
			}
			if err := t.add(raw); err != nil {
				return err
			}
			st := v.apply(env)
			col.add(st)
			if tbl, row := v.changeRow(st); tbl != nil {
				return spools[tbl].write(row)
			}
			return nil
		})
		if err == nil {
			err = cw.flush()
		}
		close(chunks)
		produced <- err
	}()
	err = bag.file(eventsFile, func(w io.Writer) error {
		for c := range chunks {
			if _, err := w.Write(c); err != nil {
				return err
			}
		}
		return nil
	})
	close(stop)
	for range chunks { // let the producer finish after a failed write
	}
	if perr := <-produced; perr != nil {
		return perr
	}
	if err != nil {
		return err
	}
	for _, s := range spools {
		if err := s.finish(); err != nil {
			return err
		}
	}
	if t.size() != m.cp.Size || !bytes.Equal(t.root(), m.cp.Root) {
		return fmt.Errorf("evidence: %s changed while it was exported (%d events, expected %d)", m.plan, t.size(), m.cp.Size)
	}

	r := buildReport(v, col, m)
	actions := v.sortedActions()
	kpis := v.sortedKpis()

	// The workbook is built beside the CSV files (it goes into the bag
	// after them), from the same rows.
	wb, err := newWorkbook()
	if err != nil {
		return err
	}
	defer wb.f.Close()
	built := make(chan error, 1)
	go func() { built <- p.buildWorkbook(wb, r, v, actions, kpis, spools) }()
	defer func() {
		if built != nil {
			<-built
		}
	}()

	// The spreadsheets.
	err = bag.file(payloadDir+actionsTable.file, func(w io.Writer) error {
		cw, err := newCSVWriter(w, actionsTable.header)
		if err != nil {
			return err
		}
		for _, a := range actions {
			if err := cw.write(v.actionRow(a, m.day)); err != nil {
				return err
			}
		}
		return cw.flush()
	})
	if err != nil {
		return err
	}
	for _, tbl := range changeTables {
		s := spools[tbl]
		err := bag.file(payloadDir+tbl.file, func(w io.Writer) error {
			cw, err := newCSVWriter(w, tbl.header)
			if err != nil {
				return err
			}
			if err := s.each(cw.write); err != nil {
				return err
			}
			return cw.flush()
		})
		if err != nil {
			return err
		}
	}
	err = bag.file(payloadDir+kpiTable.file, func(w io.Writer) error {
		cw, err := newCSVWriter(w, kpiTable.header)
		if err != nil {
			return err
		}
		for _, k := range kpis {
			for _, row := range v.kpiRows(k) {
				if err := cw.write(row); err != nil {
					return err
				}
			}
		}
		return cw.flush()
	})
	if err != nil {
		return err
	}

	err, built = <-built, nil
	if err != nil {
		return err
	}
	if err := bag.file(xlsxFile, func(w io.Writer) error { return wb.write(w, tmp, mod) }); err != nil {
		return err
	}

	// The report.
	if err := bag.file(reportHTMLFile, func(w io.Writer) error { return renderHTML(w, r) }); err != nil {
		return err
	}
	if err := bag.file(reportPDFFile, func(w io.Writer) error { return renderPDF(w, r, mod) }); err != nil {
		return err
	}

	// The proof material.
	if err := bag.bytes(checkpointFile, m.signedCheckpoint); err != nil {
		return err
	}
	if err := bag.bytes(publicKeyFile, m.key.PEM()); err != nil {
		return err
	}
	if err := bag.bytes(verifierKeyFile, []byte(m.key.VerifierKey()+"\n")); err != nil {
		return err
	}
	if m.prev != nil {
		if err := bag.bytes(previousFile, p.req.Previous); err != nil {
			return err
		}
		cp := ConsistencyProof{Origin: m.cp.Origin, From: m.prev.Size, To: m.cp.Size, Hashes: p.proof}
		if err := bag.bytes(proofFile, cp.Marshal()); err != nil {
			return err
		}
	}
	if err := bag.bytes(readmeFile, []byte(readme(r))); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return bag.finish(p.bagInfo(r), x.Key)
}

// buildWorkbook writes the workbook's sheets: the same rows as the CSV
// files, and the summary.
func (p *Prepared) buildWorkbook(wb *workbook, r *reportData, v *view, actions []domain.ActionState, kpis []domain.KpiState, spools map[*table]*spool) error {
	m := p.meta
	if err := wb.summary(summaryRows(r)); err != nil {
		return err
	}
	if err := wb.sheet(&actionsTable, func(add func([]string) error) error {
		for _, a := range actions {
			if err := add(v.actionRow(a, m.day)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	for _, tbl := range changeTables {
		if err := wb.sheet(tbl, spools[tbl].each); err != nil {
			return err
		}
	}
	if err := wb.sheet(&kpiTable, func(add func([]string) error) error {
		for _, k := range kpis {
			for _, row := range v.kpiRows(k) {
				if err := add(row); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		return err
	}
	return nil
}

func (p *Prepared) bagInfo(r *reportData) [][2]string {
	m := p.meta
	asOf := "latest"
	if !m.asOf.IsZero() {
		asOf = m.asOf.UTC().Format(time.RFC3339Nano)
		if m.asOfDay {
			asOf = m.asOf.UTC().Format("2006-01-02")
		}
	}
	by := p.req.By.DisplayName
	if p.req.By.ID != "" {
		by = fmt.Sprintf("%s (%s, %s)", p.req.By.DisplayName, p.req.By.ID, p.req.By.Role)
	}
	return [][2]string{
		{"External-Identifier", m.plan},
		{"External-Description", fmt.Sprintf("Evidence bundle of the SEND Improvement Plan %q as of %s: %d events, Merkle root %s", r.Title, r.AsOf, m.cp.Size, m.cp.RootBase64())},
		{"Bagging-Date", m.exportedAt.Format("2006-01-02")},
		{"Bag-Software-Agent", "sendtrail (bundle format " + BundleVersion + ")"},
		{"Sendtrail-Bundle-Version", BundleVersion},
		{"Sendtrail-Plan", m.plan},
		{"Sendtrail-Plan-Title", r.Title},
		{"Sendtrail-As-Of", asOf},
		{"Sendtrail-Report-Date", m.day.String()},
		{"Sendtrail-Tree-Size", strconv.FormatUint(m.cp.Size, 10)},
		{"Sendtrail-Root-Hash", m.cp.RootBase64()},
		{"Sendtrail-Key-Fingerprint", m.key.Fingerprint()},
		{"Sendtrail-Exported-By", by},
		{"Sendtrail-Exported-At", m.exportedAt.Format(time.RFC3339)},
	}
}

// chanWriter hands what is written to another goroutine in chunks.
type chanWriter struct {
	ch   chan<- []byte
	stop <-chan struct{}
	buf  []byte
}

var errStopped = errors.New("evidence: export stopped")

func (w *chanWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), cap(w.buf)-len(w.buf))
		w.buf = append(w.buf, p[:k]...)
		p = p[k:]
		if len(w.buf) == cap(w.buf) {
			if err := w.flush(); err != nil {
				return n - len(p), err
			}
		}
	}
	return n, nil
}

func (w *chanWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	select {
	case w.ch <- w.buf:
	case <-w.stop:
		return errStopped
	}
	w.buf = make([]byte, 0, cap(w.buf))
	return nil
}

func b64(b []byte) string { return Checkpoint{Root: b}.RootBase64() }
