package evidence

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/sendtrail/sendtrail/projections"
)

// Extension keeps, in the read model and in the same transaction as the
// core rows, each plan's Merkle tree as a compact range (the roots of the
// perfect subtrees covering its leaves: at most 64 hashes) and a signed
// checkpoint of it. Leaf i of a plan's tree is the exact stored bytes of
// the plan's i-th event in stream order, the same rows the events table
// keeps, so an export can recompute any prefix.
//
// The table is a pure function of the events and the key: checkpoints
// carry no time and Ed25519 signatures are deterministic, so a rebuilt read
// model is identical.
type Extension struct {
	key *Key

	mu    sync.Mutex
	trees map[string]*planTree // plan → tree after the events applied so far (this batch included)
	dirty map[string]bool      // plans changed in this batch
}

type planTree struct {
	t       *tree
	lastSeq uint64
}

var _ projections.Extension = (*Extension)(nil)

// NewExtension returns the extension signing with key.
func NewExtension(key *Key) *Extension {
	return &Extension{key: key, trees: map[string]*planTree{}, dirty: map[string]bool{}}
}

// Name implements projections.Extension.
func (*Extension) Name() string { return "evidence" }

// Schema implements projections.Extension.
func (*Extension) Schema() string {
	return `
CREATE TABLE IF NOT EXISTS evidence_trees (
	plan          TEXT    PRIMARY KEY,
	size          INTEGER NOT NULL,  -- leaves: the plan's events so far
	last_sequence INTEGER NOT NULL,  -- stream sequence of the last leaf
	root          TEXT    NOT NULL,  -- base64 RFC 6962 root hash
	compact       BLOB    NOT NULL,  -- compact range: roots of the perfect subtrees covering [0, size), 32 bytes each, left to right
	checkpoint    TEXT    NOT NULL   -- signed checkpoint (C2SP tlog-checkpoint); no time in it, so rebuilds are identical
) WITHOUT ROWID;`
}

// Apply implements projections.Extension: the event becomes the next leaf
// of its plan's tree.
func (x *Extension) Apply(ctx context.Context, tx *sql.Tx, ev *projections.Event) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	plan := ev.Envelope.Plan
	seq := ev.Envelope.Sequence
	pt, err := x.load(ctx, tx, plan, seq)
	if err != nil {
		return err
	}
	raw := ev.Raw
	if raw == nil {
		raw = []byte{}
	}
	if err := pt.t.add(raw); err != nil {
		return err
	}
	pt.lastSeq = seq
	x.dirty[plan] = true
	return nil
}

