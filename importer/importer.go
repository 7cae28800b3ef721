// Package importer reads a published SEND Improvement Plan — a folder of CSV
// files (actions.csv, priorities.csv, kpis.csv, rag-scheme.csv) or one .xlsx
// workbook with sheets of those names — validates all of it, and returns the
// domain commands that create the plan together with every problem found.
//
// Nothing is written and nothing is fetched: the package only reads its input.
// Content problems never stop the reading; they are collected in
// Plan.Problems, each located by file, row, column and action ref, so that a
// plan officer can fix them all in one pass. Problems that keep the plan's
// structure intact (an impossible date, an unknown RAG value, an empty lead)
// are Flaggable: with Options.AcceptFlagged the row is imported with the raw
// text kept and a domain.Flag on the action.
//
// The commands do not depend on Options.AcceptFlagged: flaggable values are
// always carried as raw text plus a flag; Plan.Err decides whether the plan
// may be imported.
package importer

import (
	"fmt"
	"strings"

	"github.com/sendtrail/sendtrail/domain"
)

// Limits on the input.
const (
	MaxFileSize   = 20 << 20 // bytes in one input file (a CSV file or the workbook)
	MaxActions    = 10000    // actions in one plan
	maxTableRows  = 100000   // data rows in any other table
	maxCSVErrors  = 20       // CSV syntax errors reported per file before giving up on it
	maxUnzipBytes = 128 << 20
)

// Severity says whether a problem refuses the import.
type Severity int

const (
	// SeverityError refuses the import: the input's structure is wrong
	// (missing column, duplicate ref, unknown priority, bad CSV quoting, a
	// required field empty).
	SeverityError Severity = iota
	// SeverityFlag is imported with Options.AcceptFlagged, keeping the raw
	// text as a flag on the action.
	SeverityFlag
)

func (s Severity) String() string {
	if s == SeverityFlag {
		return "flag"
	}
	return "error"
}

// Problem is one thing wrong in the input, located precisely.
type Problem struct {
	File    string // "actions.csv" or "plan.xlsx:actions"
	Row     int    // 1-based row as a spreadsheet shows it (header = row 1); 0 for the whole file
	Column  string // the column's name as in the header, e.g. "Deadline"
	Ref     string // the action's ref when there is one
	Value   string // the offending text as written (invalid UTF-8 replaced by U+FFFD)
	Message string // e.g. "31/04/24 is not a date: April has 30 days"
	// Flaggable is true when AcceptFlagged can import the row keeping the raw
	// text as a flag; false for structural errors.
	Flaggable bool
}

// Severity returns SeverityFlag for a flaggable problem, SeverityError otherwise.
func (p Problem) Severity() Severity {
	if p.Flaggable {
		return SeverityFlag
	}
	return SeverityError
}

// String returns e.g.
// "actions.csv row 12, Deadline (ref 1.7): 31/04/24 is not a date: April has 30 days".
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Row > 0 {
		fmt.Fprintf(&b, " row %d", p.Row)
	}
	if p.Column != "" {
		if p.Row > 0 {
			b.WriteString(",")
		}
		b.WriteString(" " + p.Column)
	}
	if p.Ref != "" {
		fmt.Fprintf(&b, " (ref %s)", p.Ref)
	}
	b.WriteString(": " + p.Message)
	return b.String()
}

// Plan is what an import produces: the commands, in the order they are to be
// applied (Create, then Priorities, Actions, Kpis), the problems and notes.
type Plan struct {
	Create     domain.CreatePlan // Slug and Title from Options; RagScheme from rag-scheme.csv
	Priorities []domain.AddPriorityArea
	Actions    []domain.AddAction
	Kpis       []Kpi
	Problems   []Problem
	Notes      []string // informational, e.g. "3.14: deadline taken as the latest of 4 milestones (2024-10-30)"
}

// Kpi is an indicator's definition and its values in file order.
type Kpi struct {
	Define domain.DefineKpi
	Values []domain.RecordKpiValue
}

// Options name the plan and say whether flaggable problems are accepted.
type Options struct {
	Slug, Title   string
	AcceptFlagged bool
}

// Err returns nil if the plan may be imported under opts: no problems, or
// only flaggable ones with AcceptFlagged. Otherwise it returns a
// *domain.Error with Code domain.EINVALID whose Message lists every problem,
// one per line, after a first line that counts them.
func (p *Plan) Err(opts Options) error {
	if p == nil {
		return domain.Errorf(domain.EINVALID, "no plan was read")
	}
	if len(p.Problems) == 0 {
		return nil
	}
	flaggable := 0
	for _, pr := range p.Problems {
		if pr.Flaggable {
			flaggable++
		}
	}
	blocking := len(p.Problems) - flaggable
	if blocking == 0 && opts.AcceptFlagged {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "the plan cannot be imported: %s", plural(len(p.Problems), "problem"))
	switch {
	case blocking == 0:
		b.WriteString(", all flaggable (import them as flags with --accept-flagged)")
	case flaggable == 0:
		b.WriteString(", none flaggable")
	case opts.AcceptFlagged:
		fmt.Fprintf(&b, ": %d flaggable (accepted), %d to fix", flaggable, blocking)
	default:
		fmt.Fprintf(&b, ": %d flaggable (--accept-flagged imports them as flags), %d to fix", flaggable, blocking)
	}
	for _, pr := range p.Problems {
		b.WriteString("\n" + pr.String())
	}
	return &domain.Error{Code: domain.EINVALID, Message: b.String()}
}

// ValueCount returns the number of KPI values in the plan.
func (p *Plan) ValueCount() int {
	n := 0
	for _, k := range p.Kpis {
		n += len(k.Values)
	}
	return n
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
