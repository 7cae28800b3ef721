package api

import (
	"context"

	"github.com/sendtrail/sendtrail/commands"
	"github.com/sendtrail/sendtrail/projections"
)

// readAfter waits, bounded by MaxWait, until the read model has applied
// seq: the caller's min_sequence, or, when it gives none, the last
// sequence this instance has written. So a client reads its own writes
// through the same server without passing anything (a script that moves a
// deadline and then asks for the history sees the move); through several
// instances it passes the sequence a command answered as min_sequence.
// When the projector keeps up this costs nothing.
func readAfter(ctx context.Context, db *projections.DB, cmds *commands.Handler, seq uint64) error {
	if seq == 0 && cmds != nil {
		seq = cmds.LastWritten()
	}
	if seq == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, MaxWait)
	defer cancel()
	return db.WaitFor(ctx, seq)
}
