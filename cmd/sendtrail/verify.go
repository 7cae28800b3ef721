package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/sendtrail/sendtrail/evidence"
)

func init() {
	register("verify", "check an evidence bundle offline: digests, signatures, Merkle root, spreadsheets", runVerify)
}

// errInvalidBundle is a bundle that failed verification: exit status 1,
// the first failure on stderr.
type errInvalidBundle struct{ err error }

func (e errInvalidBundle) Error() string { return e.err.Error() }
func (e errInvalidBundle) Unwrap() error { return e.err }

func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var keyFile, previous string
	var asJSON bool
	fs := newFlagSet("verify", "verify BUNDLE.zip [--key PUBLIC-KEY] [--previous CHECKPOINT] [--json]",
		"sendtrail verify bcp-evidence.zip --key bcp-signing-key.pem --previous last-checkpoint.txt", stderr)
	fs.StringVar(&keyFile, "key", "", "the plan owner's published public key (PEM, or a verifier key): without it the bundle's own key is trusted, which proves integrity but not who signed")
	fs.StringVar(&previous, "previous", "", "checkpoint.txt of a bundle you received before: this bundle must extend that log unchanged")
	fs.BoolVar(&asJSON, "json", false, "print the verdict as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("verify takes one bundle: sendtrail verify BUNDLE.zip")
	}
	var opt evidence.VerifyOptions
	if keyFile != "" {
		if opt.Key, err = evidence.LoadPublic(keyFile); err != nil {
			return usagef("--key: %v", err)
		}
	}
	if previous != "" {
		if opt.Previous, err = os.ReadFile(previous); err != nil {
			return usagef("--previous: %v", err)
		}
	}
	if _, err := os.Stat(pos[0]); err != nil {
		return usagef("%v", err)
	}
	v, err := evidence.Verify(ctx, pos[0], opt)
	var ve *evidence.VerifyError
	if errors.As(err, &ve) {
		if asJSON {
			json.NewEncoder(stdout).Encode(map[string]any{"valid": false, "file": ve.File, "error": ve.Msg})
		}
		return errInvalidBundle{err}
	}
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{
			"valid": true, "plan": v.Plan, "as_of": v.AsOf, "tree_size": v.Size, "root_hash": v.Root,
			"key_fingerprint": v.Fingerprint, "key_pinned": v.KeyPinned, "previous": v.Previous, "exports_checked": v.Exports,
			"files": v.Files, "verdict": v.String(),
		})
	}
	_, err = fmt.Fprintln(stdout, v.String())
	return err
}
