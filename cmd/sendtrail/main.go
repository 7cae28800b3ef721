// Command sendtrail runs and uses a sendtrail server: a SEND Improvement Plan
// kept as an event-sourced audit trail on NATS JetStream.
//
// Usage:
//
//	sendtrail serve   [--data DIR] [--listen ADDR] [--nats-url URL]
//	sendtrail demo    [--data DIR] [--listen ADDR]
//	sendtrail import  --plan SLUG [--title T] [--accept-flagged] PATH
//	sendtrail rebuild [--data DIR] [--nats-url URL]
//	sendtrail bench   [--events N]
//
// Run "sendtrail help" for every subcommand.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"connectrpc.com/connect"
)

// Exit codes: they tell a script a usage mistake from a refusal from a
// fault.
const (
	exitOK      = 0
	exitFailure = 1 // anything else
	exitUsage   = 2 // bad flags or arguments
	exitRefused = 3 // the server refused the request (invalid, not found, conflict, permission)
	exitFault   = 4 // the server or the network failed
)

// subcommand is one of sendtrail's subcommands, one per file.
type subcommand struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var subcommands = map[string]subcommand{}

func register(name, summary string, run func(ctx context.Context, args []string, stdout, stderr io.Writer) error) {
	if _, dup := subcommands[name]; dup {
		panic("sendtrail: two subcommands named " + name)
	}
	subcommands[name] = subcommand{summary: summary, run: run}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageError is a mistake in how the command was called.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printHelp(stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	sc, ok := subcommands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "sendtrail: unknown command %q\n\n", args[0])
		printHelp(stderr)
		return exitUsage
	}
	err := sc.run(ctx, args[1:], stdout, stderr)
	return exitCode(err, stderr)
}

func exitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "sendtrail: %s\n", ue.msg)
		return exitUsage
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		fmt.Fprintf(stderr, "sendtrail: %s: %s\n", ce.Code(), ce.Message())
		switch ce.Code() {
		case connect.CodeInvalidArgument, connect.CodeNotFound, connect.CodeAlreadyExists, connect.CodeAborted,
			connect.CodeFailedPrecondition, connect.CodePermissionDenied, connect.CodeUnauthenticated, connect.CodeResourceExhausted:
			return exitRefused
		}
		return exitFault
	}
	fmt.Fprintf(stderr, "sendtrail: %v\n", err)
	return exitFailure
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "sendtrail keeps a SEND Improvement Plan with a complete audit trail.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: sendtrail <command> [flags] [args]")
	fmt.Fprintln(w)
	names := make([]string, 0, len(subcommands))
	for n := range subcommands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, subcommands[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'sendtrail <command> --help' for a command's flags and an example.")
}

// newFlagSet returns a flag set that reports errors rather than exiting,
// with a usage text that ends with an example.
func newFlagSet(name, usage, example string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: sendtrail %s\n\nFlags:\n", usage)
		fs.PrintDefaults()
		fmt.Fprintf(stderr, "\nExample:\n  %s\n", strings.ReplaceAll(example, "\n", "\n  "))
	}
	return fs
}

// parse parses flags wherever they stand among the arguments
// ("rag set bcp-2023-26 3.4 A --commentary …") and returns the positional
// arguments; a parse error is a usage error.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
