package evidence

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// OriginPrefix starts every checkpoint origin: "sendtrail/<plan>".
const OriginPrefix = "sendtrail/"

// Origin is the checkpoint origin of a plan's log.
func Origin(plan string) string { return OriginPrefix + plan }

// Checkpoint is a plan log's signed tree head in the C2SP tlog-checkpoint
// format: the origin line, the tree size in decimal, the base64 root hash,
// then the signed-note signature block.
type Checkpoint struct {
	Origin string
	Size   uint64
	Root   []byte
}

// Plan returns the plan slug the origin names.
func (c Checkpoint) Plan() string { return strings.TrimPrefix(c.Origin, OriginPrefix) }

// RootBase64 is the root hash as the checkpoint writes it.
func (c Checkpoint) RootBase64() string { return base64.StdEncoding.EncodeToString(c.Root) }

// Body is the checkpoint's note text, without signatures.
func (c Checkpoint) Body() string {
	return fmt.Sprintf("%s\n%d\n%s\n", c.Origin, c.Size, c.RootBase64())
}

// Sign returns the signed checkpoint. Ed25519 is deterministic, so the
// same tree head and key always give the same bytes.
func (c Checkpoint) Sign(k *Key) ([]byte, error) {
	return note.Sign(&note.Note{Text: c.Body()}, k.signer())
}

// OpenCheckpoint verifies a signed checkpoint with key and parses it.
func OpenCheckpoint(b []byte, key Public) (Checkpoint, error) {
	v, err := key.verifier()
	if err != nil {
		return Checkpoint{}, err
	}
	n, err := note.Open(b, note.VerifierList(v))
	if err != nil {
		var une *note.UnverifiedNoteError
		var ise *note.InvalidSignatureError
		switch {
		case errors.As(err, &une):
			return Checkpoint{}, fmt.Errorf("not signed by key %s", key.ShortFingerprint())
		case errors.As(err, &ise):
			return Checkpoint{}, fmt.Errorf("signature by key %s does not verify: the checkpoint was changed", key.ShortFingerprint())
		}
		return Checkpoint{}, fmt.Errorf("not a signed checkpoint: %v", err)
	}
	return ParseCheckpointBody(n.Text)
}

// ParseCheckpointBody parses a checkpoint's note text (no signatures).
func ParseCheckpointBody(text string) (Checkpoint, error) {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 {
		return Checkpoint{}, errors.New("a checkpoint has an origin, a tree size and a root hash")
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil || strconv.FormatUint(size, 10) != lines[1] {
		return Checkpoint{}, fmt.Errorf("tree size %q is not a decimal number", lines[1])
	}
	root, err := decodeB64(lines[2])
	if err != nil || len(root) != 32 {
		return Checkpoint{}, fmt.Errorf("root hash %q is not 32 bytes of base64", lines[2])
	}
	if lines[0] == "" {
		return Checkpoint{}, errors.New("empty origin")
	}
	return Checkpoint{Origin: lines[0], Size: size, Root: root}, nil
}

// UnverifiedCheckpoint parses a signed checkpoint without checking its
// signature (to say which plan and size a file claims before checking).
func UnverifiedCheckpoint(b []byte) (Checkpoint, error) {
	i := bytes.Index(b, []byte("\n\n"))
	if i < 0 {
		return Checkpoint{}, errors.New("not a signed note: no blank line before the signatures")
	}
	return ParseCheckpointBody(string(b[:i+1]))
}

func decodeB64(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }
