package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Webhook is a webhook as the read model keeps it: its registration. How
// its deliveries stand is operational state the webhooks package keeps.
type Webhook struct {
	ID, Plan, URL string
	Types         []string // empty: every type
	Removed       bool
	Version       uint64 // the sequence of its last event: its registration while not removed
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// ListWebhooks lists a plan's webhooks in the order they were registered,
// removed ones only when includeRemoved. ENOTFOUND for an unknown plan.
func (db *DB) ListWebhooks(ctx context.Context, plan string, includeRemoved bool) ([]Webhook, error) {
	if ok, err := db.PlanExists(ctx, plan); err != nil {
		return nil, err
	} else if !ok {
		return nil, noPlan(plan)
	}
	rows, err := db.r.QueryContext(ctx, `SELECT webhook_id, plan, url, types, removed, version, created_at, updated_at
FROM webhooks WHERE plan = ? AND (removed = 0 OR ?) ORDER BY created_at, webhook_id`, plan, includeRemoved)
	if err != nil {
		return nil, fmt.Errorf("projections: webhooks of %s: %w", plan, err)
	}
	defer rows.Close()
	out := []Webhook{}
	for rows.Next() {
		var (
			w            Webhook
			types        string
			version      int64
			created, upd string
		)
		if err := rows.Scan(&w.ID, &w.Plan, &w.URL, &types, &w.Removed, &version, &created, &upd); err != nil {
			return nil, fmt.Errorf("projections: webhooks of %s: %w", plan, err)
		}
		w.Version = uint64(version)
		if err := json.Unmarshal([]byte(types), &w.Types); err != nil {
			return nil, fmt.Errorf("projections: webhook %s: types: %w", w.ID, err)
		}
		if w.CreatedAt, err = parseTime(created); err != nil {
			return nil, fmt.Errorf("projections: webhook %s: created_at: %w", w.ID, err)
		}
		if w.UpdatedAt, err = parseTime(upd); err != nil {
			return nil, fmt.Errorf("projections: webhook %s: updated_at: %w", w.ID, err)
		}
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projections: webhooks of %s: %w", plan, err)
	}
	return out, nil
}
