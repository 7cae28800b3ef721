package evidence

import (
	"encoding/hex"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sendtrail/sendtrail/domain"
)

// Report limits: the report is for reading; the spreadsheets hold every row.
const (
	reportMaxRows    = 200  // deadline moves and lead changes listed
	reportMaxActions = 2000 // actions listed in the appendix
	reportMaxPoints  = 36   // KPI values charted (the latest)
	reportTextChars  = 220  // characters of an action's text in the appendix
)

// collector gathers, in bounded memory, what the report says about the
// history: the latest deadline moves and lead changes, slippage by reason
// and by action, and RAG moves.
type collector struct {
	slips    []slipRow // ring of the latest reportMaxRows
	slipN    int
	leads    []leadRow
	leadN    int
	cats     map[string]*catRow
	byAction map[string]*actionSlip
	improved int
	worsened int
	ragMoves int
}

type slipRow struct {
	Recorded, Decided, Ref, From, To, Category, Reason, By string
	Days                                                   int
	Slip                                                   bool
}

type leadRow struct{ Recorded, Ref, From, To, Reason, By string }

type catRow struct {
	Category           string
	Moves, Slips, Days int
}

type actionSlip struct {
	Ref, Original, Current string
	Moves, Days            int
}

func newCollector() *collector {
	return &collector{cats: map[string]*catRow{}, byAction: map[string]*actionSlip{}}
}

func ring[T any](buf []T, n int, v T) []T {
	if len(buf) < reportMaxRows {
		return append(buf, v)
	}
	buf[n%reportMaxRows] = v
	return buf
}

// latest returns a ring's rows, newest first.
func latest[T any](buf []T, n int) []T {
	out := make([]T, 0, len(buf))
	for i := 0; i < len(buf); i++ {
		out = append(out, buf[((n-1-i)%len(buf)+len(buf))%len(buf)])
	}
	return out
}

func (c *collector) add(s step) {
	a, ok := s.next.(domain.ActionState)
	if !ok {
		return
	}
	env := s.env
	by := env.Actor.DisplayName
	if env.Actor.Role != "" {
		by += " (" + string(env.Actor.Role) + ")"
	}
	switch e := env.Event.(type) {
	case domain.DeadlineMoved:
		days := 0
		if !e.From.IsZero() && !e.To.IsZero() {
			days = e.From.DaysUntil(e.To)
		}
		slip := e.Category.IsSlip() && !e.From.IsZero() && days > 0
		c.slips = ring(c.slips, c.slipN, slipRow{Recorded: shortStamp(env.RecordedAt), Decided: shortStamp(env.OccurredAt), Ref: a.Ref(),
			From: e.From.String(), To: e.To.String(), Category: e.Category.String(), Reason: e.Reason, By: by, Days: days, Slip: slip})
		c.slipN++
		cr := c.cats[e.Category.String()]
		if cr == nil {
			cr = &catRow{Category: e.Category.String()}
			c.cats[cr.Category] = cr
		}
		cr.Moves++
		if slip {
			cr.Slips++
			cr.Days += days
			as := c.byAction[env.AggregateID]
			if as == nil {
				as = &actionSlip{Ref: a.Ref()}
				c.byAction[env.AggregateID] = as
			}
			as.Moves++
			as.Days += days
		}
	case domain.LeadsReassigned:
		c.leads = ring(c.leads, c.leadN, leadRow{Recorded: shortStamp(env.RecordedAt), Ref: a.Ref(), From: leadsText(e.From), To: leadsText(e.To), Reason: e.Reason, By: by})
		c.leadN++
	case domain.RagChanged:
		c.ragMoves++
		switch ragDirection(e.From, e.To) {
		case "improved":
			c.improved++
		case "worsened":
			c.worsened++
		}
	}
}

// shortStamp is a time as the report shows it: UTC to the minute.
func shortStamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04")
}

