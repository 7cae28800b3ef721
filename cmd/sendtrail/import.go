package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
)

func init() {
	register("import", "import a plan from a folder of CSV files or one .xlsx workbook", runImport)
}

// maxImportFile bounds one input file, so that a mistaken path fails here
// with the limit named rather than at the server.
const maxImportFile = 20 << 20

// maxImportTotal bounds the files together: they travel in one request,
// which the server takes up to 32 MiB.
const maxImportTotal = 30 << 20

func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf clientFlags
	var slug, title string
	var accept, dry bool
	fs := newFlagSet("import", "import --plan SLUG [--title T] [--accept-flagged] [--dry-run] PATH",
		"sendtrail import --plan bcp-2023-26 --title \"BCP SEND Improvement Plan 2023/26\" --accept-flagged demo/bcp-2023-26", stderr)
	cf.register(fs)
	fs.StringVar(&slug, "plan", "", "the plan's slug, e.g. bcp-2023-26 (required)")
	fs.StringVar(&title, "title", "", "the plan's title (default: the slug)")
	fs.BoolVar(&accept, "accept-flagged", false, "import good values and keep each bad one as raw text flagged for review")
	fs.BoolVar(&dry, "dry-run", false, "validate and report; write nothing")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if slug == "" {
		return usagef("import: --plan is required")
	}
	if len(pos) != 1 {
		return usagef("import: want one PATH (a folder of CSV files or an .xlsx file), got %d", len(pos))
	}
	if title == "" {
		title = slug
	}
	files, err := readImportFiles(pos[0])
	if err != nil {
		return err
	}
	client, err := cf.planClient()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, cf.timeout)
	defer cancel()
	res, err := client.ImportPlan(ctx, connect.NewRequest(&pb.ImportPlanRequest{
		Plan: slug, Title: title, AcceptFlagged: accept, DryRun: dry, Files: files,
	}))
	if err != nil {
		var ce *connect.Error
		if errors.As(err, &ce) {
			for _, d := range ce.Details() {
				if v, derr := d.Value(); derr == nil {
					if r, ok := v.(*pb.ImportPlanResponse); ok {
						printProblems(stderr, r.GetProblems(), accept)
						return connect.NewError(ce.Code(), fmt.Errorf("%d problems; nothing was imported%s", len(r.GetProblems()), hintAccept(r, accept)))
					}
				}
			}
		}
		return describeConnErr(cf.server, err)
	}
	r := res.Msg
	if cf.json {
		b, _ := protojson.MarshalOptions{Multiline: true}.Marshal(r)
		fmt.Fprintln(stdout, string(b))
		return nil
	}
	printProblems(stdout, r.GetProblems(), accept)
	verb := "imported"
	if dry {
		verb = "checked (dry run, nothing written)"
	} else if r.GetAppended() == 0 {
		verb = "already imported, nothing appended"
	}
	fmt.Fprintf(stdout, "%s: %s: %d priority areas, %d actions (%d flagged for review), %d indicators, %d KPI values; %d events, stream sequence %d\n",
		slug, verb, r.GetPriorities(), r.GetActions(), r.GetFlaggedActions(), r.GetKpis(), r.GetKpiValues(), r.GetAppended(), r.GetSequence())
	return nil
}

func hintAccept(r *pb.ImportPlanResponse, accept bool) string {
	if accept {
		return ""
	}
	for _, p := range r.GetProblems() {
		if !p.GetFlaggable() {
			return ""
		}
	}
	return " (every problem can be kept as a flag for review: run again with --accept-flagged)"
}

func printProblems(w io.Writer, ps []*pb.ImportProblem, accept bool) {
	for _, p := range ps {
		kind := "error"
		if p.GetFlaggable() {
			kind = "flag"
			if accept {
				kind = "flagged"
			}
		}
		loc := p.GetFile()
		if p.GetRow() > 0 {
			loc += fmt.Sprintf(" row %d", p.GetRow())
		}
		if p.GetColumn() != "" {
			loc += ", " + p.GetColumn()
		}
		if p.GetRef() != "" {
			loc += " (ref " + p.GetRef() + ")"
		}
		fmt.Fprintf(w, "%-7s %s: %s\n", kind, loc, p.GetMessage())
	}
}

// readImportFiles reads a folder's CSV files or one .xlsx file.
func readImportFiles(path string) ([]*pb.ImportFile, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, usagef("import: %v", err)
	}
	var names []string
	if st.IsDir() {
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if !e.IsDir() && strings.EqualFold(filepath.Ext(e.Name()), ".csv") {
				names = append(names, filepath.Join(path, e.Name()))
			}
		}
		if len(names) == 0 {
			return nil, usagef("import: %s has no .csv files (want actions.csv, priorities.csv, kpis.csv, rag-scheme.csv)", path)
		}
	} else {
		if !strings.EqualFold(filepath.Ext(path), ".xlsx") {
			return nil, usagef("import: %s is neither a folder of CSV files nor an .xlsx workbook", path)
		}
		names = []string{path}
	}
	sort.Strings(names)
	var files []*pb.ImportFile
	var total int64
	for _, n := range names {
		st, err := os.Stat(n)
		if err != nil {
			return nil, err
		}
		if st.Size() > maxImportFile {
			return nil, usagef("import: %s is %d bytes; one file may be at most %d bytes (20 MiB)", n, st.Size(), maxImportFile)
		}
		if total += st.Size(); total > maxImportTotal {
			return nil, usagef("import: the files come to more than %d bytes; one import may carry at most 30 MiB of files together", maxImportTotal)
		}
		b, err := os.ReadFile(n)
		if err != nil {
			return nil, err
		}
		files = append(files, &pb.ImportFile{Name: filepath.Base(n), Content: b})
	}
	return files, nil
}
