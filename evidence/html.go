package evidence

import (
	"fmt"
	"html"
	"html/template"
	"io"
	"math"
	"strings"
)

// renderHTML writes report.html: one self-contained page (no scripts, no
// external resources), charts as inline SVG, every value escaped by
// html/template.
func renderHTML(w io.Writer, r *reportData) error {
	return reportTemplate.Execute(w, r)
}

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"ragBar":    ragBarSVG,
	"kpiChart":  kpiChartSVG,
	"steps":     func() any { return verifySteps },
	"lines":     func(s string) []string { return strings.Split(s, "\n") },
	"ragIndex":  ragIndex,
	"hasPrefix": hasPrefix,
}).Parse(reportHTML))

const reportHTML = `<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Evidence: {{.Title}} as of {{.AsOf}}</title>
<style>
body { font: 15px/1.45 system-ui, "Segoe UI", Helvetica, Arial, sans-serif; color: #1d2430; margin: 0; background: #f4f6f9; }
main { max-width: 1040px; margin: 0 auto; padding: 28px 32px 60px; background: #fff; }
header { border-bottom: 4px solid #1f3a5f; padding-bottom: 14px; margin-bottom: 18px; }
h1 { font-size: 26px; margin: 0 0 4px; color: #1f3a5f; }
h2 { font-size: 19px; color: #1f3a5f; border-bottom: 1px solid #d6dce5; padding-bottom: 4px; margin-top: 34px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.sub { color: #56606e; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px; margin: 14px 0; }
.card { background: #f1f4f8; border-radius: 6px; padding: 10px 12px; }
.card b { display: block; font-size: 24px; color: #1f3a5f; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 14px; font-size: 13.5px; }
th { background: #1f3a5f; color: #fff; text-align: left; font-weight: 600; padding: 6px 8px; }
td { border-bottom: 1px solid #e2e6ec; padding: 5px 8px; vertical-align: top; }
tr:nth-child(even) td { background: #f8f9fb; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.rag { display: inline-block; min-width: 26px; text-align: center; color: #fff; border-radius: 3px; font-weight: 700; font-size: 12px; padding: 1px 4px; }
.mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12.5px; word-break: break-all; }
.integrity { background: #eef3f9; border-left: 4px solid #1f3a5f; padding: 10px 14px; margin: 12px 0; }
.integrity dt { font-weight: 600; margin-top: 6px; }
.integrity dd { margin: 0 0 0 0; }
.kpis { display: grid; grid-template-columns: repeat(auto-fill, minmax(310px, 1fr)); gap: 14px; }
.kpi { border: 1px solid #e2e6ec; border-radius: 6px; padding: 8px 10px; }
.kpi h4 { margin: 0 0 2px; font-size: 13.5px; }
.kpi p { margin: 0; font-size: 12px; color: #56606e; }
.late { color: #c62828; font-weight: 600; }
.muted { color: #7a8391; }
pre { background: #1d2430; color: #e8edf3; padding: 10px 12px; border-radius: 5px; overflow-x: auto; font-size: 12.5px; }
@media print { body { background: #fff; } main { padding: 0; } h2 { break-after: avoid; } .kpi { break-inside: avoid; } }
</style>
</head>
<body>
<main>
<header>
<h1>{{.Title}}</h1>
<div class="sub">SEND Improvement Plan — evidence bundle as of <strong>{{.AsOf}}</strong> · plan <span class="mono">{{.Plan}}</span></div>
<div class="sub">{{.AsOfNote}}</div>
</header>

<section class="integrity">
<strong>Integrity.</strong> This report is one file of a signed evidence bundle. The bundle holds all {{.Events}} events of the plan's log up to the checkpoint below; its Merkle root and signature prove that nothing in it was changed, dropped, added or reordered after export.
<dl>
<dt>Checkpoint</dt><dd class="mono">{{.Origin}} · {{.Events}} events · root {{.RootBase64}}</dd>
<dt>Root (hex)</dt><dd class="mono">{{.RootHex}}</dd>
<dt>Signing key fingerprint (SHA-256 of the public key)</dt><dd class="mono">{{.Fingerprint}}</dd>
<dt>Stream sequences</dt><dd>{{.FirstSeq}} to {{.LastSeq}}, recorded {{.FirstRecorded}} to {{.LastRecorded}}</dd>
{{if .PrevSize}}<dt>Extends an earlier checkpoint</dt><dd class="mono">{{.PrevSize}} events · root {{.PrevRoot}} (consistency proof included)</dd>{{end}}
</dl>
</section>

<div class="cards">
<div class="card"><b>{{.Actions}}</b>actions ({{.Withdrawn}} withdrawn)</div>
<div class="card"><b{{if .Overdue}} class="late"{{end}}>{{.Overdue}}</b>overdue on {{.Day}}</div>
<div class="card"><b>{{.SlipsTotal}}</b>deadline slips ({{.SlipDays}} days)</div>
<div class="card"><b>{{.LeadTotal}}</b>lead changes</div>
<div class="card"><b>{{.RagMoves}}</b>RAG changes ({{.Improved}} better, {{.Worsened}} worse)</div>
<div class="card"><b>{{.Flagged}}</b>with open import flags</div>
</div>

<h2>RAG summary and direction of travel</h2>
{{ragBar .}}
<table>
<tr><th>RAG</th><th>Meaning</th><th class="n">Actions</th><th class="n">%</th><th class="n">{{if .BaselineLabel}}At {{.BaselineLabel}}{{else}}Baseline{{end}}</th><th class="n">Change</th><th>Direction</th></tr>
{{range .Rag}}<tr><td><span class="rag" style="background:{{.Color}}">{{.Code}}</span></td><td>{{.Label}}</td><td class="n">{{.Count}}</td><td class="n">{{.Pct}}</td><td class="n">{{.Baseline}}</td><td class="n">{{.Change}}</td><td>{{.Direction}}</td></tr>
{{end}}<tr><td></td><td><strong>Live actions</strong></td><td class="n"><strong>{{.RagTotal}}</strong></td><td></td><td></td><td></td><td></td></tr>
</table>
<p class="muted">Direction of travel compares the count of each rating now with {{if .BaselineLabel}}{{.BaselineLabel}}{{else}}no baseline (no reporting period closed and no published counts){{end}}. Withdrawn actions are not counted.</p>

<h3>By priority area</h3>
<table>
<tr><th>Priority area</th>{{range $.Rag}}<th class="n">{{.Code}}</th>{{end}}<th class="n">Live</th><th class="n">Overdue</th></tr>
{{range .Priorities}}{{$p := .}}<tr><td>{{.Number}}. {{.Title}}</td>{{range $i, $c := $.Rag}}<td class="n">{{index $p.Counts (ragIndex $c.Code)}}</td>{{end}}<td class="n">{{.Total}}</td><td class="n{{if .Overdue}} late{{end}}">{{.Overdue}}</td></tr>
{{end}}</table>

<h2>Deadline slips, with reasons</h2>
{{if .Cats}}<table>
<tr><th>Reason category</th><th class="n">Moves</th><th class="n">Counted as slippage</th><th class="n">Days slipped</th></tr>
{{range .Cats}}<tr><td>{{.Category}}</td><td class="n">{{.Moves}}</td><td class="n">{{.Slips}}</td><td class="n">{{.Days}}</td></tr>
{{end}}</table>
<p class="muted">A move counts as slippage when it pushes a set deadline later for any reason but an agreed re-baselining ("rebaselined").</p>
{{if .TopSlipped}}<h3>Actions that slipped most</h3>
<table><tr><th>Ref</th><th class="n">Slips</th><th class="n">Days</th><th>Original deadline</th><th>Deadline now</th></tr>
{{range .TopSlipped}}<tr><td>{{.Ref}}</td><td class="n">{{.Moves}}</td><td class="n">{{.Days}}</td><td>{{.Original}}</td><td>{{.Current}}</td></tr>
{{end}}</table>{{end}}
<h3>Deadline moves{{if gt (len .Slips) 0}} (latest {{len .Slips}}, newest first; deadline-changes.csv has every one){{end}}</h3>
<table><tr><th>Recorded (UTC)</th><th>Ref</th><th>From</th><th>To</th><th class="n">Days</th><th>Category</th><th>Reason</th><th>By</th></tr>
{{range .Slips}}<tr><td class="mono">{{.Recorded}}</td><td>{{.Ref}}</td><td>{{.From}}</td><td>{{.To}}</td><td class="n">{{.Days}}</td><td>{{.Category}}{{if not .Slip}} <span class="muted">(not slippage)</span>{{end}}</td><td>{{.Reason}}</td><td>{{.By}}</td></tr>
{{end}}</table>
{{else}}<p>No deadline has moved.</p>{{end}}

<h2>Lead changes</h2>
{{if .LeadChanges}}<table><tr><th>Recorded (UTC)</th><th>Ref</th><th>From</th><th>To</th><th>Reason</th><th>By</th></tr>
{{range .LeadChanges}}<tr><td class="mono">{{.Recorded}}</td><td>{{.Ref}}</td><td>{{.From}}</td><td>{{.To}}</td><td>{{.Reason}}</td><td>{{.By}}</td></tr>
{{end}}</table>{{if gt .LeadTotal (len .LeadChanges)}}<p class="muted">The latest {{len .LeadChanges}} of {{.LeadTotal}}; lead-changes.csv has every one.</p>{{end}}
{{else}}<p>No lead has changed.</p>{{end}}

<h2>KPI trends</h2>
<div class="kpis">
{{range .Kpis}}<div class="kpi"><h4>{{.Name}}</h4><p>{{.Priority}} · direction {{if .Direction}}{{.Direction}}{{else}}none given{{end}} · target {{or .Target "none"}} · national {{or .National "n/a"}}</p>
{{kpiChart .}}<p><strong>{{.Status}}</strong>{{if .Omitted}} · the {{.Omitted}} earliest values are in kpi-values.csv{{end}}</p></div>
{{else}}<p>No indicator has a numeric value yet.</p>{{end}}</div>
{{if .KpisText}}<h3>Indicators with no numeric value yet</h3>
<table><tr><th>Indicator</th><th>Priority area</th><th>Direction</th><th>Target</th><th>Latest</th></tr>
{{range .KpisText}}<tr><td>{{.Name}}</td><td>{{.Priority}}</td><td>{{.Direction}}</td><td>{{or .Target "none"}}</td><td>{{or .Latest "no value"}}</td></tr>
{{end}}</table>{{end}}

<h2>The plan as of {{.AsOf}}</h2>
<table><tr><th>Ref</th><th>RAG</th><th>Deadline</th><th>Leads</th><th>Action</th></tr>
{{range .ActionList}}<tr><td>{{.Ref}}</td><td><span class="rag" style="background:{{.Color}}">{{.Rag}}</span></td><td{{if .Overdue}} class="late"{{end}}>{{.Deadline}}{{if .Overdue}} (overdue){{end}}</td><td>{{.Leads}}</td><td>{{if .Withdrawn}}<span class="muted">[withdrawn]</span> {{end}}{{.Text}}</td></tr>
{{end}}</table>
{{if .ActionsOmitted}}<p class="muted">{{.ActionsOmitted}} more actions are in actions.csv.</p>{{end}}

<h2>How to verify this bundle</h2>
{{range steps}}<h3>{{.Title}}</h3>{{range lines .Body}}{{if hasPrefix . "sendtrail " "openssl " "sha256sum "}}<pre>{{.}}</pre>{{else}}<p>{{.}}</p>{{end}}{{end}}{{end}}
<h3>The signed checkpoint</h3>
<pre>{{.Checkpoint}}</pre>
<p class="muted">Events by type: {{range $i, $t := .EventTypeCounts}}{{if $i}}, {{end}}{{$t.Type}} {{$t.Count}}{{end}}.</p>
</main>
</body>
</html>
`

