package importer

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sendtrail/sendtrail/domain"
)

type builder struct {
	opts Options
	plan *Plan
}

func newBuilder(opts Options) *builder {
	return &builder{opts: opts, plan: &Plan{Create: domain.CreatePlan{Slug: opts.Slug, Title: opts.Title}}}
}

func (b *builder) problem(p Problem) { b.plan.Problems = append(b.plan.Problems, p) }

func (b *builder) note(format string, args ...any) {
	b.plan.Notes = append(b.plan.Notes, fmt.Sprintf(format, args...))
}

// cell is the context of one cell for problems.
type cell struct {
	t   *table
	r   record
	ref string
}

func (c cell) problem(b *builder, column, value, msg string, flaggable bool) {
	b.problem(Problem{File: c.t.file, Row: c.r.row, Column: c.t.colName(column), Ref: c.ref, Value: value, Message: msg, Flaggable: flaggable})
}

// checkLen reports a cell longer than the domain accepts; it returns false
// if the cell is too long.
func (c cell) checkLen(b *builder, column, v string, max int) bool {
	if n := utf8.RuneCountInString(v); n > max {
		c.problem(b, column, truncate(v, 60), fmt.Sprintf("%s is %d characters long; at most %d are allowed", column, n, max), false)
		return false
	}
	return true
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// build turns the tables into commands. A missing table (nil) adds nothing.
func (b *builder) build(tables map[string]*table) {
	for _, k := range []string{tKpis, tRagScheme} {
		if _, ok := tables[k]; !ok && len(tables) > 0 {
			b.note("no %s table: the plan has no %s", k, map[string]string{tKpis: "indicators", tRagScheme: "published RAG table"}[k])
		}
	}
	if t := tables[tRagScheme]; t != nil && t.ok {
		b.ragScheme(t)
	}
	prios := map[string]string{} // number → title
	priosKnown := false
	if t := tables[tPriorities]; t != nil && t.ok {
		prios = b.priorities(t)
		priosKnown = true
	}
	pr := &priorityRefs{known: priosKnown, titles: prios, noted: map[string]bool{}}
	if t := tables[tActions]; t != nil && t.ok {
		b.actions(t, pr)
	}
	if t := tables[tKpis]; t != nil && t.ok {
		b.kpis(t, pr)
	}
}

func (b *builder) ragScheme(t *table) {
	seen := map[string]int{}
	for _, r := range t.rows {
		c := cell{t: t, r: r}
		row := domain.RagSchemeRow{
			Code: t.get(r, "Code"), Description: t.get(r, "Description"),
			Count: t.get(r, "Count"), Percent: t.get(r, "Percent"), Direction: t.get(r, "Direction"),
		}
		ok := true
		for _, col := range columns[tRagScheme] {
			ok = c.checkLen(b, col, t.get(r, col), domain.MaxShort*4) && ok
		}
		rag, err := domain.ParseRAG(row.Code)
		switch {
		case row.Code == "":
			c.problem(b, "Code", "", "Code is required (one of R, A, P, G, C, NS)", false)
			ok = false
		case err != nil:
			c.problem(b, "Code", row.Code, fmt.Sprintf("%q is not one of the scheme's codes R, A, P, G, C, NS", row.Code), false)
			ok = false
		default:
			if prev, dup := seen[rag.String()]; dup {
				c.problem(b, "Code", row.Code, fmt.Sprintf("code %s appears twice: rows %d and %d", rag, prev, r.row), false)
				ok = false
			} else {
				seen[rag.String()] = r.row
			}
		}
		if ok {
			b.plan.Create.RagScheme = append(b.plan.Create.RagScheme, row)
		}
	}
}

var numberRE = regexp.MustCompile(`^[0-9]{1,9}$`)

func (b *builder) priorities(t *table) map[string]string {
	titles := map[string]string{}
	rows := map[string]int{}
	for _, r := range t.rows {
		c := cell{t: t, r: r}
		p := domain.AddPriorityArea{
			Number: strings.TrimSpace(strings.TrimSuffix(t.get(r, "Number"), ".")), Title: t.get(r, "Title"),
			Summary: t.get(r, "Summary"), ParentCarerVoice: t.get(r, "Parent/Carer voice"),
		}
		ok := true
		switch {
		case p.Number == "":
			c.problem(b, "Number", "", "Number is required", false)
			ok = false
		case !numberRE.MatchString(p.Number):
			c.problem(b, "Number", t.get(r, "Number"), fmt.Sprintf("%q is not a priority number (want 1, 2, 3 …)", t.get(r, "Number")), false)
			ok = false
		default:
			p.Number = strings.TrimLeft(p.Number, "0")
			if p.Number == "" {
				p.Number = "0"
			}
			if prev, dup := rows[p.Number]; dup {
				c.problem(b, "Number", t.get(r, "Number"), fmt.Sprintf("priority %s appears twice: rows %d and %d", p.Number, prev, r.row), false)
				ok = false
			} else {
				rows[p.Number] = r.row
				titles[p.Number] = p.Title
			}
		}
		if p.Title == "" {
			c.problem(b, "Title", "", "Title is required", false)
			ok = false
		}
		ok = c.checkLen(b, "Title", p.Title, domain.MaxShort) && ok
		ok = c.checkLen(b, "Summary", p.Summary, domain.MaxText) && ok
		ok = c.checkLen(b, "Parent/Carer voice", p.ParentCarerVoice, domain.MaxText) && ok
		if ok {
			b.plan.Priorities = append(b.plan.Priorities, p)
		}
	}
	return titles
}

// priorityRefs resolves the Priority column of actions and KPIs.
type priorityRefs struct {
	known  bool              // priorities were read; unknown numbers are problems
	titles map[string]string // number → title
	noted  map[string]bool
}

var headingRE = regexp.MustCompile(`^0*([0-9]{1,9})(?:[.):]|\s|$)\s*(.*)$`)

// resolve returns the priority number of a heading such as "1. SEND
// Leadership, Management and Governance", or "" after reporting a problem.
func (p *priorityRefs) resolve(b *builder, c cell, heading string) string {
	if heading == "" {
		c.problem(b, "Priority", "", "Priority is required (the priority area's heading, e.g. \"1. SEND Leadership, Management and Governance\")", false)
		return ""
	}
	m := headingRE.FindStringSubmatch(heading)
	if m == nil {
		c.problem(b, "Priority", heading, fmt.Sprintf("%q does not start with a priority number (e.g. \"1. SEND Leadership, Management and Governance\")", heading), false)
		return ""
	}
	n := m[1]
	if n == "" {
		n = "0"
	}
	if !p.known {
		return n
	}
	title, ok := p.titles[n]
	if !ok {
		c.problem(b, "Priority", heading, fmt.Sprintf("priority %s is not one of the plan's priority areas (%s)", n, p.list()), false)
		return ""
	}
	if m[2] != "" && fold(m[2]) != fold(title) && !p.noted[heading] {
		p.noted[heading] = true
		b.note("%s row %d: the heading %q differs from priority %s's title %q; taken as priority %s", c.t.file, c.r.row, heading, n, title, n)
	}
	return n
}

func (p *priorityRefs) list() string {
	if len(p.titles) == 0 {
		return "there are none"
	}
	ns := make([]int, 0, len(p.titles))
	for k := range p.titles {
		n, _ := strconv.Atoi(k)
		ns = append(ns, n)
	}
	sort.Ints(ns)
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

func (b *builder) actions(t *table, pr *priorityRefs) {
	refs := map[string]int{}
	for _, r := range t.rows {
		ref := t.get(r, "Ref")
		c := cell{t: t, r: r, ref: ref}
		ok := true
		switch {
		case ref == "":
			c.problem(b, "Ref", "", "Ref is required (e.g. 3.4)", false)
			ok = false
		case domain.ValidateRef(ref) != nil:
			c.problem(b, "Ref", ref, domain.ValidateRef(ref).(*domain.Error).Message, false)
			ok = false
		default:
			if prev, dup := refs[ref]; dup {
				c.problem(b, "Ref", ref, fmt.Sprintf("ref %s is used twice: rows %d and %d", ref, prev, r.row), false)
				ok = false
			} else {
				refs[ref] = r.row
			}
		}
		a := domain.AddAction{
			Ref:             ref,
			Origin:          t.get(r, "Origin"),
			Text:            t.get(r, "Action"),
			LeadsRaw:        t.get(r, "Lead"),
			RagRaw:          t.get(r, "RAG"),
			SuccessMeasures: t.get(r, "Success measures"),
			Progress:        t.get(r, "Progress to date"),
			Impact:          t.get(r, "Impact to date"),
		}
		heading := t.get(r, "Priority")
		a.Priority = pr.resolve(b, c, heading)
		if a.Priority == "" {
			ok = false
		}
		// The ref's leading number should be the priority's.
		if before, _, found := strings.Cut(ref, "."); found && a.Priority != "" && numberRE.MatchString(before) {
			if n := strings.TrimLeft(before, "0"); n != a.Priority && !(n == "" && a.Priority == "0") {
				msg := fmt.Sprintf("ref %s is listed under priority %s (%q), but its number says priority %s", ref, a.Priority, heading, before)
				c.problem(b, "Ref", ref, msg, true)
				a.Flags = append(a.Flags, domain.Flag{Field: "ref", Raw: ref, Message: msg})
			}
		}
		if a.Text == "" {
			c.problem(b, "Action", "", "Action is required: the action's text is empty", false)
			ok = false
		}
		if a.Origin == "" && ref != "" {
			b.note("%s: Origin is empty", ref)
		}
		for _, f := range []struct {
			col string
			v   string
			max int
		}{
			{"Origin", a.Origin, domain.MaxShort * 4}, {"Action", a.Text, domain.MaxText},
			{"Lead", a.LeadsRaw, domain.MaxShort * 4}, {"Deadline", t.get(r, "Deadline"), domain.MaxShort * 4},
			{"RAG", a.RagRaw, domain.MaxShort * 4}, {"Success measures", a.SuccessMeasures, domain.MaxText},
			{"Progress to date", a.Progress, domain.MaxText}, {"Impact to date", a.Impact, domain.MaxText},
		} {
			ok = c.checkLen(b, f.col, f.v, f.max) && ok
		}

		// Leads.
		if a.LeadsRaw == "" {
			msg := "no lead is named: every action needs a lead"
			c.problem(b, "Lead", "", msg, true)
			a.Flags = append(a.Flags, domain.Flag{Field: "leads", Raw: "", Message: msg})
		} else {
			a.Leads = parseLeads(a.LeadsRaw)
		}

		// Deadline.
		dl := parseDeadline(t.get(r, "Deadline"))
		a.Deadline, a.DeadlineRaw, a.Milestones = dl.date.String(), dl.raw, dl.milestones
		for _, msg := range dl.issues {
			c.problem(b, "Deadline", dl.raw, msg, true)
		}
		if len(dl.issues) > 0 {
			a.Flags = append(a.Flags, domain.Flag{Field: "deadline", Raw: dl.raw, Message: strings.Join(dl.issues, "; ")})
		}
		if dl.note != "" && ref != "" {
			b.note("%s: %s", ref, dl.note)
		}
		if t.get(r, "Deadline") == "" && ref != "" {
			b.note("%s: Deadline is empty", ref)
		}

		// RAG.
		rag, trend, issue := parseRag(a.RagRaw)
		a.Rag, a.Trend = rag, trend
		if issue != "" {
			c.problem(b, "RAG", a.RagRaw, issue, true)
			a.Flags = append(a.Flags, domain.Flag{Field: "rag", Raw: a.RagRaw, Message: issue})
		}

		if ok {
			b.plan.Actions = append(b.plan.Actions, a)
		}
	}
}

// kpiDef is an indicator being collected, with the rows that defined it.
type kpiDef struct {
	idx     int // in b.plan.Kpis
	row     int // the first row
	periods map[string]int
	values  map[string]string
}

func (b *builder) kpis(t *table, pr *priorityRefs) {
	defs := map[string]*kpiDef{}
	for _, r := range t.rows {
		c := cell{t: t, r: r}
		d := domain.DefineKpi{
			Name: t.get(r, "Indicator"), Direction: t.get(r, "Required direction"),
			Target: t.get(r, "Target"), National: t.get(r, "National comparator"),
		}
		period, value := t.get(r, "Period"), t.get(r, "Value")
		ok := true
		d.Priority = pr.resolve(b, c, t.get(r, "Priority"))
		if d.Priority == "" {
			ok = false
		}
		if d.Name == "" {
			c.problem(b, "Indicator", "", "Indicator is required: the indicator's name is empty", false)
			ok = false
		}
		if _, err := domain.ParseDirection(d.Direction); err != nil {
			c.problem(b, "Required direction", d.Direction, fmt.Sprintf("%q is not a direction (want ▲ for higher is better, ▼ for lower is better, or empty)", d.Direction), false)
			ok = false
		}
		if period == "" {
			c.problem(b, "Period", "", "Period is required (e.g. Dec-23)", false)
			ok = false
		}
		for col, v := range map[string]string{"Indicator": d.Name, "Period": period, "Value": value, "Target": d.Target, "National comparator": d.National} {
			ok = c.checkLen(b, col, v, domain.MaxShort) && ok
		}
		if !ok {
			continue
		}
		key := fold(d.Name)
		k, seen := defs[key]
		if !seen {
			k = &kpiDef{idx: len(b.plan.Kpis), row: r.row, periods: map[string]int{}, values: map[string]string{}}
			defs[key] = k
			b.plan.Kpis = append(b.plan.Kpis, Kpi{Define: d})
		} else {
			first := b.plan.Kpis[k.idx].Define
			if d.Name != first.Name {
				b.note("%s row %d: indicator %q is taken as %q (row %d): names are compared ignoring case and spacing", t.file, r.row, d.Name, first.Name, k.row)
			}
			if d.Priority != first.Priority {
				c.problem(b, "Priority", t.get(r, "Priority"), fmt.Sprintf("indicator %q is under priority %s here but under priority %s in row %d; an indicator is identified by its name, so one name cannot serve two priorities (rename one)", first.Name, d.Priority, first.Priority, k.row), false)
				ok = false
			}
			for _, f := range []struct{ col, got, want string }{
				{"Required direction", d.Direction, first.Direction},
				{"Target", d.Target, first.Target},
				{"National comparator", d.National, first.National},
			} {
				if f.got != f.want {
					c.problem(b, f.col, f.got, fmt.Sprintf("%s %q differs from %q in row %d for the same indicator %q", f.col, f.got, f.want, k.row, first.Name), false)
					ok = false
				}
			}
			if !ok {
				continue
			}
		}
		if value == "" {
			b.note("%s row %d: %q has no value for %s; nothing recorded", t.file, r.row, d.Name, period)
			continue
		}
		if prevRow, dup := k.periods[period]; dup {
			if k.values[period] == value {
				b.note("%s row %d: %q %s repeats row %d's value %q; recorded once", t.file, r.row, d.Name, period, prevRow, value)
			} else {
				c.problem(b, "Value", value, fmt.Sprintf("%q has two values for %s: %q in row %d and %q here", d.Name, period, k.values[period], prevRow, value), false)
			}
			continue
		}
		k.periods[period], k.values[period] = r.row, value
		b.plan.Kpis[k.idx].Values = append(b.plan.Kpis[k.idx].Values, domain.RecordKpiValue{Period: period, Value: value})
	}
}
