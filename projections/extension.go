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
	// Apply projects one event. It is called after the core rows for the
	// event are written, in event order, and only for events not yet
	// applied.
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
