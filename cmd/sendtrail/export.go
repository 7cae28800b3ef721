package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"connectrpc.com/connect"

	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
	"github.com/sendtrail/sendtrail/gen/sendtrail/v1/sendtrailv1connect"
)

func init() {
	register("export", "download a plan's signed evidence bundle (BagIt zip) for an inspector", runExport)
}

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c clientFlags
	var plan, out, asOf, previous string
	fs := newFlagSet("export", "export --plan SLUG [--out FILE.zip] [--as-of DATE] [--previous CHECKPOINT] [--server URL] [--token-file FILE]",
		"sendtrail export --plan bcp-2023-26 --out bcp-evidence.zip\nsendtrail export --plan bcp-2023-26 --as-of 2024-06-30 --previous last-checkpoint.txt", stderr)
	fs.StringVar(&plan, "plan", "", "the plan's slug (required)")
	fs.StringVar(&out, "out", "", "where to write the bundle (default: the name the server gives, in the current folder)")
	fs.StringVar(&asOf, "as-of", "", "the plan as it stood on this date (YYYY-MM-DD, UTC) or at this RFC 3339 time: the events recorded by then (default: everything)")
	fs.StringVar(&previous, "previous", "", "checkpoint.txt of an earlier bundle: the new bundle proves it extends that log unchanged")
	c.register(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || plan == "" {
		return usagef("export needs --plan SLUG and no arguments")
	}
	// A large plan takes longer than a query: unless --timeout was given,
	// allow an hour.
	timeout := time.Hour
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "timeout" {
			timeout = c.timeout
		}
	})
	req := &pb.ExportEvidenceRequest{Plan: plan, AsOf: asOf}
	if previous != "" {
		b, err := os.ReadFile(previous)
		if err != nil {
			return usagef("--previous: %v", err)
		}
		req.PreviousCheckpoint = b
	}
	opts, err := c.options()
	if err != nil {
		return err
	}
	client := sendtrailv1connect.NewAuditServiceClient(http.DefaultClient, strings.TrimRight(c.server, "/"), opts...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	stream, err := client.ExportEvidence(ctx, connect.NewRequest(req))
	if err != nil {
		return describeConnErr(c.server, err)
	}
	defer stream.Close()

	var (
		info *pb.EvidenceBundleInfo
		done *pb.EvidenceBundleDone
		f    *os.File
		tmp  string
		n    int64
		sum  = sha256.New()
	)
	defer func() {
		if f != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	for stream.Receive() {
		switch k := stream.Msg().GetKind().(type) {
		case *pb.ExportEvidenceResponse_Info:
			info = k.Info
			if out == "" {
				out = filepath.Base(info.GetFileName())
			}
			tmp = out + ".part"
			if f, err = os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644); err != nil {
				return err
			}
		case *pb.ExportEvidenceResponse_Chunk:
			if f == nil {
				return errors.New("export: the server sent data before saying what the bundle is")
			}
			if _, err := f.Write(k.Chunk); err != nil {
				return err
			}
			sum.Write(k.Chunk)
			n += int64(len(k.Chunk))
		case *pb.ExportEvidenceResponse_Done:
			done = k.Done
		}
	}
	if err := stream.Err(); err != nil {
		return describeConnErr(c.server, err)
	}
	if info == nil || done == nil {
		return errors.New("export: the stream ended before the bundle was complete; nothing was saved")
	}
	if got := hex.EncodeToString(sum.Sum(nil)); got != done.GetSha256() || uint64(n) != done.GetSize() {
		return fmt.Errorf("export: received %d bytes with SHA-256 %s, the server sent %d bytes with %s; nothing was saved", n, got, done.GetSize(), done.GetSha256())
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	f = nil
	if err := os.Rename(tmp, out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%d bytes, SHA-256 %s)\n", out, n, done.GetSha256())
	fmt.Fprintf(stdout, "plan %s as of %s: %d events, Merkle root %s, signing key %s\n", plan,
		info.GetAsOf().AsTime().UTC().Format(time.RFC3339), info.GetTreeSize(), info.GetRootHash(), info.GetKeyFingerprint())
	fmt.Fprintf(stdout, "the export is recorded on the plan at stream sequence %d\n", done.GetSequence())
	fmt.Fprintf(stdout, "check it offline: sendtrail verify %s --key PLAN-OWNER-KEY.pem\n", out)
	fmt.Fprintf(stdout, "keep its checkpoint for the next export (--previous): unzip -p %s '*/data/checkpoint.txt' > checkpoint.txt\n", out)
	return nil
}