func ragIndex(code string) int {
	if code == "–" {
		code = ""
	}
	for i, c := range ragOrder {
		if c == code {
			return i
		}
	}
	return len(ragOrder) - 1
}

func hasPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// ragBarSVG draws the live actions as one bar split by rating.
func ragBarSVG(r *reportData) template.HTML {
	const w, h = 960.0, 30.0
	if r.RagTotal == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %g %g" width="100%%" role="img" aria-label="RAG ratings of the live actions">`, w, h+18)
	x := 0.0
	for _, g := range r.Rag {
		if g.Count == 0 {
			continue
		}
		sw := w * float64(g.Count) / float64(r.RagTotal)
		fmt.Fprintf(&b, `<rect x="%.2f" y="0" width="%.2f" height="%g" fill="%s"><title>%s %s: %d</title></rect>`,
			x, sw, h, g.Color, html.EscapeString(g.Code), html.EscapeString(g.Label), g.Count)
		if sw > 34 {
			fmt.Fprintf(&b, `<text x="%.2f" y="20" fill="#fff" font-size="13" font-weight="700" text-anchor="middle">%s %d</text>`,
				x+sw/2, html.EscapeString(g.Code), g.Count)
		}
		x += sw
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// kpiChartSVG draws an indicator's values as a line, the target dashed.
func kpiChartSVG(k kpiChart) template.HTML {
	const w, h, left, right, top, bottom = 300.0, 130.0, 44.0, 8.0, 10.0, 22.0
	var pts []kpiPoint
	for _, p := range k.Points {
		if p.OK {
			pts = append(pts, p)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %g %g" width="100%%" role="img" aria-label="%s">`, w, h, html.EscapeString(k.Name))
	if len(pts) == 0 {
		fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="middle" font-size="12" fill="#7a8391">no numeric values%s</text></svg>`,
			w/2, h/2, html.EscapeString(latestSuffix(k)))
		return template.HTML(b.String())
	}
	lo, hi := scaleOf(pts, k)
	n := len(k.Points)
	xOf := func(i int) float64 {
		if n == 1 {
			return left + (w-left-right)/2
		}
		return left + (w-left-right)*float64(i)/float64(n-1)
	}
	yOf := func(v float64) float64 { return top + (h-top-bottom)*(1-(v-lo)/(hi-lo)) }
	// Axes and gridlines.
	for _, v := range []float64{lo, (lo + hi) / 2, hi} {
		y := yOf(v)
		fmt.Fprintf(&b, `<line x1="%g" y1="%.2f" x2="%g" y2="%.2f" stroke="#e2e6ec"/>`, left, y, w-right, y)
		fmt.Fprintf(&b, `<text x="%g" y="%.2f" font-size="10" fill="#56606e" text-anchor="end">%s</text>`, left-4, y+3, html.EscapeString(axisLabel(v)))
	}
	if k.HasTarget {
		y := yOf(k.TargetNum)
		fmt.Fprintf(&b, `<line x1="%g" y1="%.2f" x2="%g" y2="%.2f" stroke="#2e7d32" stroke-dasharray="5 3"/>`, left, y, w-right, y)
		fmt.Fprintf(&b, `<text x="%g" y="%.2f" font-size="10" fill="#2e7d32" text-anchor="end">target</text>`, w-right, y-3)
	}
	var path strings.Builder
	idx := map[string]int{}
	for i, p := range k.Points {
		idx[p.Period] = i
	}
	for j, p := range pts {
		cmd := "L"
		if j == 0 {
			cmd = "M"
		}
		fmt.Fprintf(&path, "%s%.2f %.2f ", cmd, xOf(idx[p.Period]), yOf(p.Num))
	}
	fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="#1f3a5f" stroke-width="2"/>`, strings.TrimSpace(path.String()))
	for _, p := range pts {
		fmt.Fprintf(&b, `<circle cx="%.2f" cy="%.2f" r="2.8" fill="#1f3a5f"><title>%s: %s</title></circle>`,
			xOf(idx[p.Period]), yOf(p.Num), html.EscapeString(p.Period), html.EscapeString(p.Value))
	}
	fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="10" fill="#56606e">%s</text>`, left, h-6, html.EscapeString(k.Points[0].Period))
	if n > 1 {
		fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="10" fill="#56606e" text-anchor="end">%s</text>`, w-right, h-6, html.EscapeString(k.Points[n-1].Period))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func latestSuffix(k kpiChart) string {
	if k.Latest == "" {
		return ""
	}
	return " (latest: " + k.Latest + ")"
}

// scaleOf returns the value range a chart shows: the values and the
// target, with some room.
func scaleOf(pts []kpiPoint, k kpiChart) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, p := range pts {
		lo, hi = math.Min(lo, p.Num), math.Max(hi, p.Num)
	}
	if k.HasTarget {
		lo, hi = math.Min(lo, k.TargetNum), math.Max(hi, k.TargetNum)
	}
	if hi == lo {
		pad := math.Max(math.Abs(hi)*0.1, 1)
		return lo - pad, hi + pad
	}
	pad := (hi - lo) * 0.08
	if lo >= 0 && lo-pad < 0 {
		return 0, hi + pad
	}
	return lo - pad, hi + pad
}

func axisLabel(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case a >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case a >= 100 || v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprintf("%.1f", v)
	}
}