// reportData is what report.html and report.pdf show.
type reportData struct {
	Plan, Title     string
	AsOf            string // "2024-06-30" or "2024-06-30 23:59:59 UTC"
	AsOfNote        string
	Day             domain.Date
	Events          uint64
	FirstSeq        uint64
	LastSeq         uint64
	FirstRecorded   string
	LastRecorded    string
	Origin          string
	RootBase64      string
	RootHex         string
	Fingerprint     string
	VerifierKey     string
	Checkpoint      string
	PrevSize        uint64
	PrevRoot        string
	Actions         int
	Live            int
	Withdrawn       int
	Overdue         int
	Flagged         int
	Rag             []ragRow
	RagTotal        int
	BaselineLabel   string
	Priorities      []prioRow
	Cats            []catRow
	Slips           []slipRow
	SlipsTotal      int
	SlipDays        int
	TopSlipped      []actionSlip
	LeadChanges     []leadRow
	LeadTotal       int
	RagMoves        int
	Improved        int
	Worsened        int
	Kpis            []kpiChart // with at least one numeric value: charted
	KpisText        []kpiChart // with none: listed
	ActionList      []actionLine
	ActionsOmitted  int
	EventTypeCounts []typeCount
}

type ragRow struct {
	Code, Label       string
	Count             int
	Pct               string
	Baseline          string // count at the baseline, "" if none
	Change, Direction string
	Color             string // fill colour, hex
}

type prioRow struct {
	Number, Title  string
	Counts         []int // by ragOrder
	Total, Overdue int
}

type kpiChart struct {
	Name, Priority, Direction, Target, National string
	Points                                      []kpiPoint
	Latest, Status                              string
	TargetNum                                   float64
	HasTarget                                   bool
	Omitted                                     int
}

type kpiPoint struct {
	Period, Value string
	Num           float64
	OK            bool
}

type actionLine struct {
	Ref, Rag, Deadline, Leads, Text string
	Overdue, Withdrawn              bool
	Color                           string
}

type typeCount struct {
	Type  string
	Count int
}

// ragOrder is the order codes are shown in: the plan's own, then not rated.
var ragOrder = []string{"R", "A", "P", "G", "C", "NS", ""}

var ragColors = map[string]string{"R": "#c62828", "A": "#ef8f00", "P": "#7b3fa0", "G": "#2e7d32", "C": "#1565c0", "NS": "#8a8a8a", "": "#cfcfcf"}

var ragLabels = map[string]string{"R": "High risk", "A": "Significant risk", "P": "On track", "G": "Actioned", "C": "Completed", "NS": "Not started", "": "Not yet rated"}

func ragName(code string) string {
	if code == "" {
		return "–"
	}
	return code
}

