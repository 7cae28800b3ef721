// Package projections is sendtrail's SQLite read model: a projection of the
// event stream, rebuilt from it at will. Apply takes batches of stored
// events (read from the stream by a runner that this package knows nothing
// about), folds each aggregate's state with the domain's own Evolve and
// writes the rows, the readable history and the checkpoint in one
// transaction. Queries answer from a separate pool of read-only connections
// with generated protobuf messages.
//
// The rows are a pure function of the events: applying the same events in
// any batching, with or without redeliveries, and with or without a restart
// in between, gives the same tables (see Dump).
package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	_ "github.com/mattn/go-sqlite3" // the "sqlite3" database/sql driver

	"github.com/sendtrail/sendtrail/domain"
)

// DB is the read model. It is safe for concurrent use: Apply calls are
// serialised on the one writer connection; queries use a pool of read-only
// connections and see the last committed batch (WAL).
type DB struct {
	path string
	w    *sql.DB // the one writer: MaxOpenConns(1)
	r    *sql.DB // read-only pool
	ws   writeStmts

	applyMu   sync.Mutex // serialises Apply; guards cache and committed
	cache     map[aggKey]domain.State
	committed uint64 // checkpoint as this process last committed or read it

	mu      sync.Mutex // guards seq and changed
	seq     uint64     // last committed checkpoint, for WaitFor
	changed chan struct{}

	closeOnce sync.Once
	closed    chan struct{}

	exts []Extension
}

// Open opens (creating if need be) the read model at path and migrates its
// schema to SchemaVersion. It refuses a file written by a newer sendtrail.
//
// The writer runs with journal_mode=WAL and synchronous=NORMAL: a power
// failure may lose the last committed batches, but never tears one, and
// the checkpoint is written in the same transaction as the rows, so the
// runner simply resumes from the checkpoint the file holds.
func Open(path string, opts ...Option) (*DB, error) {
	if path == "" {
		return nil, errors.New("projections: no database path")
	}
	w, err := sql.Open("sqlite3", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("projections: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := migrate(context.Background(), w, path); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite3", dsn(path, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("projections: open %s for reading: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	if err := r.Ping(); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("projections: open %s for reading: %w", path, err)
	}
	db := &DB{path: path, w: w, r: r, cache: map[aggKey]domain.State{}, changed: make(chan struct{}), closed: make(chan struct{})}
	for _, f := range builtin {
		db.exts = append(db.exts, f())
	}
	for _, o := range opts {
		o(db)
	}
	if err := db.extensionSchemas(context.Background()); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.ws.prepare(w); err != nil {
		db.Close()
		return nil, fmt.Errorf("projections: prepare: %w", err)
	}
	cp, err := readCheckpoint(context.Background(), w)
	if err != nil {
		db.Close()
		return nil, err
	}
	db.seq, db.committed = cp, cp
	return db, nil
}

// dsn builds a go-sqlite3 URI for path. The writer sets the journal mode,
// synchronous level, foreign keys and BEGIN IMMEDIATE (so that a write
// transaction takes the lock up front instead of failing on upgrade); the
// readers open the file read-only.
func dsn(path string, readOnly bool) string {
	// SQLite URIs treat ? and # as delimiters and % as an escape.
	p := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	if readOnly {
		return "file:" + p + "?mode=ro&_query_only=true&_busy_timeout=10000&_foreign_keys=on"
	}
	return "file:" + p + "?_journal_mode=WAL&_synchronous=NORMAL&_foreign_keys=on&_busy_timeout=10000&_txlock=immediate"
}

// migrate creates or upgrades the schema in one transaction.
func migrate(ctx context.Context, w *sql.DB, path string) error {
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("projections: open %s: %w", path, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	version INTEGER NOT NULL
)`); err != nil {
		return fmt.Errorf("projections: open %s: %w", path, err)
	}
	var v int
	switch err := tx.QueryRowContext(ctx, `SELECT version FROM schema_version WHERE id = 1`).Scan(&v); {
	case errors.Is(err, sql.ErrNoRows):
		v = 0
	case err != nil:
		return fmt.Errorf("projections: open %s: read schema version: %w", path, err)
	}
	if v > SchemaVersion {
		return fmt.Errorf("projections: %s has read-model schema version %d, newer than this sendtrail's %d: run the newer sendtrail, or delete the file and rebuild it from the stream", path, v, SchemaVersion)
	}
	if v == SchemaVersion {
		return tx.Commit()
	}
	for ; v < SchemaVersion; v++ {
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			return fmt.Errorf("projections: migrate %s to schema version %d: %w", path, v+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (id, version) VALUES (1, ?)
		ON CONFLICT (id) DO UPDATE SET version = excluded.version`, SchemaVersion); err != nil {
		return fmt.Errorf("projections: migrate %s: %w", path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("projections: migrate %s: %w", path, err)
	}
	return nil
}

// Close closes the database. Waiters in WaitFor return EUNAVAILABLE.
func (db *DB) Close() error {
	var err error
	db.closeOnce.Do(func() {
		close(db.closed)
		db.applyMu.Lock()
		defer db.applyMu.Unlock()
		err = errors.Join(db.ws.close(), db.r.Close(), db.w.Close())
	})
	return err
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func readCheckpoint(ctx context.Context, q queryRower) (uint64, error) {
	var seq int64
	if err := q.QueryRowContext(ctx, `SELECT sequence FROM checkpoint WHERE id = 1`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("projections: read checkpoint: %w", err)
	}
	return uint64(seq), nil
}

// Checkpoint returns the stream sequence of the last applied event (0 when
// the read model is empty), as committed in the file.
func (db *DB) Checkpoint(ctx context.Context) (uint64, error) {
	return readCheckpoint(ctx, db.r)
}

// WaitFor blocks until the read model has applied sequence seq, or ctx
// ends: then it returns an ETIMEOUT *domain.Error naming the sequence
// reached and the one wanted.
func (db *DB) WaitFor(ctx context.Context, seq uint64) error {
	for {
		db.mu.Lock()
		cur, ch := db.seq, db.changed
		db.mu.Unlock()
		if cur >= seq {
			return nil
		}
		select {
		case <-ch:
		case <-db.closed:
			return &domain.Error{Code: domain.EUNAVAILABLE, Field: "min_sequence", Message: fmt.Sprintf("read model closed at sequence %d while waiting for %d", cur, seq)}
		case <-ctx.Done():
			db.mu.Lock()
			cur = db.seq
			db.mu.Unlock()
			if cur >= seq {
				return nil
			}
			return &domain.Error{Code: domain.ETIMEOUT, Field: "min_sequence", Message: fmt.Sprintf("read model has reached sequence %d, not yet %d (%v)", cur, seq, ctx.Err())}
		}
	}
}

// advance publishes a committed checkpoint to WaitFor.
func (db *DB) advance(seq uint64) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if seq <= db.seq {
		return
	}
	db.seq = seq
	close(db.changed)
	db.changed = make(chan struct{})
}

// --- time and order keys ---

// timeLayout is fixed-width, so that text order is time order.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeLayout)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(timeLayout, s)
}

// sortKey returns a key whose text order is the natural order of a ref or
// number: runs of digits are compared as numbers, so 1.2 < 1.10 < 2.1 and
// 4.1a < 4.1b < 4.2.
func sortKey(s string) string { return domain.NaturalKey(s) }

// fold lower-cases s and folds runs of space, as the domain compares names.
func fold(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }
