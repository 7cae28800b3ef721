package projections

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestSortKey(t *testing.T) {
	refs := []string{"10.1", "2.1", "1.10", "1.2", "1", "4.1b", "4.1a", "4.1", "1.2.1", "A.1", "01.3"}
	slices.SortFunc(refs, func(a, b string) int { return strings.Compare(sortKey(a), sortKey(b)) })
	want := []string{"1", "1.2", "1.2.1", "01.3", "1.10", "2.1", "4.1", "4.1a", "4.1b", "10.1", "A.1"}
	if !slices.Equal(refs, want) {
		t.Errorf("order %v, want %v", refs, want)
	}
}

// The read pool cannot write: a query bug can never corrupt the projection.
func TestReadPoolIsReadOnly(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "a?b#c%d.db")) // URI metacharacters in the path
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.r.ExecContext(context.Background(), `UPDATE checkpoint SET sequence = 9`); err == nil {
		t.Fatal("the read pool wrote")
	}
	var mode string
	if err := db.w.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode %q %v", mode, err)
	}
	var fk int
	if err := db.w.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys %d %v", fk, err)
	}
}
