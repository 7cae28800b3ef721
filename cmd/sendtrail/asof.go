package main

// What the report subcommands share (trail, slips, silent, explain,
// summary, period, scorecard, version): the ReportService client, the
// as-of flags and date formatting.

import (
	"flag"
	"fmt"
	"net/http"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
	"github.com/sendtrail/sendtrail/gen/sendtrail/v1/sendtrailv1connect"
)

func (c *clientFlags) reportClient() (sendtrailv1connect.ReportServiceClient, error) {
	opts, err := c.options()
	if err != nil {
		return nil, err
	}
	return sendtrailv1connect.NewReportServiceClient(&http.Client{Timeout: c.timeout}, strings.TrimRight(c.server, "/"), opts...), nil
}

// asOfFlags ask for the plan as it stood at a past point.
type asOfFlags struct {
	date     string
	sequence uint64
	version  string
	recorded bool
}

func (a *asOfFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.date, "as-of", "", "the plan as it stood at the end of this day, YYYY-MM-DD (business time: when decisions were made)")
	fs.Uint64Var(&a.sequence, "as-of-sequence", 0, "the plan as it stood once this stream sequence was written")
	fs.StringVar(&a.version, "as-of-version", "", "the plan as of a published version's date, e.g. 1.2")
	fs.BoolVar(&a.recorded, "recorded", false, "--as-of reads recorded time (when sendtrail wrote the changes) instead of business time")
}

// proto returns the request's as_of; nil for now.
func (a *asOfFlags) proto() (*pb.AsOf, error) {
	n := 0
	for _, set := range []bool{a.date != "", a.sequence != 0, a.version != ""} {
		if set {
			n++
		}
	}
	switch {
	case n == 0 && a.recorded:
		return nil, usagef("--recorded needs --as-of DATE")
	case n == 0:
		return nil, nil
	case n > 1:
		return nil, usagef("give one of --as-of, --as-of-sequence and --as-of-version")
	case a.date != "":
		if _, err := time.Parse("2006-01-02", a.date); err != nil {
			return nil, usagef("--as-of %q: want YYYY-MM-DD", a.date)
		}
	}
	p := &pb.AsOf{Date: a.date, Sequence: a.sequence, PlanVersion: a.version}
	if a.recorded {
		p.Basis = pb.TimeBasis_TIME_BASIS_RECORDED
	}
	return p, nil
}

// describe says which point a table shows: "" for now.
func (a *asOfFlags) describe() string {
	switch {
	case a.version != "":
		return " as of version " + a.version
	case a.sequence != 0:
		return fmt.Sprintf(" as of stream sequence %d", a.sequence)
	case a.date != "" && a.recorded:
		return " as recorded by " + a.date
	case a.date != "":
		return " as of " + a.date
	}
	return ""
}

// dateFlag checks an optional YYYY-MM-DD flag.
func dateFlag(name, s string) error {
	if s == "" {
		return nil
	}
	if _, err := time.Parse("2006-01-02", s); err != nil {
		return usagef("--%s %q: want YYYY-MM-DD", name, s)
	}
	return nil
}

// signed prints a number of days with its sign: +91, -7, 0.
func signed(n int32) string {
	if n > 0 {
		return fmt.Sprintf("+%d", n)
	}
	return fmt.Sprint(n)
}

// plural counts things: "1 move", "2 moves".
func plural(n uint32, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// day prints a timestamp's UTC date.
func day(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return "-"
	}
	return ts.AsTime().UTC().Format("2006-01-02")
}

func actorText(a *pb.Actor) string {
	if a == nil {
		return "-"
	}
	name := a.GetDisplayName()
	if name == "" {
		name = a.GetId()
	}
	if a.GetRole() != "" {
		name += " (" + a.GetRole() + ")"
	}
	return name
}
