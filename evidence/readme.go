package evidence

import (
	"fmt"
	"strings"
)

// verifySteps is how to check a bundle, for the README and the report.
var verifySteps = []struct{ Title, Body string }{
	{"With sendtrail (offline, everything at once)",
		"sendtrail verify BUNDLE.zip --key PLAN-OWNER-KEY.pem [--previous CHECKPOINT.txt]\n" +
			"It checks the bag and every digest, both signatures, recomputes the Merkle root from events.jsonl, checks the consistency proof, " +
			"and re-derives the plan from the events to compare with every spreadsheet. Exit status 0 and one line saying VALID, or the first failure."},
	{"1. The key is the plan owner's",
		"openssl pkey -pubin -in data/public-key.pem -outform DER | sha256sum\n" +
			"The digest must equal the fingerprint the plan owner published (sendtrail key show)."},
	{"2. The signature over the tag manifest",
		"openssl pkeyutl -verify -pubin -inkey data/public-key.pem -rawin -in tagmanifest-sha256.txt -sigfile tagmanifest.sig\n" +
			"Prints \"Signature Verified Successfully\" (OpenSSL 3)."},
	{"3. The digests",
		"sha256sum -c tagmanifest-sha256.txt && sha256sum -c manifest-sha256.txt\n" +
			"Run in the bundle's folder after unzipping. Every line must say OK."},
	{"4. The Merkle root and the events",
		"data/checkpoint.txt is a signed C2SP checkpoint: origin, number of events, base64 RFC 6962 root. Leaf i is the base64-decoded \"raw\" of line i of events.jsonl. " +
			"Any RFC 6962 implementation recomputes the root; sendtrail verify does."},
}

// readme is data/README.txt: what the bundle holds, how to check it, what
// it proves and what it cannot.
func readme(r *reportData) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Evidence bundle: %s (%s)\n", r.Title, r.Plan)
	fmt.Fprintf(&b, "As of: %s\n%s\n\n", r.AsOf, r.AsOfNote)
	fmt.Fprintf(&b, "Events: %d (stream sequences %d to %d)\nCheckpoint: %s, %d events, root %s\nSigning key fingerprint (SHA-256): %s\n\n",
		r.Events, r.FirstSeq, r.LastSeq, r.Origin, r.Events, r.RootBase64, r.Fingerprint)
	b.WriteString(`WHAT IS HERE
  events.jsonl          every event of the plan up to the checkpoint, in stream order: leaf index,
                        stream sequence, the decoded fields, and "raw": the exact stored bytes (base64)
  actions.csv           the plan's actions as of the date
  deadline-changes.csv  every deadline move, with its reason category and reason
  rag-changes.csv       every RAG change, with its commentary
  lead-changes.csv      every change of lead, with its reason
  kpi-values.csv        every indicator's values by period, with corrections and their reasons
  evidence.xlsx         the same tables as sheets, and a Summary sheet
  report.pdf/.html      the readable report
  checkpoint.txt        the signed checkpoint (C2SP tlog-checkpoint, Ed25519)
  public-key.pem        the signing key (for openssl); public-key.vkey: the same as a signed-note key
  consistency-proof.txt and previous-checkpoint.txt, when an earlier checkpoint was given:
                        the RFC 9162 proof that this log extends that one unchanged

The CSV files are UTF-8 with a byte order mark. No cell is a formula: a value that starts with
= + - @ or a tab is prefixed with ' in the CSV files (OWASP), and the workbook's cells are text.

HOW TO CHECK IT
`)
	for _, s := range verifySteps {
		fmt.Fprintf(&b, "\n%s\n", s.Title)
		for _, line := range strings.Split(s.Body, "\n") {
			fmt.Fprintf(&b, "  %s\n", line)
		}
	}
	b.WriteString(`
WHAT IT PROVES
  - Every file is exactly as the holder of the signing key exported it (digests and signature).
  - events.jsonl holds exactly the events the checkpoint commits to, none dropped, added,
    changed or reordered (the Merkle root).
  - The spreadsheets say what the events say: sendtrail verify re-derives them with the same
    rules the service uses.
  - With an earlier checkpoint (one you held before, or the one in this bundle): the log
    this bundle shows extends that one; nothing before it was changed since.

WHAT IT CANNOT PROVE
  - That the events are true: they record who said what, not whether it was so.
  - Anything before the first checkpoint you held: the key holder could have rewritten
    the log before then and signed the rewrite. Keep each bundle's checkpoint.txt and pass
    it to the next verification (--previous).
  - That the key is the plan owner's, unless you compare its fingerprint with the one the
    owner published (pass --key).
  - That nothing was recorded after the as-of time: the bundle is the log up to then.
`)
	return b.String()
}