// buildReport assembles the report from the folded view and the history.
func buildReport(v *view, c *collector, m meta) *reportData {
	r := &reportData{
		Plan: m.plan, Title: v.plan.Title(), AsOf: m.asOfText(), AsOfNote: m.asOfNote(), Day: m.day,
		Events: v.leaves, FirstSeq: v.firstSeq, LastSeq: v.lastSeq,
		FirstRecorded: stamp(v.firstTime), LastRecorded: stamp(v.lastTime),
		Origin: Origin(m.plan), RootBase64: m.cp.RootBase64(), RootHex: hex.EncodeToString(m.cp.Root),
		Fingerprint: m.key.Fingerprint(), VerifierKey: m.key.VerifierKey(), Checkpoint: string(m.signedCheckpoint),
	}
	if r.Title == "" {
		r.Title = m.plan
	}
	if m.prev != nil {
		r.PrevSize, r.PrevRoot = m.prev.Size, m.prev.RootBase64()
	}
	counts, live := v.ragCounts()
	r.Live, r.RagTotal = live, live
	for _, a := range v.actions {
		if !a.Exists() {
			continue
		}
		r.Actions++
		if a.Withdrawn() {
			r.Withdrawn++
		}
		if overdue(a, m.day) {
			r.Overdue++
		}
		if len(a.Flags()) > 0 {
			r.Flagged++
		}
	}

	// RAG summary against the baseline: the last reporting period closed
	// by the as-of date, else the counts the plan published.
	base := map[string]string{}
	for _, p := range v.plan.Periods() {
		if !p.Date.IsZero() && m.day.Before(p.Date) {
			continue
		}
		r.BaselineLabel = fmt.Sprintf("%s (closed %s)", p.Label, p.Date)
		base = map[string]string{}
		for code, n := range p.RagCounts {
			base[code] = strconv.Itoa(n)
		}
		for _, code := range ragOrder {
			if _, ok := base[code]; !ok {
				base[code] = "0"
			}
		}
	}
	if r.BaselineLabel == "" && len(v.plan.RagScheme()) > 0 {
		r.BaselineLabel = "the plan as published"
		for _, row := range v.plan.RagScheme() {
			if n := strings.TrimSpace(row.Count); n != "" {
				base[strings.ToUpper(strings.TrimSpace(row.Code))] = n
			}
		}
	}
	for _, code := range ragOrder {
		n := counts[code]
		if code == "" && n == 0 {
			continue
		}
		row := ragRow{Code: ragName(code), Label: ragLabels[code], Count: n, Color: ragColors[code], Direction: "", Change: ""}
		if live > 0 {
			row.Pct = fmt.Sprintf("%.0f%%", 100*float64(n)/float64(live))
		}
		if b, ok := base[code]; ok {
			row.Baseline = b
			if bn, err := strconv.Atoi(b); err == nil {
				switch d := n - bn; {
				case d > 0:
					row.Change, row.Direction = fmt.Sprintf("+%d", d), "▲"
				case d < 0:
					row.Change, row.Direction = fmt.Sprintf("−%d", -d), "▼"
				default:
					row.Change, row.Direction = "0", "→"
				}
			}
		}
		r.Rag = append(r.Rag, row)
	}

	// By priority area.
	byPrio := map[string]*prioRow{}
	var prios []*prioRow
	for _, p := range v.sortedPriorities() {
		pr := &prioRow{Number: p.Number, Title: p.Title, Counts: make([]int, len(ragOrder))}
		byPrio[p.Number] = pr
		prios = append(prios, pr)
	}
	for _, a := range v.sortedActions() {
		if a.Withdrawn() {
			continue
		}
		pr := byPrio[a.Priority()]
		if pr == nil {
			pr = &prioRow{Number: a.Priority(), Title: "(no such priority area)", Counts: make([]int, len(ragOrder))}
			byPrio[a.Priority()] = pr
			prios = append(prios, pr)
		}
		for i, code := range ragOrder {
			if a.Rag().String() == code {
				pr.Counts[i]++
			}
		}
		pr.Total++
		if overdue(a, m.day) {
			pr.Overdue++
		}
	}
	for _, p := range prios {
		r.Priorities = append(r.Priorities, *p)
	}

	// Deadline moves and slippage.
	for _, cr := range c.cats {
		r.Cats = append(r.Cats, *cr)
		r.SlipsTotal += cr.Slips
		r.SlipDays += cr.Days
	}
	sort.Slice(r.Cats, func(i, j int) bool {
		if r.Cats[i].Days != r.Cats[j].Days {
			return r.Cats[i].Days > r.Cats[j].Days
		}
		return r.Cats[i].Category < r.Cats[j].Category
	})
	r.Slips = latest(c.slips, c.slipN)
	var top []actionSlip
	for id, as := range c.byAction {
		x := *as
		if a, ok := v.actions[id]; ok {
			x.Original, x.Current = a.OriginalDeadline().String(), a.Deadline().String()
		}
		top = append(top, x)
	}
	sort.Slice(top, func(i, j int) bool {
		if top[i].Days != top[j].Days {
			return top[i].Days > top[j].Days
		}
		return naturalKey(top[i].Ref) < naturalKey(top[j].Ref)
	})
	r.TopSlipped = top[:min(len(top), 10)]
	r.LeadChanges = latest(c.leads, c.leadN)
	r.LeadTotal = c.leadN
	r.RagMoves, r.Improved, r.Worsened = c.ragMoves, c.improved, c.worsened

	// KPI trends.
	for _, k := range v.sortedKpis() {
		d := k.Definition()
		kc := kpiChart{Name: d.Name, Priority: v.priorityTitle(d.Priority), Target: d.Target, National: d.National,
			Direction: map[string]string{"up": "▲", "down": "▼"}[d.Direction.String()]}
		kc.TargetNum, kc.HasTarget = parseNumber(d.Target)
		periods := k.Periods()
		if len(periods) > reportMaxPoints {
			kc.Omitted = len(periods) - reportMaxPoints
			periods = periods[len(periods)-reportMaxPoints:]
		}
		var last, prev *kpiPoint
		for _, p := range periods {
			val, _ := k.Value(p)
			n, ok := parseNumber(val)
			kc.Points = append(kc.Points, kpiPoint{Period: p, Value: val, Num: n, OK: ok})
			kc.Latest = val
		}
		for i := range kc.Points {
			if kc.Points[i].OK {
				prev, last = last, &kc.Points[i]
			}
		}
		switch {
		case last == nil:
			kc.Status = "no numeric value yet"
		case !kc.HasTarget || d.Direction == domain.DirectionNone:
			kc.Status = "latest " + last.Value
		case (d.Direction == domain.DirectionUp && last.Num >= kc.TargetNum) || (d.Direction == domain.DirectionDown && last.Num <= kc.TargetNum):
			kc.Status = "meets target (" + last.Value + ")"
		default:
			kc.Status = "short of target (" + last.Value + ")"
		}
		if last != nil && prev != nil && d.Direction != domain.DirectionNone {
			better := last.Num > prev.Num
			if d.Direction == domain.DirectionDown {
				better = last.Num < prev.Num
			}
			switch {
			case last.Num == prev.Num:
				kc.Status += " · no change since " + prev.Period
			case better:
				kc.Status += " · improving since " + prev.Period
			default:
				kc.Status += " · worsening since " + prev.Period
			}
		}
		if last == nil {
			r.KpisText = append(r.KpisText, kc)
		} else {
			r.Kpis = append(r.Kpis, kc)
		}
	}

	// The actions, as of the date.
	for i, a := range v.sortedActions() {
		if i >= reportMaxActions {
			r.ActionsOmitted++
			continue
		}
		text := a.Text()
		if rs := []rune(text); len(rs) > reportTextChars {
			text = strings.TrimSpace(string(rs[:reportTextChars])) + "…"
		}
		var names []string
		for _, l := range a.Leads() {
			names = append(names, l.Name)
		}
		r.ActionList = append(r.ActionList, actionLine{Ref: a.Ref(), Rag: ragName(a.Rag().String()), Deadline: a.Deadline().String(),
			Leads: strings.Join(names, ", "), Text: text, Overdue: overdue(a, m.day), Withdrawn: a.Withdrawn(), Color: ragColors[a.Rag().String()]})
	}
	for t, n := range v.byType {
		r.EventTypeCounts = append(r.EventTypeCounts, typeCount{Type: t, Count: n})
	}
	sort.Slice(r.EventTypeCounts, func(i, j int) bool {
		if r.EventTypeCounts[i].Count != r.EventTypeCounts[j].Count {
			return r.EventTypeCounts[i].Count > r.EventTypeCounts[j].Count
		}
		return r.EventTypeCounts[i].Type < r.EventTypeCounts[j].Type
	})
	return r
}

