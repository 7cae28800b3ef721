package projections

import (
	"context"
	"fmt"
	"time"

	"github.com/sendtrail/sendtrail/domain"
)

// TokenListing is an issued token as ListTokens shows it: never its hash.
type TokenListing struct {
	ID        string
	Principal string
	Name      string
	Role      domain.Role
	Plan      string // "*" for every plan
	LeadName  string
	IssuedAt  time.Time
	ExpiresAt time.Time // zero: never
	Revoked   bool
	RevokedAt time.Time // zero unless revoked
}

// TokenFilter selects tokens for ListTokens.
type TokenFilter struct {
	// Plan keeps the tokens for this plan; "*" keeps the tokens for every
	// plan only when AllPlans is false.
	Plan string
	// AllPlans lists the tokens of every plan, Plan ignored.
	AllPlans bool
	// ActiveAt keeps tokens neither revoked nor expired at this time; zero
	// keeps every token.
	ActiveAt time.Time
}

// ListTokens lists tokens, newest first.
func (db *DB) ListTokens(ctx context.Context, f TokenFilter) ([]TokenListing, error) {
	q := `SELECT token_id, principal, name, role, plan, lead_name, issued_at, expires_at, revoked, updated_at FROM tokens WHERE 1 = 1`
	var args []any
	if !f.AllPlans {
		q += ` AND plan = ?`
		args = append(args, f.Plan)
	}
	if !f.ActiveAt.IsZero() {
		q += ` AND revoked = 0 AND (expires_at = '' OR expires_at > ?)`
		args = append(args, fmtTime(f.ActiveAt))
	}
	q += ` ORDER BY issued_at DESC, token_id`
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("projections: list tokens: %w", err)
	}
	defer rows.Close()
	var out []TokenListing
	for rows.Next() {
		var (
			t                         TokenListing
			role, issued, exp, update string
		)
		if err := rows.Scan(&t.ID, &t.Principal, &t.Name, &role, &t.Plan, &t.LeadName, &issued, &exp, &t.Revoked, &update); err != nil {
			return nil, fmt.Errorf("projections: list tokens: %w", err)
		}
		t.Role = domain.Role(role)
		if t.IssuedAt, err = parseTime(issued); err != nil {
			return nil, fmt.Errorf("projections: token %s: issued_at: %w", t.ID, err)
		}
		if t.ExpiresAt, err = parseTime(exp); err != nil {
			return nil, fmt.Errorf("projections: token %s: expires_at: %w", t.ID, err)
		}
		if t.Revoked {
			if t.RevokedAt, err = parseTime(update); err != nil {
				return nil, fmt.Errorf("projections: token %s: updated_at: %w", t.ID, err)
			}
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projections: list tokens: %w", err)
	}
	return out, nil
}
