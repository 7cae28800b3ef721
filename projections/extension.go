package projections

import (
	"context"
	"database/sql"
	"fmt"
)

// An Extension projects more from the same events as the core read model,
// in the same transaction as the core rows and the checkpoint, so that a
// crash never leaves it ahead of or behind them. Each concern (reports,
// evidence) is one extension in a file of its own.
//
// Extensions must be deterministic: a read model rebuilt from the stream
// is identical, extension tables included.
type Extension interface {
	// Name identifies the extension in errors.
	Name() string
	// Schema is DDL run when the database is opened; it must be idempotent
	// (CREATE TABLE IF NOT EXISTS …).
	Schema() string
	// Apply projects one event. It is called in event order, only for
	// events not yet applied, after the event's row in the events table is
	// written. The core rows (plans, actions, kpis, …) are written once per
	// batch, after every event's Apply and before Commit: read the event
	// and the events table here, not the core rows.
	Apply(ctx context.Context, tx *sql.Tx, ev *Event) error
	// Commit is called once per batch, before the transaction commits,
	// with the batch's last sequence.
	Commit(ctx context.Context, tx *sql.Tx, last uint64) error
	// Abort is called when a batch is rolled back: drop any state cached
	// from it.
	Abort()
}

// builtin are the extensions every DB has, registered by init functions of
// this package's files.
var builtin []func() Extension

func registerBuiltin(f func() Extension) { builtin = append(builtin, f) }

// Option configures Open.
type Option func(*DB)

// WithExtension adds an extension to the DB (in addition to the built-in
// ones).
func WithExtension(e Extension) Option { return func(db *DB) { db.exts = append(db.exts, e) } }

func (db *DB) extensionSchemas(ctx context.Context) error {
	for _, e := range db.exts {
		if s := e.Schema(); s != "" {
			if _, err := db.w.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("projections: schema of %s: %w", e.Name(), err)
			}
		}
	}
	return nil
}

// Reader returns the read-only connection pool, for extensions that answer
// from their own tables and from the events table (the evidence export
// reads the exact stored bytes through it). It sees committed batches only
// and cannot write: the file is opened read-only for it.
func (db *DB) Reader() *sql.DB { return db.r }
