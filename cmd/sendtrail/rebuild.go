package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/sendtrail/sendtrail/projections"
	"github.com/sendtrail/sendtrail/projector"
)

func init() {
	register("rebuild", "recreate the SQLite read model from the stream (server stopped)", runRebuild)
}

func runRebuild(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	m := NewMain(stdout, stderr)
	fs := newFlagSet("rebuild", "rebuild [--data DIR] [--nats-url URL]", "sendtrail rebuild --data ./sendtrail-data", stderr)
	fs.StringVar(&m.DataDir, "data", m.DataDir, "data directory")
	fs.StringVar(&m.NatsURL, "nats-url", envOr("SENDTRAIL_NATS_URL", ""), "an existing NATS JetStream server (default: the embedded store in DATA/nats)")
	m.signingFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("rebuild takes no arguments")
	}
	if _, err := os.Stat(m.DataDir); err != nil {
		return usagef("rebuild: %v", err)
	}
	start := time.Now()
	if err := m.openStore(ctx); err != nil {
		return err
	}
	defer m.Close()
	n, err := Rebuild(ctx, m, filepath.Join(m.DataDir, "sendtrail.db"))
	if err != nil {
		return err
	}
	el := time.Since(start)
	fmt.Fprintf(stdout, "rebuilt %s from the stream: %d events in %s (%.0f events/s)\n",
		filepath.Join(m.DataDir, "sendtrail.db"), n, el.Round(time.Millisecond), float64(n)/el.Seconds())
	return nil
}

// Rebuild builds a new read model beside path from the whole stream and
// then moves it into place, so a failure leaves the old one untouched.
func Rebuild(ctx context.Context, m *Main, path string) (uint64, error) {
	tmp := path + ".rebuild"
	for _, suffix := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(tmp + suffix)
	}
	if err := m.loadSigningKey(); err != nil {
		return 0, err
	}
	db, err := projections.Open(tmp, m.readModelOptions()...)
	if err != nil {
		return 0, err
	}
	n, err := projector.CatchUp(ctx, m.Store, db)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("rebuild: %w", err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		_ = os.Remove(path + suffix)
	}
	if err := os.Rename(tmp, path); err != nil {
		return 0, fmt.Errorf("rebuild: %w", err)
	}
	return n, nil
}
