package domain

import "strings"

// ReasonCategory classifies why a deadline moved. The documented list:
//
//	capacity      staff or team capacity
//	dependency    waiting on another action or decision
//	scope         the action's scope changed
//	external      outside the partnership's control (national policy, a provider)
//	funding       money not agreed or available
//	reprioritised the board reprioritised the work
//	rebaselined   re-baselining agreed with the DfE/NHS England adviser; not slippage
//	other         anything else (the reason says what)
type ReasonCategory struct{ code string }

var reasonCategories = []string{"capacity", "dependency", "scope", "external", "funding", "reprioritised", "rebaselined", "other"}

// ReasonCategories lists the valid categories in documented order.
func ReasonCategories() []ReasonCategory {
	out := make([]ReasonCategory, len(reasonCategories))
	for i, c := range reasonCategories {
		out[i] = ReasonCategory{c}
	}
	return out
}

// ParseReasonCategory parses a category name (case-insensitive).
func ParseReasonCategory(s string) (ReasonCategory, error) {
	c := strings.ToLower(strings.TrimSpace(s))
	if c == "" {
		return ReasonCategory{}, Invalid("reasonCategory", "a deadline move needs a reason category (one of %s)", strings.Join(reasonCategories, ", "))
	}
	for _, rc := range reasonCategories {
		if rc == c {
			return ReasonCategory{c}, nil
		}
	}
	return ReasonCategory{}, Invalid("reasonCategory", "%q is not a reason category (want one of %s)", s, strings.Join(reasonCategories, ", "))
}

// String returns the category name, or "" for the zero value.
func (c ReasonCategory) String() string { return c.code }

// IsSlip reports whether a move in this category counts as slippage
// (everything but an agreed re-baselining).
func (c ReasonCategory) IsSlip() bool { return c.code != "rebaselined" }
