package importer

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sendtrail/sendtrail/domain"
)

// The tables of a plan, by their CSV base name (= sheet name).
const (
	tActions    = "actions"
	tPriorities = "priorities"
	tKpis       = "kpis"
	tRagScheme  = "rag-scheme"
)

var (
	tableNames     = []string{tPriorities, tActions, tKpis, tRagScheme}
	requiredTables = map[string]bool{tPriorities: true, tActions: true}
)

func inputError(format string, args ...any) error {
	return &domain.Error{Code: domain.EINVALID, Field: "files", Message: fmt.Sprintf(format, args...)}
}

// ReadFiles reads a plan from file contents held in memory, as the server
// receives them: keys "actions.csv", "priorities.csv", "kpis.csv",
// "rag-scheme.csv" (any directory part and letter case are ignored), or one
// key ending ".xlsx". actions and priorities are required; kpis and
// rag-scheme may be left out (a note says so). Other keys are ignored with a
// note.
//
// The error is only for input that cannot be read as a whole (CSV files and a
// workbook mixed, not a workbook, a required file missing); every content
// problem is in Plan.Problems.
func ReadFiles(files map[string][]byte, opts Options) (*Plan, error) {
	keys := make([]string, 0, len(files))
	for k := range files {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var (
		csvs    = map[string]string{} // table → key
		xlsx    []string
		ignored []string
	)
	for _, k := range keys {
		base := strings.ToLower(path.Base(filepath.ToSlash(k)))
		switch {
		case strings.HasSuffix(base, ".xlsx"):
			xlsx = append(xlsx, k)
		case strings.HasSuffix(base, ".csv") && isTable(strings.TrimSuffix(base, ".csv")):
			t := strings.TrimSuffix(base, ".csv")
			if prev, dup := csvs[t]; dup {
				return nil, inputError("%s and %s are both %s.csv", prev, k, t)
			}
			csvs[t] = k
		case strings.HasSuffix(base, ".xls") || strings.HasSuffix(base, ".xlsm") || strings.HasSuffix(base, ".ods"):
			return nil, inputError("%s: only .xlsx workbooks (or CSV files) can be read; save it as .xlsx", k)
		default:
			ignored = append(ignored, k)
		}
	}
	b := newBuilder(opts)
	for _, k := range ignored {
		b.note("%s ignored: not one of actions.csv, priorities.csv, kpis.csv, rag-scheme.csv or a .xlsx workbook", k)
	}
	var tables map[string]*table
	switch {
	case len(xlsx) > 1:
		return nil, inputError("give one workbook, not %d (%s)", len(xlsx), strings.Join(xlsx, ", "))
	case len(xlsx) == 1 && len(csvs) > 0:
		return nil, inputError("give either CSV files or one workbook, not both (%s and %s)", xlsx[0], strings.Join(sortedValues(csvs), ", "))
	case len(xlsx) == 1:
		var err error
		if tables, err = readWorkbook(path.Base(filepath.ToSlash(xlsx[0])), files[xlsx[0]], b); err != nil {
			return nil, err
		}
	case len(csvs) == 0:
		return nil, inputError("no plan files: want actions.csv and priorities.csv (and kpis.csv, rag-scheme.csv), or one .xlsx workbook")
	default:
		var missing []string
		for _, t := range tableNames {
			if _, ok := csvs[t]; !ok && requiredTables[t] {
				missing = append(missing, t+".csv")
			}
		}
		if len(missing) > 0 {
			return nil, inputError("missing %s: a plan needs actions.csv and priorities.csv (kpis.csv and rag-scheme.csv are optional)", strings.Join(missing, " and "))
		}
		tables = map[string]*table{}
		for _, t := range tableNames {
			if k, ok := csvs[t]; ok {
				tables[t] = readCSV(t+".csv", t, files[k], b)
			}
		}
	}
	b.build(tables)
	return b.plan, nil
}

func isTable(name string) bool {
	for _, t := range tableNames {
		if t == name {
			return true
		}
	}
	return false
}

func sortedValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// ReadPath reads a plan from a folder of CSV files or from one .xlsx file.
func ReadPath(p string, opts Options) (*Plan, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, inputError("%v", err)
	}
	if fi.IsDir() {
		return ReadFS(os.DirFS(p), ".", opts)
	}
	return ReadFS(os.DirFS(filepath.Dir(p)), filepath.Base(p), opts)
}

// ReadDir reads a plan from a folder of CSV files.
func ReadDir(dir string, opts Options) (*Plan, error) {
	return ReadFS(os.DirFS(dir), ".", opts)
}

// ReadXLSX reads a plan from one .xlsx workbook.
func ReadXLSX(file string, opts Options) (*Plan, error) {
	if !strings.EqualFold(filepath.Ext(file), ".xlsx") {
		return nil, inputError("%s is not a .xlsx workbook", file)
	}
	return ReadPath(file, opts)
}

// ReadFS reads a plan from fsys: name is a folder holding the CSV files ("."
// for the root) or a .xlsx file. Files are read up to MaxFileSize+1 bytes, so
// that an oversized file costs no more memory than the limit.
func ReadFS(fsys fs.FS, name string, opts Options) (*Plan, error) {
	fi, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, inputError("%v", err)
	}
	files := map[string][]byte{}
	if !fi.IsDir() {
		base := path.Base(name)
		if !strings.EqualFold(path.Ext(base), ".xlsx") {
			return nil, inputError("%s: give a folder of CSV files (actions.csv, priorities.csv, kpis.csv, rag-scheme.csv) or a .xlsx workbook", name)
		}
		data, err := readLimited(fsys, name)
		if err != nil {
			return nil, inputError("%v", err)
		}
		files[base] = data
		return ReadFiles(files, opts)
	}
	entries, err := fs.ReadDir(fsys, name)
	if err != nil {
		return nil, inputError("%v", err)
	}
	for _, e := range entries {
		base := strings.ToLower(e.Name())
		if e.IsDir() || !strings.HasSuffix(base, ".csv") || !isTable(strings.TrimSuffix(base, ".csv")) {
			continue
		}
		data, err := readLimited(fsys, path.Join(name, e.Name()))
		if err != nil {
			return nil, inputError("%v", err)
		}
		files[e.Name()] = data
	}
	if len(files) == 0 {
		return nil, inputError("%s holds no plan files: want actions.csv and priorities.csv (and kpis.csv, rag-scheme.csv)", name)
	}
	return ReadFiles(files, opts)
}

func readLimited(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return data, nil
}