// load returns the plan's tree before the event at seq: cached, or read
// from the table. A stored tree that does not cover exactly the plan's
// events before seq (a read model built before this extension existed, or
// by a build without it) is recomputed from the events table.
func (x *Extension) load(ctx context.Context, tx *sql.Tx, plan string, seq uint64) (*planTree, error) {
	if pt, ok := x.trees[plan]; ok {
		return pt, nil
	}
	var (
		size, last int64
		compact    []byte
	)
	err := tx.QueryRowContext(ctx, `SELECT size, last_sequence, compact FROM evidence_trees WHERE plan = ?`, plan).Scan(&size, &last, &compact)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("read tree of %s: %w", plan, err)
	}
	var want int64
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM events WHERE plan = ? AND sequence < ?`, plan, int64(seq)).Scan(&want); err != nil {
		return nil, fmt.Errorf("count events of %s: %w", plan, err)
	}
	if size == want && len(compact)%32 == 0 {
		hashes := make([][]byte, len(compact)/32)
		for i := range hashes {
			hashes[i] = compact[i*32 : (i+1)*32]
		}
		if t, err := treeFrom(uint64(size), hashes); err == nil {
			pt := &planTree{t: t, lastSeq: uint64(last)}
			x.trees[plan] = pt
			return pt, nil
		}
	}
	// Recompute from the stored events.
	pt := &planTree{t: newTree()}
	rows, err := tx.QueryContext(ctx, `SELECT sequence, raw FROM events WHERE plan = ? AND sequence < ? ORDER BY sequence`, plan, int64(seq))
	if err != nil {
		return nil, fmt.Errorf("recompute tree of %s: %w", plan, err)
	}
	defer rows.Close()
	for rows.Next() {
		var s int64
		var raw []byte
		if err := rows.Scan(&s, &raw); err != nil {
			return nil, fmt.Errorf("recompute tree of %s: %w", plan, err)
		}
		if raw == nil {
			raw = []byte{}
		}
		if err := pt.t.add(raw); err != nil {
			return nil, err
		}
		pt.lastSeq = uint64(s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("recompute tree of %s: %w", plan, err)
	}
	x.trees[plan] = pt
	return pt, nil
}

// Commit implements projections.Extension: it writes the compact range and
// a signed checkpoint of every plan the batch changed.
func (x *Extension) Commit(ctx context.Context, tx *sql.Tx, last uint64) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	for plan := range x.dirty {
		pt := x.trees[plan]
		root := pt.t.root()
		cp := Checkpoint{Origin: Origin(plan), Size: pt.t.size(), Root: root}
		signed, err := cp.Sign(x.key)
		if err != nil {
			return fmt.Errorf("sign checkpoint of %s: %w", plan, err)
		}
		hashes := pt.t.r.Hashes()
		compact := make([]byte, 0, 32*len(hashes))
		for _, h := range hashes {
			compact = append(compact, h...)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO evidence_trees (plan, size, last_sequence, root, compact, checkpoint)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (plan) DO UPDATE SET size = excluded.size, last_sequence = excluded.last_sequence,
	root = excluded.root, compact = excluded.compact, checkpoint = excluded.checkpoint`,
			plan, int64(cp.Size), int64(pt.lastSeq), cp.RootBase64(), compact, string(signed)); err != nil {
			return fmt.Errorf("write tree of %s: %w", plan, err)
		}
	}
	clear(x.dirty)
	return nil
}

// Abort implements projections.Extension: the batch's trees are dropped
// and read again from the table when next needed.
func (x *Extension) Abort() {
	x.mu.Lock()
	defer x.mu.Unlock()
	clear(x.trees)
	clear(x.dirty)
}

// Head is a plan log's tree head as the read model holds it.
type Head struct {
	Plan       string
	Size       uint64 // leaves
	LastSeq    uint64 // stream sequence of the last leaf
	Root       []byte
	Checkpoint []byte // signed
}

// LatestHead returns the plan's current tree head from the read model,
// with a checkpoint signed by key (the stored one when key signed it).
// Errors: ENOTFOUND when the read model has no event of the plan.
func LatestHead(ctx context.Context, db *sql.DB, plan string, key *Key) (Head, error) {
	var (
		h    = Head{Plan: plan}
		size int64
		last int64
		root string
		cp   string
	)
	err := db.QueryRowContext(ctx, `SELECT size, last_sequence, root, checkpoint FROM evidence_trees WHERE plan = ?`, plan).Scan(&size, &last, &root, &cp)
	if errors.Is(err, sql.ErrNoRows) {
		return Head{}, noPlan(plan)
	}
	if err != nil {
		return Head{}, fmt.Errorf("evidence: tree head of %s: %w", plan, err)
	}
	h.Size, h.LastSeq = uint64(size), uint64(last)
	if h.Root, err = decodeB64(root); err != nil {
		return Head{}, fmt.Errorf("evidence: tree head of %s: %w", plan, err)
	}
	h.Checkpoint = []byte(cp)
	if _, err := OpenCheckpoint(h.Checkpoint, key.Public); err != nil {
		// Signed with another key (the key was replaced): sign again.
		c := Checkpoint{Origin: Origin(plan), Size: h.Size, Root: h.Root}
		if h.Checkpoint, err = c.Sign(key); err != nil {
			return Head{}, err
		}
	}
	return h, nil
}
