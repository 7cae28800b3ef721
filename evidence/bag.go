package evidence

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"sort"
	"strings"
	"time"
)

// A bundle is a BagIt bag (RFC 8493) serialised as a zip with one
// top-level folder:
//
//	<plan>-evidence-<size>/
//	  bagit.txt                 BagIt-Version 1.0, UTF-8
//	  bag-info.txt              what the bag is: plan, as-of, tree size, root, key, who exported it
//	  manifest-sha256.txt       SHA-256 of every file under data/
//	  tagmanifest-sha256.txt    SHA-256 of bagit.txt, bag-info.txt and manifest-sha256.txt
//	  tagmanifest.sig           raw 64-byte Ed25519 signature of tagmanifest-sha256.txt
//	  data/…                    the payload
//
// The signature covers the tag manifest, which covers the manifest, which
// covers every payload file: one signature check and the digests prove
// every byte.
const (
	bagitFile       = "bagit.txt"
	bagInfoFile     = "bag-info.txt"
	manifestFile    = "manifest-sha256.txt"
	tagManifestFile = "tagmanifest-sha256.txt"
	signatureFile   = "tagmanifest.sig"
	bagitText       = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"

	// BundleVersion is the layout of the payload that this code writes
	// and verifies.
	BundleVersion = "1"
)

// Payload files.
const (
	eventsFile        = "data/events.jsonl"
	xlsxFile          = "data/evidence.xlsx"
	reportHTMLFile    = "data/report.html"
	reportPDFFile     = "data/report.pdf"
	checkpointFile    = "data/checkpoint.txt"
	publicKeyFile     = "data/public-key.pem"
	verifierKeyFile   = "data/public-key.vkey"
	previousFile      = "data/previous-checkpoint.txt"
	proofFile         = "data/consistency-proof.txt"
	readmeFile        = "data/README.txt"
	payloadDir        = "data/"
	maxTagFileBytes   = 1 << 20
	maxSmallFileBytes = 1 << 20
)

type bagEntry struct {
	name string
	sum  []byte
	size int64
}

// bagWriter writes a bag into a zip as a stream: each file's SHA-256 is
// computed while it is written, and the manifests come last.
type bagWriter struct {
	zw      *zip.Writer
	root    string
	mod     time.Time
	payload []bagEntry
	tags    []bagEntry
}

func newBagWriter(w io.Writer, root string, mod time.Time) *bagWriter {
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestSpeed)
	})
	return &bagWriter{zw: zw, root: root, mod: mod.UTC().Truncate(time.Second)}
}

type hashWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (hw *hashWriter) Write(p []byte) (int, error) {
	n, err := hw.w.Write(p)
	hw.h.Write(p[:n])
	hw.n += int64(n)
	return n, err
}

// file writes one file of the bag (name relative to the bag's folder);
// fn writes its content. Files that are compressed already (xlsx, pdf)
// are stored, the rest deflated.
func (b *bagWriter) file(name string, fn func(w io.Writer) error) error {
	method := zip.Deflate
	if strings.HasSuffix(name, ".xlsx") || strings.HasSuffix(name, ".pdf") || name == signatureFile {
		method = zip.Store
	}
	zf, err := b.zw.CreateHeader(&zip.FileHeader{Name: b.root + "/" + name, Method: method, Modified: b.mod})
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	hw := &hashWriter{w: zf, h: sha256.New()}
	bw := bufio.NewWriterSize(hw, 256<<10)
	if err := fn(bw); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	e := bagEntry{name: name, sum: hw.h.Sum(nil), size: hw.n}
	if strings.HasPrefix(name, payloadDir) {
		b.payload = append(b.payload, e)
	} else {
		b.tags = append(b.tags, e)
	}
	return nil
}

func (b *bagWriter) bytes(name string, content []byte) error {
	return b.file(name, func(w io.Writer) error { _, err := w.Write(content); return err })
}

// finish writes the manifest, bagit.txt, bag-info.txt (with the
// Payload-Oxum), the tag manifest and its signature, and closes the zip.
func (b *bagWriter) finish(info [][2]string, key *Key) error {
	var oxBytes int64
	for _, e := range b.payload {
		oxBytes += e.size
	}
	if err := b.bytes(manifestFile, manifest(b.payload)); err != nil {
		return err
	}
	if err := b.bytes(bagitFile, []byte(bagitText)); err != nil {
		return err
	}
	info = append(info, [2]string{"Payload-Oxum", fmt.Sprintf("%d.%d", oxBytes, len(b.payload))})
	var bi bytes.Buffer
	for _, kv := range info {
		fmt.Fprintf(&bi, "%s: %s\n", kv[0], oneLine(kv[1]))
	}
	if err := b.bytes(bagInfoFile, bi.Bytes()); err != nil {
		return err
	}
	tm := manifest(b.tags)
	if err := b.bytes(tagManifestFile, tm); err != nil {
		return err
	}
	if err := b.bytes(signatureFile, key.Sign(tm)); err != nil {
		return err
	}
	return b.zw.Close()
}

// manifest writes "<sha256 hex>  <path>" lines (the sha256sum format),
// sorted by path.
func manifest(entries []bagEntry) []byte {
	es := append([]bagEntry(nil), entries...)
	sort.Slice(es, func(i, j int) bool { return es[i].name < es[j].name })
	var b bytes.Buffer
	for _, e := range es {
		fmt.Fprintf(&b, "%s  %s\n", hex.EncodeToString(e.sum), e.name)
	}
	return b.Bytes()
}

// oneLine folds a value onto one line for bag-info.txt.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// parseManifest reads a manifest: path → hex digest. Paths must be
// relative, use "/" and not leave the bag.
func parseManifest(b []byte) (map[string]string, []string, error) {
	out := map[string]string{}
	var order []string
	for i, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if line == "" {
			continue
		}
		sum, path, ok := strings.Cut(line, "  ")
		if !ok {
			sum, path, ok = strings.Cut(line, " ")
		}
		if !ok || len(sum) != 64 {
			return nil, nil, fmt.Errorf("line %d is not \"<sha256>  <path>\"", i+1)
		}
		if _, err := hex.DecodeString(sum); err != nil {
			return nil, nil, fmt.Errorf("line %d: %q is not a hex SHA-256", i+1, sum)
		}
		path = strings.TrimPrefix(path, "*")
		if path == "" || strings.HasPrefix(path, "/") || strings.Contains(path, "\\") || hasDotDot(path) {
			return nil, nil, fmt.Errorf("line %d: path %q is not inside the bag", i+1, path)
		}
		if _, dup := out[path]; dup {
			return nil, nil, fmt.Errorf("line %d: %s is listed twice", i+1, path)
		}
		out[path] = strings.ToLower(sum)
		order = append(order, path)
	}
	return out, order, nil
}

func hasDotDot(p string) bool {
	for _, part := range strings.Split(p, "/") {
		if part == ".." || part == "." || part == "" {
			return true
		}
	}
	return false
}

// parseBagInfo reads bag-info.txt's "Label: value" lines (continuation
// lines start with white space).
func parseBagInfo(b []byte) (map[string]string, error) {
	out := map[string]string{}
	last := ""
	for i, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if line == "" {
			continue
		}
		if (line[0] == ' ' || line[0] == '\t') && last != "" {
			out[last] += " " + strings.TrimSpace(line)
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("line %d is not \"Label: value\"", i+1)
		}
		last = strings.TrimSpace(k)
		out[last] = strings.TrimSpace(v)
	}
	return out, nil
}