var numberRE = regexp.MustCompile(`^[£$]?\s*([-+]?[0-9][0-9,]*(\.[0-9]+)?|[-+]?\.[0-9]+)\s*(%|[kKmM])?$`)

// parseNumber reads a KPI value as a number ("41.6%", "1,204", "3.9M");
// "TBC", "n/a" and the like are not numbers.
func parseNumber(s string) (float64, bool) {
	m := numberRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(m[1], ",", ""), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	switch m[3] {
	case "k", "K":
		f *= 1e3
	case "m", "M":
		f *= 1e6
	}
	return f, true
}

// summaryRows are the workbook's Summary sheet: what the bundle is, the
// checkpoint, and the plan in numbers.
func summaryRows(r *reportData) [][]string {
	rows := [][]string{
		{"Evidence bundle", r.Title},
		{"Plan", r.Plan},
		{"As of", r.AsOf},
		{"What as-of means", r.AsOfNote},
		{"Events (Merkle tree size)", strconv.FormatUint(r.Events, 10)},
		{"Stream sequences", fmt.Sprintf("%d to %d", r.FirstSeq, r.LastSeq)},
		{"First event recorded (UTC)", r.FirstRecorded},
		{"Last event recorded (UTC)", r.LastRecorded},
		{"Checkpoint origin", r.Origin},
		{"Merkle root (base64)", r.RootBase64},
		{"Merkle root (hex)", r.RootHex},
		{"Signing key fingerprint (SHA-256 of the public key)", r.Fingerprint},
		{"Signing key (signed-note verifier key)", r.VerifierKey},
	}
	if r.PrevSize > 0 {
		rows = append(rows, []string{"Consistent with an earlier checkpoint", fmt.Sprintf("%d events, root %s", r.PrevSize, r.PrevRoot)})
	}
	rows = append(rows,
		[]string{"Actions", strconv.Itoa(r.Actions)},
		[]string{"Withdrawn", strconv.Itoa(r.Withdrawn)},
		[]string{"Overdue on the as-of date", strconv.Itoa(r.Overdue)},
		[]string{"With open import flags", strconv.Itoa(r.Flagged)},
		[]string{"Deadline moves counted as slippage", fmt.Sprintf("%d (%d days in all)", r.SlipsTotal, r.SlipDays)},
		[]string{"Lead changes", strconv.Itoa(r.LeadTotal)},
		[]string{"RAG changes", fmt.Sprintf("%d (%d improved, %d worsened)", r.RagMoves, r.Improved, r.Worsened)},
		[]string{},
		[]string{"RAG", "Meaning", "Actions", "%", "Baseline: " + r.BaselineLabel, "Change", "Direction"},
	)
	for _, g := range r.Rag {
		rows = append(rows, []string{g.Code, g.Label, strconv.Itoa(g.Count), g.Pct, g.Baseline, g.Change, g.Direction})
	}
	return rows
}

// meta is what a bundle is of: the plan, the date, the tree head.
type meta struct {
	plan             string
	asOf             time.Time // the last instant covered; zero: everything up to the export
	asOfDay          bool      // asOf was given as a date
	exportedAt       time.Time
	day              domain.Date // the day overdue is judged on
	cp               Checkpoint
	signedCheckpoint []byte
	key              Public
	prev             *Checkpoint
}

func (m meta) asOfText() string {
	switch {
	case m.asOfDay:
		return m.asOf.UTC().Format("2006-01-02")
	case !m.asOf.IsZero():
		return m.asOf.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	return m.day.String() + " (latest)"
}

func (m meta) asOfNote() string {
	if m.asOf.IsZero() {
		return "Every event the plan's log held when the bundle was exported."
	}
	when := "at or before " + m.asOfText()
	if m.asOfDay {
		when = "by the end of " + m.asOfText() + " (UTC)"
	}
	return "The plan's log in stream order up to the last event recorded " + when +
		": the plan as sendtrail held it then. Changes recorded later, even if backdated, are not included."
}
