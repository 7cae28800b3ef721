package evidence

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sendtrail/sendtrail/domain"
)

// pageSize is how many events one query reads: memory stays bounded
// whatever the plan's length, and no read transaction stays open long.
const pageSize = 1000

// scanLeaves calls fn with the plan's events with a stream sequence up to
// upTo, in stream order, reading a page at a time. Rows at or below a
// committed sequence never change, so pages read in separate transactions
// form one consistent prefix.
func scanLeaves(ctx context.Context, db *sql.DB, plan string, upTo uint64, fn func(seq uint64, raw []byte) error) error {
	after := int64(0)
	for {
		rows, err := db.QueryContext(ctx, `SELECT sequence, raw FROM events WHERE plan = ? AND sequence > ? AND sequence <= ? ORDER BY sequence LIMIT ?`,
			plan, after, int64(upTo), pageSize)
		if err != nil {
			return fmt.Errorf("evidence: read events of %s: %w", plan, err)
		}
		n := 0
		for rows.Next() {
			var seq int64
			var raw []byte
			if err := rows.Scan(&seq, &raw); err != nil {
				rows.Close()
				return fmt.Errorf("evidence: read events of %s: %w", plan, err)
			}
			if raw == nil {
				raw = []byte{}
			}
			if err := fn(uint64(seq), raw); err != nil {
				rows.Close()
				return err
			}
			after = seq
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("evidence: read events of %s: %w", plan, err)
		}
		if n < pageSize {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// timeLayout is the read model's fixed-width UTC time text, so that text
// order is time order.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// headAsOf returns the size and last stream sequence of the plan's log as
// it stood at time at: the prefix, in stream order, up to the last event
// recorded at or before at. Recorded (system) time, not business time: an
// event backdated later cannot enter a prefix an inspector already holds.
func headAsOf(ctx context.Context, db *sql.DB, plan string, at time.Time) (size, lastSeq uint64, err error) {
	var last sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT max(sequence) FROM events WHERE plan = ? AND recorded_at <= ?`,
		plan, at.UTC().Format(timeLayout)).Scan(&last); err != nil {
		return 0, 0, fmt.Errorf("evidence: %s as of %s: %w", plan, at.Format(time.RFC3339), err)
	}
	if !last.Valid {
		var any int
		err := db.QueryRowContext(ctx, `SELECT 1 FROM events WHERE plan = ? LIMIT 1`, plan).Scan(&any)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, 0, noPlan(plan)
		}
		return 0, 0, &domain.Error{Code: domain.ENOTFOUND, Field: "as_of",
			Message: fmt.Sprintf("plan %s had no events recorded by %s", plan, at.UTC().Format(time.RFC3339))}
	}
	var n int64
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM events WHERE plan = ? AND sequence <= ?`, plan, last.Int64).Scan(&n); err != nil {
		return 0, 0, fmt.Errorf("evidence: %s as of %s: %w", plan, at.Format(time.RFC3339), err)
	}
	return uint64(n), uint64(last.Int64), nil
}

func noPlan(plan string) error {
	return &domain.Error{Code: domain.ENOTFOUND, Field: "plan", Message: fmt.Sprintf("no plan %s", plan)}
}
