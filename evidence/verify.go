package evidence

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/sendtrail/sendtrail/domain"
)

// VerifyOptions are what the verifier is given besides the bundle.
type VerifyOptions struct {
	// Key pins the plan owner's published key. Zero: the bundle's own key
	// is used, which proves integrity but not who signed.
	Key Public
	// Previous is a signed checkpoint the verifier held before (from an
	// earlier bundle): the bundle must extend that log unchanged.
	Previous []byte
	// TempDir holds spooled rows; default os.TempDir().
	TempDir string
}

// Verdict is what a valid bundle proves.
type Verdict struct {
	Plan        string
	AsOf        string
	Size        uint64
	Root        string // base64
	Fingerprint string
	KeyPinned   bool
	Previous    []string // the earlier checkpoints the log was shown to extend
	Exports     int      // earlier exports recorded in the log, each checked
	Files       int      // payload files, each digest checked
}

// String is the one-line verdict.
func (v *Verdict) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "VALID: %s as of %s: %d events, Merkle root %s; %d files match their digests; spreadsheets match the events",
		v.Plan, v.AsOf, v.Size, v.Root, v.Files)
	for _, p := range v.Previous {
		b.WriteString("; " + p)
	}
	if v.Exports > 0 {
		fmt.Fprintf(&b, "; %d earlier export(s) in the log agree", v.Exports)
	}
	if v.KeyPinned {
		fmt.Fprintf(&b, "; signed by the key you gave (fingerprint %s)", v.Fingerprint)
	} else {
		fmt.Fprintf(&b, "; signature valid for key in bundle; pass --key to pin the plan owner's published key (bundle key fingerprint %s)", v.Fingerprint)
	}
	return b.String()
}

// VerifyError is the first thing found wrong with a bundle.
type VerifyError struct {
	File string // the file at fault, relative to the bag ("data/actions.csv"), or ""
	Msg  string
}

func (e *VerifyError) Error() string {
	if e.File == "" {
		return "INVALID: " + e.Msg
	}
	return "INVALID: " + e.File + ": " + e.Msg
}

func fail(file, format string, a ...any) error {
	return &VerifyError{File: file, Msg: fmt.Sprintf(format, a...)}
}

// bundle is an opened bundle.
type bundle struct {
	zr    *zip.ReadCloser
	root  string
	files map[string]*zip.File // by path inside the bag
}

// Verify checks a bundle offline: the bag, every digest, the signatures,
// the Merkle root recomputed from events.jsonl, the consistency proofs,
// and the spreadsheets against the plan re-derived from the events with
// the domain's own Evolve. It returns the verdict, or a *VerifyError naming
// the first failure.
func Verify(ctx context.Context, path string, opt VerifyOptions) (*Verdict, error) {
	b, err := openBundle(path)
	if err != nil {
		return nil, err
	}
	defer b.zr.Close()
	return b.verify(ctx, opt)
}

func openBundle(path string) (*bundle, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		return nil, fail("", "not a readable zip archive: the bundle is truncated or damaged (%v)", err)
	}
	b := &bundle{zr: zr, files: map[string]*zip.File{}}
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") {
			continue
		}
		root, rel, ok := strings.Cut(f.Name, "/")
		if !ok || rel == "" || hasDotDot(rel) || strings.Contains(f.Name, "\\") {
			zr.Close()
			return nil, fail("", "%q is not inside the bag's one top-level folder", f.Name)
		}
		if b.root == "" {
			b.root = root
		} else if root != b.root {
			zr.Close()
			return nil, fail("", "more than one top-level folder (%s and %s): a bag has one", b.root, root)
		}
		if _, dup := b.files[rel]; dup {
			zr.Close()
			return nil, fail(rel, "appears twice in the zip")
		}
		b.files[rel] = f
	}
	return b, nil
}

