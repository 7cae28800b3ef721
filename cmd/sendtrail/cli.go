package main

// What the client subcommands share: verbs ("rag set", "kpi list"), the
// command options every change takes, JSON and table output.

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
)

// verb is one verb of a subcommand with several ("kpi list", "kpi record").
type verb struct {
	name, summary, example string
	run                    func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// verbs returns a subcommand's run function that dispatches to its verbs.
func verbs(cmd string, vs ...verb) func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		if len(args) == 0 || (strings.HasPrefix(args[0], "-") && !isHelp(args[0])) {
			verbHelp(stderr, cmd, vs)
			return usagef("%s: which one? %s", cmd, verbNames(vs))
		}
		if isHelp(args[0]) {
			verbHelp(stderr, cmd, vs)
			return flag.ErrHelp
		}
		for _, v := range vs {
			if v.name == args[0] {
				return v.run(ctx, args[1:], stdout, stderr)
			}
		}
		verbHelp(stderr, cmd, vs)
		return usagef("%s: unknown verb %q; want %s", cmd, args[0], verbNames(vs))
	}
}

func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}

func verbNames(vs []verb) string {
	names := make([]string, len(vs))
	for i, v := range vs {
		names[i] = v.name
	}
	return strings.Join(names, ", ")
}

func verbHelp(w io.Writer, cmd string, vs []verb) {
	fmt.Fprintf(w, "Usage: sendtrail %s <verb> [flags] [args]\n\nVerbs:\n", cmd)
	for _, v := range vs {
		fmt.Fprintf(w, "  %-9s %s\n", v.name, v.summary)
	}
	fmt.Fprintf(w, "\nExamples:\n")
	for _, v := range vs {
		fmt.Fprintf(w, "  %s\n", v.example)
	}
	fmt.Fprintf(w, "\nRun 'sendtrail %s <verb> --help' for a verb's flags.\n", cmd)
}

// commandFlags are the options every change takes.
type commandFlags struct {
	expected   *uint64
	commandID  string
	occurredAt string
}

func (c *commandFlags) register(fs *flag.FlagSet) {
	fs.Func("expected-version", "refuse the change if the action or indicator is no longer at this version (as 'show' prints it)", func(s string) error {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return fmt.Errorf("want a version number, got %q", s)
		}
		c.expected = &v
		return nil
	})
	fs.StringVar(&c.commandID, "command-id", "", "your id for this change: repeating it appends nothing twice (default: a new one)")
	fs.StringVar(&c.occurredAt, "occurred-at", "", "when the decision was made: YYYY-MM-DD or RFC 3339 (default: now)")
}

func (c *commandFlags) options() (*pb.CommandOptions, error) {
	o := &pb.CommandOptions{CommandId: c.commandID, ExpectedVersion: c.expected}
	if c.occurredAt != "" {
		t, err := parseWhen(c.occurredAt)
		if err != nil {
			return nil, usagef("--occurred-at: %v", err)
		}
		o.OccurredAt = timestamppb.New(t)
	}
	return o, nil
}

// parseWhen reads YYYY-MM-DD (midnight UTC) or an RFC 3339 time.
func parseWhen(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither YYYY-MM-DD nor an RFC 3339 time (2024-03-14T10:00:00Z)", s)
}

// want checks the number of positional arguments.
func want(cmd string, pos []string, names ...string) error {
	if len(pos) != len(names) {
		return usagef("%s: want %s, got %d argument(s)", cmd, strings.Join(names, " "), len(pos))
	}
	return nil
}

// textArg is a long text given as the last argument or with --file (a
// file, or - for standard input).
func textArg(cmd string, pos []string, file string, stdin io.Reader) (string, error) {
	switch {
	case file != "" && len(pos) > 0:
		return "", usagef("%s: give the text as an argument or with --file, not both", cmd)
	case file == "-":
		b, err := io.ReadAll(io.LimitReader(stdin, 1<<20))
		return strings.TrimSpace(string(b)), err
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", usagef("%s: --file: %v", cmd, err)
		}
		return strings.TrimSpace(string(b)), nil
	case len(pos) == 1:
		return pos[0], nil
	case len(pos) == 0:
		return "", usagef("%s: the text is missing (an argument, or --file FILE)", cmd)
	}
	return "", usagef("%s: the text is %d arguments: quote it", cmd, len(pos))
}

// printJSON prints m as the Connect JSON a script would get from the API.
func printJSON(w io.Writer, m proto.Message) error {
	b, err := protojson.MarshalOptions{Multiline: true}.Marshal(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

// printResult reports a change: what was done, and the sequence and version
// written (the sequence is what --min-sequence reads back).
func printResult(w io.Writer, asJSON bool, res proto.Message, r *pb.CommandResult, done string) error {
	if asJSON {
		return printJSON(w, res)
	}
	if r.GetAppended() == 0 {
		fmt.Fprintf(w, "%s: nothing to change (already so, or a retry of a recorded change); version %d\n", done, r.GetVersion())
		return nil
	}
	events := "event"
	if r.GetAppended() != 1 {
		events = "events"
	}
	_, err := fmt.Fprintf(w, "%s (%d %s, stream sequence %d, version %d)\n", done, r.GetAppended(), events, r.GetSequence(), r.GetVersion())
	return err
}

func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

// cell makes a value fit a table cell: one line, at most n characters.
func cell(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "-"
	}
	if n > 0 && utf8.RuneCountInString(s) > n {
		r := []rune(s)
		return string(r[:n-1]) + "…"
	}
	return s
}

func fmtTS(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return "-"
	}
	return ts.AsTime().UTC().Format("2006-01-02 15:04Z")
}

func leadsText(ls []*pb.Lead) string {
	parts := make([]string, 0, len(ls))
	for _, l := range ls {
		p := l.GetName()
		if l.GetRole() != "" {
			p += " – " + l.GetRole()
		}
		if l.GetOrganisation() != "" {
			p += " – " + l.GetOrganisation()
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}

// parseLead reads "Name – Role – Organisation" (the form history shows),
// "Name|Role|Organisation", or just a name.
func parseLead(s string) (*pb.Lead, error) {
	var parts []string
	switch {
	case strings.Contains(s, "|"):
		parts = strings.Split(s, "|")
	case strings.Contains(s, " – "):
		parts = strings.Split(s, " – ")
	default:
		parts = strings.Split(s, " - ")
	}
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	if len(parts) > 3 || parts[0] == "" {
		return nil, fmt.Errorf("%q: want \"Name – Role – Organisation\" (role and organisation optional)", s)
	}
	l := &pb.Lead{Name: parts[0]}
	if len(parts) > 1 {
		l.Role = parts[1]
	}
	if len(parts) > 2 {
		l.Organisation = parts[2]
	}
	return l, nil
}

// leadFlags collects repeated --lead flags.
type leadFlags []*pb.Lead

func (l *leadFlags) String() string { return "" }

func (l *leadFlags) Set(s string) error {
	lead, err := parseLead(s)
	if err != nil {
		return err
	}
	*l = append(*l, lead)
	return nil
}

// stringsFlag collects a repeated flag.
type stringsFlag []string

func (s *stringsFlag) String() string { return strings.Join(*s, ",") }

func (s *stringsFlag) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*s = append(*s, p)
		}
	}
	return nil
}

// call bounds a request by --timeout and makes a refused connection
// readable.
func call[T any](ctx context.Context, cf *clientFlags, f func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, cf.timeout)
	defer cancel()
	res, err := f(ctx)
	if err != nil {
		var zero T
		return zero, describeConnErr(cf.server, err)
	}
	return res, nil
}
