// Package evidence makes and checks inspectors' evidence bundles: a plan's
// history that a person can read and an engineer can verify offline.
//
//   - The tree (merkle.go, extension.go): each plan's events, in stream
//     order, are the leaves of an RFC 6962 / RFC 9162 Merkle tree, leaf =
//     the exact stored bytes. The read model keeps each plan's compact
//     range and a signed C2SP checkpoint (checkpoint.go, key.go: Ed25519,
//     signed notes) in the same transaction as the events.
//   - The bundle (export.go, bag.go): a BagIt zip written as a stream:
//     events.jsonl, the spreadsheets (rows.go, csv.go, xlsx.go: no cell is
//     ever a formula), the report (report.go, html.go, pdf.go), the
//     checkpoint, the key, the manifests and a detached signature, and,
//     given an earlier checkpoint, a consistency proof.
//   - The verifier (verify.go, xlsxcheck.go): every digest, the signatures,
//     the Merkle root from the events, the proofs, and every spreadsheet
//     cell against the plan re-derived with the domain's own Evolve (fold.go).
//
// docs/evidence.md says what a bundle holds, proves and cannot prove.
package evidence