// read reads a small file whole (the zip's CRC is checked at its end).
func (b *bundle) read(name string, limit int64) ([]byte, error) {
	f, ok := b.files[name]
	if !ok {
		return nil, fail(name, "is missing: this is not a complete bundle (truncated, or a file was removed)")
	}
	if f.UncompressedSize64 > uint64(limit) {
		return nil, fail(name, "is %d bytes, more than a bundle's %s can be", f.UncompressedSize64, name)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fail(name, "cannot be read: %v", err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fail(name, "cannot be read: %v (the bundle is damaged)", err)
	}
	return data, nil
}

func (b *bundle) digest(name string) (string, int64, error) {
	f, ok := b.files[name]
	if !ok {
		return "", 0, fail(name, "is listed in the manifest but missing: the bundle is incomplete")
	}
	rc, err := f.Open()
	if err != nil {
		return "", 0, fail(name, "cannot be read: %v", err)
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return "", 0, fail(name, "cannot be read: %v (the bundle is damaged)", err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func (b *bundle) verify(ctx context.Context, opt VerifyOptions) (*Verdict, error) {
	for _, name := range []string{bagitFile, bagInfoFile, manifestFile, tagManifestFile, signatureFile} {
		if _, ok := b.files[name]; !ok {
			return nil, fail(name, "is missing: this is not a complete bundle (truncated, or a file was removed)")
		}
	}
	bagit, err := b.read(bagitFile, 1024)
	if err != nil {
		return nil, err
	}
	if !strings.Contains(string(bagit), "BagIt-Version: 1.0") || !strings.Contains(string(bagit), "Tag-File-Character-Encoding: UTF-8") {
		return nil, fail(bagitFile, "does not declare BagIt 1.0 in UTF-8")
	}

	// The key, then the signature over the tag manifest.
	pemBytes, err := b.read(publicKeyFile, 16<<10)
	if err != nil {
		return nil, err
	}
	bundleKey, err := ParsePublic(pemBytes)
	if err != nil {
		return nil, fail(publicKeyFile, "is not an Ed25519 public key: %v", err)
	}
	vkb, err := b.read(verifierKeyFile, 16<<10)
	if err != nil {
		return nil, err
	}
	vk, err := ParsePublic(vkb)
	if err != nil {
		return nil, fail(verifierKeyFile, "is not a signed-note verifier key: %v", err)
	}
	if !vk.Equal(bundleKey) {
		return nil, fail(verifierKeyFile, "names a different key from data/public-key.pem: one of the two was changed after export")
	}
	key := bundleKey
	if !opt.Key.IsZero() {
		if !bundleKey.Equal(opt.Key) {
			return nil, fail(publicKeyFile, "the bundle is signed with key %s, not the key you gave (%s): it was not exported by the plan owner's key, or it was re-signed after export (key swapped)",
				bundleKey.Fingerprint(), opt.Key.Fingerprint())
		}
		key = opt.Key
	}
	tm, err := b.read(tagManifestFile, maxTagFileBytes)
	if err != nil {
		return nil, err
	}
	sig, err := b.read(signatureFile, 1024)
	if err != nil {
		return nil, err
	}
	if !key.Verify(tm, sig) {
		return nil, fail(signatureFile, "the Ed25519 signature over tagmanifest-sha256.txt does not verify with key %s: the manifests were changed after signing", key.Fingerprint())
	}

	// Tag manifest, then manifest: every digest.
	tags, _, err := parseManifest(tm)
	if err != nil {
		return nil, fail(tagManifestFile, "%v", err)
	}
	for _, must := range []string{bagitFile, bagInfoFile, manifestFile} {
		if _, ok := tags[must]; !ok {
			return nil, fail(tagManifestFile, "does not list %s", must)
		}
	}
	for _, name := range sortedKeys(tags) {
		got, _, err := b.digest(name)
		if err != nil {
			return nil, err
		}
		if got != tags[name] {
			return nil, fail(name, "SHA-256 is %s but tagmanifest-sha256.txt says %s: the file was changed after export", got, tags[name])
		}
	}
	man, err := b.read(manifestFile, 16<<20)
	if err != nil {
		return nil, err
	}
	payload, _, err := parseManifest(man)
	if err != nil {
		return nil, fail(manifestFile, "%v", err)
	}
	for name := range b.files {
		if strings.HasPrefix(name, payloadDir) {
			if _, ok := payload[name]; !ok {
				return nil, fail(name, "is not in manifest-sha256.txt: it was added after export")
			}
		}
	}
	var oxBytes int64
	for _, name := range sortedKeys(payload) {
		if !strings.HasPrefix(name, payloadDir) {
			return nil, fail(manifestFile, "lists %s, which is not under data/", name)
		}
		got, n, err := b.digest(name)
		if err != nil {
			return nil, err
		}
		if got != payload[name] {
			return nil, fail(name, "SHA-256 is %s but manifest-sha256.txt says %s: the file was changed after export", got, payload[name])
		}
		oxBytes += n
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	for _, must := range []string{eventsFile, checkpointFile, publicKeyFile, verifierKeyFile, xlsxFile, reportHTMLFile, reportPDFFile, payloadDir + actionsTable.file,
		payloadDir + deadlineTable.file, payloadDir + ragTable.file, payloadDir + leadTable.file, payloadDir + kpiTable.file} {
		if _, ok := payload[must]; !ok {
			return nil, fail(must, "is missing: a sendtrail bundle always has it")
		}
	}

	// bag-info.txt says what the bundle is.
	bi, err := b.read(bagInfoFile, maxTagFileBytes)
	if err != nil {
		return nil, err
	}
	info, err := parseBagInfo(bi)
	if err != nil {
		return nil, fail(bagInfoFile, "%v", err)
	}
	if want := fmt.Sprintf("%d.%d", oxBytes, len(payload)); info["Payload-Oxum"] != want {
		return nil, fail(bagInfoFile, "Payload-Oxum is %q but the payload is %s (bytes.files)", info["Payload-Oxum"], want)
	}
	if v := info["Sendtrail-Bundle-Version"]; v != BundleVersion {
		return nil, fail(bagInfoFile, "bundle format %q is not one this sendtrail verifies (%s): use the sendtrail that wrote it", v, BundleVersion)
	}
	plan := info["Sendtrail-Plan"]
	if err := domain.ValidateSlug(plan); err != nil {
		return nil, fail(bagInfoFile, "Sendtrail-Plan %q is not a plan slug", plan)
	}
	m := meta{plan: plan, key: key}
	if m.day, err = domain.ParseDate(info["Sendtrail-Report-Date"]); err != nil || m.day.IsZero() {
		return nil, fail(bagInfoFile, "Sendtrail-Report-Date %q is not a date", info["Sendtrail-Report-Date"])
	}
	switch a := info["Sendtrail-As-Of"]; a {
	case "latest":
	default:
		if m.asOf, m.asOfDay, err = ParseAsOf(a); err != nil {
			return nil, fail(bagInfoFile, "Sendtrail-As-Of %q is not a date or time", a)
		}
	}

	// The checkpoint.
	cpb, err := b.read(checkpointFile, 64<<10)
	if err != nil {
		return nil, err
	}
	cp, err := OpenCheckpoint(cpb, key)
	if err != nil {
		return nil, fail(checkpointFile, "%v", err)
	}
	if cp.Origin != Origin(plan) {
		return nil, fail(checkpointFile, "is for %s, but the bundle is of %s", cp.Origin, Origin(plan))
	}
	if info["Sendtrail-Tree-Size"] != strconv.FormatUint(cp.Size, 10) || info["Sendtrail-Root-Hash"] != cp.RootBase64() {
		return nil, fail(bagInfoFile, "names tree size %s and root %s, the checkpoint %d and %s", info["Sendtrail-Tree-Size"], info["Sendtrail-Root-Hash"], cp.Size, cp.RootBase64())
	}
	m.cp, m.signedCheckpoint = cp, cpb
	verdict := &Verdict{Plan: plan, AsOf: m.asOfText(), Size: cp.Size, Root: cp.RootBase64(), Fingerprint: key.Fingerprint(), KeyPinned: !opt.Key.IsZero(), Files: len(payload)}

	// An earlier checkpoint: the bundle's own, with its proof, and the one
	// the verifier held.
	t := newTree()
	if _, ok := payload[previousFile]; ok {
		pb, err := b.read(previousFile, 64<<10)
		if err != nil {
			return nil, err
		}
		prev, err := OpenCheckpoint(pb, key)
		if err != nil {
			return nil, fail(previousFile, "%v", err)
		}
		prb, err := b.read(proofFile, 64<<10)
		if err != nil {
			return nil, err
		}
		pr, err := ParseConsistencyProof(prb)
		if err != nil {
			return nil, fail(proofFile, "%v", err)
		}
		if prev.Origin != cp.Origin || pr.Origin != cp.Origin || pr.From != prev.Size || pr.To != cp.Size {
			return nil, fail(proofFile, "is from %s %d to %d, but the checkpoints are %s %d and %s %d", pr.Origin, pr.From, pr.To, prev.Origin, prev.Size, cp.Origin, cp.Size)
		}
		if err := verifyConsistency(prev.Size, cp.Size, pr.Hashes, prev.Root, cp.Root); err != nil {
			return nil, fail(proofFile, "does not prove that this log of %d events extends the earlier checkpoint of %d: %v", cp.Size, prev.Size, err)
		}
		m.prev = &prev
		t.rootAt(prev.Size)
		verdict.Previous = append(verdict.Previous, fmt.Sprintf("extends the earlier checkpoint in the bundle (%d events, consistency proof checked)", prev.Size))
	}
	var held *Checkpoint
	if len(opt.Previous) > 0 {
		h, err := OpenCheckpoint(opt.Previous, key)
		if err != nil {
			return nil, fail("--previous", "%v", err)
		}
		if h.Origin != cp.Origin {
			return nil, fail("--previous", "is a checkpoint of %s, this bundle is of %s", h.Origin, cp.Origin)
		}
		if h.Size > cp.Size {
			return nil, fail("--previous", "your checkpoint covers %d events but this bundle only %d: the bundle is older than your checkpoint, or the log was cut short", h.Size, cp.Size)
		}
		held = &h
		t.rootAt(h.Size)
	}

	// The events: decode each leaf, check its line, fold the plan, hash the
	// tree, and check each history row as it comes.
	tmp, err := os.MkdirTemp(opt.TempDir, "sendtrail-verify-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	// The workbook's history sheets are compared with the CSV files (which
	// the events pass checks against the events) on another core.
	xlsxDone := make(chan xlsxResult, 1)
	xctx, stopXLSX := context.WithCancel(ctx)
	go func() { xlsxDone <- b.checkWorkbookHistories(xctx, tmp) }()
	var xres *xlsxResult
	waitXLSX := func() xlsxResult {
		if xres == nil {
			r := <-xlsxDone
			xres = &r
		}
		return *xres
	}
	defer func() {
		if r := waitXLSX(); r.x != nil {
			r.x.Close()
		}
	}()
	defer stopXLSX() // runs first: a failed verification does not wait for the workbook

	type csvCursor struct {
		rc   io.ReadCloser
		r    interface{ Read() ([]string, error) }
		row  int
		sp   *spool
		file string
	}
	cursors := map[*table]*csvCursor{}
	defer func() {
		for _, c := range cursors {
			c.rc.Close()
			c.sp.close()
		}
	}()
	for _, tbl := range changeTables {
		c, err := b.openCSV(tbl)
		if err != nil {
			return nil, err
		}
		sp, err := newSpool(tmp)
		if err != nil {
			c.rc.Close()
			return nil, err
		}
		cursors[tbl] = &csvCursor{rc: c.rc, r: c.r, row: 1, sp: sp, file: payloadDir + tbl.file}
	}
	type export struct {
		leaf uint64
		e    domain.EvidenceExported
	}
	var exports []export
	v, col, dec := newView(), newCollector(), newDecoder()
	ef, err := b.files[eventsFile].Open()
	if err != nil {
		return nil, fail(eventsFile, "cannot be read: %v", err)
	}
	defer ef.Close()
	br := bufio.NewReaderSize(ef, 1<<20)
	var lastSeq uint64
	var sheetErr error
	for i := uint64(0); ; i++ {
		line, err := readLine(br)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fail(eventsFile, "line %d: %v", i+1, err)
		}
		l, err := parseEventLine(line)
		if err != nil {
			return nil, fail(eventsFile, "line %d is not an event line (leaf, sequence, raw): %v", i+1, err)
		}
		if *l.Leaf != i {
			return nil, fail(eventsFile, "line %d is leaf %d, not %d: an event was dropped, added or reordered", i+1, *l.Leaf, i)
		}
		if l.Sequence <= lastSeq {
			return nil, fail(eventsFile, "leaf %d has stream sequence %d after %d: the events are not in stream order (reordered)", i, l.Sequence, lastSeq)
		}
		lastSeq = l.Sequence
		raw, err := base64.StdEncoding.DecodeString(*l.Raw)
		if err != nil {
			return nil, fail(eventsFile, "leaf %d: raw is not base64: %v", i, err)
		}
		env, want, err := dec.decode(i, l.Sequence, raw)
		if err != nil {
			return nil, fail(eventsFile, "leaf %d: the raw bytes are not a sendtrail event: %v", i, err)
		}
		if env.Plan != plan {
			return nil, fail(eventsFile, "leaf %d is an event of plan %q, not %s", i, env.Plan, plan)
		}
		if !bytes.Equal(line, bytes.TrimSuffix(want, []byte("\n"))) {
			return nil, fail(eventsFile, "leaf %d: the decoded fields do not match the event's raw bytes (%s differs)", i, firstJSONDiff(line, want))
		}
		if err := t.add(raw); err != nil {
			return nil, err
		}
		st := v.apply(env)
		col.add(st)
		if tbl, row := v.changeRow(st); tbl != nil {
			// A history row that disagrees is reported after the Merkle
			// checks: a changed log is the first thing to say.
			c := cursors[tbl]
			got, err := c.r.Read()
			c.row++
			switch {
			case sheetErr != nil:
			case err == io.EOF:
				sheetErr = fail(c.file, "ends at row %d, but leaf %d (sequence %d) is a %s that belongs in it: a row was removed", c.row-1, i, l.Sequence, env.Event.Type())
			case err != nil:
				sheetErr = fail(c.file, "row %d: %v", c.row, err)
			default:
				sheetErr = compareRow(c.file, c.row, tbl, got, row, true)
			}
			if err := c.sp.write(row); err != nil {
				return nil, err
			}
		}
		if e, ok := env.Event.(domain.EvidenceExported); ok {
			exports = append(exports, export{leaf: i, e: e})
		}
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
	}
	if t.size() != cp.Size {
		return nil, fail(eventsFile, "holds %d events but the checkpoint commits to %d: events were dropped or added", t.size(), cp.Size)
	}
	if root := t.root(); !bytes.Equal(root, cp.Root) {
		return nil, fail(eventsFile, "the Merkle root of its %d events is %s but the checkpoint's is %s: an event was changed, dropped, added or reordered",
			t.size(), b64(root), cp.RootBase64())
	}
	if m.prev != nil {
		if at, _ := t.rootOf(m.prev.Size); !bytes.Equal(at, m.prev.Root) {
			return nil, fail(previousFile, "its root is not that of the first %d events here", m.prev.Size)
		}
	}
	if held != nil {
		at, _ := t.rootOf(held.Size)
		if !bytes.Equal(at, held.Root) {
			return nil, fail("--previous", "your checkpoint (%d events, root %s) is not a prefix of this bundle's log, whose first %d events have root %s: the log was rewritten after you received that checkpoint",
				held.Size, held.RootBase64(), held.Size, b64(at))
		}
		verdict.Previous = append(verdict.Previous, fmt.Sprintf("extends your checkpoint of %d events unchanged", held.Size))
	}

	// Earlier exports recorded in the log name a tree size and root: the
	// log here must agree with each.
	if len(exports) > 0 {
		t2 := newTree()
		for _, x := range exports {
			if x.e.TreeSize > x.leaf {
				return nil, fail(eventsFile, "leaf %d records an export of %d events, more than came before it", x.leaf, x.e.TreeSize)
			}
			t2.rootAt(x.e.TreeSize)
		}
		if err := b.eachRaw(func(raw []byte) error { return t2.add(raw) }); err != nil {
			return nil, err
		}
		for _, x := range exports {
			at, _ := t2.rootOf(x.e.TreeSize)
			if b64(at) != x.e.RootHash {
				return nil, fail(eventsFile, "leaf %d records an export of the first %d events with root %s, but those events here have root %s: the log was rewritten after that export",
					x.leaf, x.e.TreeSize, x.e.RootHash, b64(at))
			}
		}
		verdict.Exports = len(exports)
	}

	// The histories, then the plan's tables as of the date.
	if sheetErr != nil {
		return nil, sheetErr
	}
	for _, tbl := range changeTables {
		c := cursors[tbl]
		if _, err := c.r.Read(); err != io.EOF {
			return nil, fail(c.file, "has a row %d that no event gives: a row was added", c.row+1)
		}
	}
	// The plan's tables as of the date.
	actions := v.sortedActions()
	var actionRows [][]string
	for _, a := range actions {
		actionRows = append(actionRows, v.actionRow(a, m.day))
	}
	if err := b.compareCSV(&actionsTable, actionRows); err != nil {
		return nil, err
	}
	var kpiRows [][]string
	for _, k := range v.sortedKpis() {
		kpiRows = append(kpiRows, v.kpiRows(k)...)
	}
	if err := b.compareCSV(&kpiTable, kpiRows); err != nil {
		return nil, err
	}
	r := buildReport(v, col, m)
	// The workbook: its histories were checked against the CSV files
	// beside the events pass; now the sheets of the plan as of the date,
	// and the Summary (which names the key) last.
	xr := waitXLSX()
	if xr.err != nil {
		return nil, xr.err
	}
	for _, sh := range []struct {
		t    *table
		rows [][]string
	}{{&actionsTable, actionRows}, {&kpiTable, kpiRows}, {nil, summaryRows(r)}} {
		if err := compareSheet(xr.x, sh.t, func(add func([]string) error) error { return eachRow(sh.rows, add) }, false); err != nil {
			return nil, err
		}
	}

	// The report names the checkpoint it belongs to.
	html, err := b.read(reportHTMLFile, 1<<30)
	if err != nil {
		return nil, err
	}
	if !bytes.Contains(html, []byte(hex.EncodeToString(cp.Root))) || !bytes.Contains(html, []byte(cp.Origin)) {
		return nil, fail(reportHTMLFile, "does not name the bundle's checkpoint (%s, root %x)", cp.Origin, cp.Root)
	}
	if err := b.checkPDF(); err != nil {
		return nil, err
	}
	return verdict, nil
}

// lineFields are what verify reads of an events.jsonl line: the rest is
// re-derived from raw and compared whole.
type lineFields struct {
	Leaf     *uint64 `json:"leaf"`
	Sequence uint64  `json:"sequence"`
	Raw      *string `json:"raw"`
}

// parseEventLine reads leaf, sequence and raw. Lines as sendtrail writes
// them ({"leaf":N,"sequence":M,…,"raw":"…"}) are read without a JSON
// parse (the whole line is compared with the one re-derived from raw
// anyway); anything else goes through encoding/json.
func parseEventLine(line []byte) (lineFields, error) {
	var l lineFields
	if rest, ok := bytes.CutPrefix(line, []byte(`{"leaf":`)); ok {
		leafText, rest, ok1 := bytes.Cut(rest, []byte(`,"sequence":`))
		seqText, _, ok2 := bytes.Cut(rest, []byte(`,`))
		i := bytes.LastIndex(line, []byte(`,"raw":"`))
		leaf, err1 := strconv.ParseUint(string(leafText), 10, 64)
		seq, err2 := strconv.ParseUint(string(seqText), 10, 64)
		if ok1 && ok2 && i > 0 && bytes.HasSuffix(line, []byte(`"}`)) && err1 == nil && err2 == nil {
			raw := string(line[i+len(`,"raw":"`) : len(line)-2])
			if !strings.ContainsAny(raw, `"\`) {
				l.Leaf, l.Sequence, l.Raw = &leaf, seq, &raw
				return l, nil
			}
		}
	}
	if err := json.Unmarshal(line, &l); err != nil {
		return l, err
	}
	if l.Leaf == nil || l.Raw == nil {
		return l, errors.New("no leaf or no raw")
	}
	return l, nil
}

// readLine reads one line of events.jsonl, without its "\n".
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if err == bufio.ErrBufferFull {
			if len(line) > 64<<20 {
				return nil, errors.New("longer than 64 MiB")
			}
			continue
		}
		if err == io.EOF {
			if len(line) == 0 {
				return nil, io.EOF
			}
			return nil, errors.New("the last line has no newline: the file was cut short")
		}
		if err != nil {
			return nil, err
		}
		return line[:len(line)-1], nil
	}
}

// eachRaw calls fn with each leaf's raw bytes from events.jsonl (already
// checked).
func (b *bundle) eachRaw(fn func(raw []byte) error) error {
	ef, err := b.files[eventsFile].Open()
	if err != nil {
		return fail(eventsFile, "cannot be read: %v", err)
	}
	defer ef.Close()
	br := bufio.NewReaderSize(ef, 1<<20)
	for {
		line, err := readLine(br)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fail(eventsFile, "%v", err)
		}
		l, err := parseEventLine(line)
		if err != nil {
			return fail(eventsFile, "%v", err)
		}
		raw, err := base64.StdEncoding.DecodeString(*l.Raw)
		if err != nil {
			return fail(eventsFile, "%v", err)
		}
		if err := fn(raw); err != nil {
			return err
		}
	}
}

// firstJSONDiff names the first field two event lines disagree on.
func firstJSONDiff(a, b []byte) string {
	var ma, mb map[string]json.RawMessage
	if json.Unmarshal(a, &ma) != nil || json.Unmarshal(b, &mb) != nil {
		return "the line"
	}
	for _, k := range []string{"leaf", "sequence", "event_id", "type", "plan", "aggregate_type", "aggregate_id", "occurred_at", "recorded_at", "actor", "correlation_id", "schema_version", "data", "raw"} {
		if !bytes.Equal(ma[k], mb[k]) {
			return strconv.Quote(k)
		}
	}
	for k := range ma {
		if _, ok := mb[k]; !ok {
			return "an added field " + strconv.Quote(k)
		}
	}
	return "the formatting"
}

func eachRow(rows [][]string, add func([]string) error) error {
	for _, r := range rows {
		if err := add(r); err != nil {
			return err
		}
	}
	return nil
}

type csvOpen struct {
	rc io.ReadCloser
	r  interface{ Read() ([]string, error) }
}

// openCSV opens a table's CSV and checks its header.
func (b *bundle) openCSV(t *table) (*csvOpen, error) {
	name := payloadDir + t.file
	f, ok := b.files[name]
	if !ok {
		return nil, fail(name, "is missing")
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fail(name, "cannot be read: %v", err)
	}
	cr, err := newCSVReader(rc)
	if err != nil {
		rc.Close()
		return nil, fail(name, "%v", err)
	}
	hdr, err := cr.Read()
	if err != nil {
		rc.Close()
		return nil, fail(name, "row 1: %v", err)
	}
	if err := compareRow(name, 1, t, hdr, t.header, true); err != nil {
		rc.Close()
		return nil, err
	}
	return &csvOpen{rc: rc, r: cr}, nil
}

// compareCSV checks a whole table's CSV against the rows the events give.
func (b *bundle) compareCSV(t *table, want [][]string) error {
	c, err := b.openCSV(t)
	if err != nil {
		return err
	}
	defer c.rc.Close()
	name := payloadDir + t.file
	for i, w := range want {
		got, err := c.r.Read()
		if err == io.EOF {
			return fail(name, "ends at row %d, but the events give %d rows: a row was removed", i+1, len(want)+1)
		}
		if err != nil {
			return fail(name, "row %d: %v", i+2, err)
		}
		if err := compareRow(name, i+2, t, got, w, true); err != nil {
			return err
		}
	}
	if _, err := c.r.Read(); err != io.EOF {
		return fail(name, "has a row %d that the events do not give: a row was added", len(want)+2)
	}
	return nil
}

// compareRow checks one row of a spreadsheet against the row the events
// give; escaped: the file is a CSV (cells went through csvSafe).
func compareRow(file string, rowNum int, t *table, got, want []string, escaped bool) error {
	where := func(i int) string {
		col := strconv.Itoa(i + 1)
		if t != nil && i < len(t.header) {
			col = strconv.Quote(t.header[i])
		}
		id := ""
		if rowNum > 1 && len(want) > 0 && t != nil {
			switch t {
			case &actionsTable:
				id = " (ref " + want[0] + ")"
			case &kpiTable:
				id = " (" + want[0] + ")"
			default:
				id = " (sequence " + want[0] + ")"
			}
		}
		return fmt.Sprintf("row %d%s, column %s", rowNum, id, col)
	}
	n := max(len(got), len(want))
	for i := 0; i < n; i++ {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
			if escaped {
				w = csvSafe(w)
			} else {
				w = xlsxCell(w)
			}
		}
		if g != w {
			return fail(file, "%s says %q, but the events give %q: the spreadsheet does not match the events (edited after export)", where(i), g, w)
		}
	}
	return nil
}

// trimTrailing drops trailing empty cells, as spreadsheet readers do.
func trimTrailing(row []string) []string {
	n := len(row)
	for n > 0 && row[n-1] == "" {
		n--
	}
	return row[:n]
}

// noFormulas checks that no worksheet cell of the workbook holds a formula.
func noFormulas(path string) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return fail(xlsxFile, "is not a workbook: %v", err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if !strings.HasPrefix(f.Name, "xl/worksheets/") || !strings.HasSuffix(f.Name, ".xml") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return fail(xlsxFile, "%s: %v", f.Name, err)
		}
		found, err := containsTag(rc, []byte("<f>"), []byte("<f "))
		rc.Close()
		if err != nil {
			return fail(xlsxFile, "%s: %v", f.Name, err)
		}
		if found {
			return fail(xlsxFile, "%s holds a formula: no cell of a bundle may be a formula", f.Name)
		}
	}
	return nil
}

// containsTag reports whether r holds any of the needles, reading in
// chunks (the needles are short).
func containsTag(r io.Reader, needles ...[]byte) (bool, error) {
	buf := make([]byte, 1<<20)
	carry := 0
	for {
		n, err := r.Read(buf[carry:])
		chunk := buf[:carry+n]
		for _, nd := range needles {
			if bytes.Contains(chunk, nd) {
				return true, nil
			}
		}
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		keep := min(len(chunk), 8)
		copy(buf, chunk[len(chunk)-keep:])
		carry = keep
	}
}

// checkPDF checks report.pdf is a PDF that names the checkpoint's root in
// its metadata.
func (b *bundle) checkPDF() error {
	f := b.files[reportPDFFile]
	rc, err := f.Open()
	if err != nil {
		return fail(reportPDFFile, "cannot be read: %v", err)
	}
	defer rc.Close()
	head := make([]byte, 5)
	if _, err := io.ReadFull(rc, head); err != nil || string(head) != "%PDF-" {
		return fail(reportPDFFile, "is not a PDF")
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
