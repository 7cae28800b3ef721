package domain

import "strings"

// RAG is a rating from the plan's own scheme. The zero value is "not yet
// rated"; no other value can be constructed except through ParseRAG.
type RAG struct{ code string }

// The plan's RAG scheme.
var (
	NotRated   = RAG{}
	RagRed     = RAG{"R"}  // high risk
	RagAmber   = RAG{"A"}  // significant risk
	RagPurple  = RAG{"P"}  // on track
	RagGreen   = RAG{"G"}  // actioned: implemented and embedded
	RagDone    = RAG{"C"}  // completed, can be removed from the plan
	RagNotYet  = RAG{"NS"} // not started
	ragCodes   = []RAG{RagRed, RagAmber, RagPurple, RagGreen, RagDone, RagNotYet}
	ragDescrip = map[string]string{
		"R":  "High risk – action not started yet but expected to have commenced / escalation required due to performance concerns / significant delay",
		"A":  "Significant risk – plan in place, action started but further work required to ensure improvement",
		"P":  "On track – running to plan and within timescale, performance has improved against the plan",
		"G":  "Actioned – implemented and embedded",
		"C":  "Completed and can be removed from plan",
		"NS": "Not started",
	}
)

// RAGCodes returns the scheme's codes in the plan's order: R, A, P, G, C, NS.
func RAGCodes() []RAG { return append([]RAG(nil), ragCodes...) }

// ParseRAG parses a RAG code (case-insensitive, surrounding space ignored).
// The empty string is NotRated. Anything else is an EINVALID error.
func ParseRAG(s string) (RAG, error) {
	c := strings.ToUpper(strings.TrimSpace(s))
	if c == "" {
		return NotRated, nil
	}
	for _, r := range ragCodes {
		if r.code == c {
			return r, nil
		}
	}
	return NotRated, Invalid("rag", "%q is not a RAG code (want one of R, A, P, G, C, NS, or empty for not yet rated)", s)
}

// String returns the code ("A"), or "" when not yet rated.
func (r RAG) String() string { return r.code }

// IsRated reports whether r is a rating rather than "not yet rated".
func (r RAG) IsRated() bool { return r.code != "" }

// Description is the plan scheme's wording for the code.
func (r RAG) Description() string {
	if r.code == "" {
		return "Not yet rated"
	}
	return ragDescrip[r.code]
}

// Closed reports whether the rating means the work is done (G or C), so the
// action no longer counts as overdue.
func (r RAG) Closed() bool { return r == RagGreen || r == RagDone }
