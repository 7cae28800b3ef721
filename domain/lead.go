package domain

import "strings"

// Lead is a person accountable for an action, as the plan names them.
// Name is required; role and organisation are free text.
type Lead struct {
	Name         string
	Role         string
	Organisation string
}

// NewLead returns a lead with space trimmed, or EINVALID if the name is empty.
func NewLead(name, role, org string) (Lead, error) {
	l := Lead{Name: strings.TrimSpace(name), Role: strings.TrimSpace(role), Organisation: strings.TrimSpace(org)}
	if l.Name == "" {
		return Lead{}, Invalid("leads", "a lead needs a name")
	}
	return l, nil
}

// String returns "Name – Role – Organisation", omitting empty parts.
func (l Lead) String() string {
	parts := []string{l.Name}
	if l.Role != "" {
		parts = append(parts, l.Role)
	}
	if l.Organisation != "" {
		parts = append(parts, l.Organisation)
	}
	return strings.Join(parts, " – ")
}

func leadsEqual(a, b []Lead) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Direction is a KPI's required direction of travel.
type Direction struct{ code string }

var (
	DirectionNone = Direction{}       // the plan gives none
	DirectionUp   = Direction{"up"}   // ▲ higher is better
	DirectionDown = Direction{"down"} // ▼ lower is better
)

// ParseDirection accepts "up", "down", "▲", "▼" or "" (none).
func ParseDirection(s string) (Direction, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return DirectionNone, nil
	case "up", "▲", "↑":
		return DirectionUp, nil
	case "down", "▼", "↓":
		return DirectionDown, nil
	}
	return DirectionNone, Invalid("direction", "%q is not a direction (want ▲/up, ▼/down or empty)", s)
}

// String returns "up", "down" or "".
func (d Direction) String() string { return d.code }
