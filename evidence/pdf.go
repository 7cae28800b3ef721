package evidence

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goitalic"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/goregular"
)

// The report's page: A4 portrait, millimetres.
const (
	pageW, pageH = 210.0, 297.0
	marginX      = 14.0
	marginTop    = 14.0
	marginBottom = 16.0
	contentW     = pageW - 2*marginX
)

type rgb struct{ r, g, b int }

var (
	navy    = rgb{0x1f, 0x3a, 0x5f}
	ink     = rgb{0x1d, 0x24, 0x30}
	grey    = rgb{0x56, 0x60, 0x6e}
	light   = rgb{0xee, 0xf3, 0xf9}
	rule    = rgb{0xd6, 0xdc, 0xe5}
	zebra   = rgb{0xf6, 0xf8, 0xfb}
	red     = rgb{0xc6, 0x28, 0x28}
	green   = rgb{0x2e, 0x7d, 0x32}
	white   = rgb{0xff, 0xff, 0xff}
	codeInk = rgb{0xe8, 0xed, 0xf3}
)

func hexColor(s string) rgb {
	v, err := strconv.ParseUint(strings.TrimPrefix(s, "#"), 16, 32)
	if err != nil {
		return grey
	}
	return rgb{int(v >> 16 & 0xff), int(v >> 8 & 0xff), int(v & 0xff)}
}

// pdfDoc wraps fpdf with the report's few building blocks.
type pdfDoc struct {
	*fpdf.Fpdf
	r    *reportData
	late func(row, col int) bool // cells to print in red (overdue), for the table being drawn
}

// renderPDF writes report.pdf. Fonts are the Go fonts (embedded, subset),
// so any text the plan holds prints; charts are drawn with PDF lines. The
// document's dates are fixed to the bundle's, so the same events always
// give the same file.
func renderPDF(w io.Writer, r *reportData, mod time.Time) error {
	f := fpdf.New("P", "mm", "A4", "")
	d := &pdfDoc{Fpdf: f, r: r}
	f.SetCompression(true)
	f.SetCatalogSort(true)
	f.SetCreationDate(mod.UTC())
	f.SetModificationDate(mod.UTC())
	f.SetTitle("Evidence: "+r.Title+" as of "+r.AsOf, true)
	f.SetSubject("SEND Improvement Plan evidence bundle, "+r.Origin+", "+strconv.FormatUint(r.Events, 10)+" events, root "+r.RootBase64, true)
	f.SetCreator("sendtrail", true)
	f.SetProducer("sendtrail", true)
	// fpdf writes into the font bytes it is given (the subset's
	// checksums): give it copies, or the shared fonts drift from one
	// report to the next and the same report gives other bytes.
	f.AddUTF8FontFromBytes("go", "", bytes.Clone(goregular.TTF))
	f.AddUTF8FontFromBytes("go", "B", bytes.Clone(gobold.TTF))
	f.AddUTF8FontFromBytes("go", "I", bytes.Clone(goitalic.TTF))
	f.AddUTF8FontFromBytes("mono", "", bytes.Clone(gomono.TTF))
	f.SetMargins(marginX, marginTop, marginX)
	f.SetAutoPageBreak(false, marginBottom)
	f.AliasNbPages("{nb}")
	f.SetFooterFunc(d.footer)
	f.AddPage()

	d.titleBlock()
	d.integrity()
	d.cards()
	d.ragSection()
	d.prioritySection()
	d.slipSection()
	d.leadSection()
	d.kpiSection()
	d.actionsSection()
	d.verifySection()
	if err := f.Error(); err != nil {
		return err
	}
	return f.Output(w)
}

func (d *pdfDoc) text(c rgb)                      { d.SetTextColor(c.r, c.g, c.b) }
func (d *pdfDoc) fill(c rgb)                      { d.SetFillColor(c.r, c.g, c.b) }
func (d *pdfDoc) draw(c rgb)                      { d.SetDrawColor(c.r, c.g, c.b) }
func (d *pdfDoc) font(style string, size float64) { d.SetFont("go", style, size) }

// need starts a new page unless h millimetres fit on this one.
func (d *pdfDoc) need(h float64) {
	if d.GetY()+h > pageH-marginBottom {
		d.AddPage()
	}
}

func (d *pdfDoc) footer() {
	d.SetY(pageH - 11)
	d.font("", 7.5)
	d.text(grey)
	d.CellFormat(contentW*0.8, 5, fmt.Sprintf("%s · as of %s · %d events · Merkle root %s", d.r.Plan, d.r.AsOf, d.r.Events, d.r.RootBase64), "", 0, "L", false, 0, "")
	d.CellFormat(contentW*0.2, 5, fmt.Sprintf("page %d of {nb}", d.PageNo()), "", 0, "R", false, 0, "")
}

func (d *pdfDoc) titleBlock() {
	d.fill(navy)
	d.Rect(0, 0, pageW, 34, "F")
	d.SetXY(marginX, 8)
	d.text(white)
	d.font("B", 18)
	d.MultiCell(contentW, 8, d.r.Title, "", "L", false)
	d.font("", 10.5)
	d.SetX(marginX)
	d.CellFormat(contentW, 6, "SEND Improvement Plan · evidence bundle as of "+d.r.AsOf+" · plan "+d.r.Plan, "", 1, "L", false, 0, "")
	d.SetY(math.Max(d.GetY(), 34) + 4)
	d.text(grey)
	d.font("I", 8.5)
	d.MultiCell(contentW, 4.2, d.r.AsOfNote, "", "L", false)
	d.Ln(2)
}

func (d *pdfDoc) heading(s string) {
	d.need(22)
	d.Ln(3)
	d.Bookmark(s, 0, -1)
	d.text(navy)
	d.font("B", 13)
	d.CellFormat(contentW, 7, s, "", 1, "L", false, 0, "")
	d.draw(rule)
	d.SetLineWidth(0.3)
	d.Line(marginX, d.GetY(), pageW-marginX, d.GetY())
	d.Ln(2.5)
}

func (d *pdfDoc) subheading(s string) {
	d.need(16)
	d.Ln(1)
	d.text(ink)
	d.font("B", 10.5)
	d.CellFormat(contentW, 6, s, "", 1, "L", false, 0, "")
}

func (d *pdfDoc) para(s string, style string, size float64, c rgb) {
	d.text(c)
	d.font(style, size)
	d.MultiCell(contentW, size*0.45, s, "", "L", false)
}

func (d *pdfDoc) integrity() {
	r := d.r
	rows := [][2]string{
		{"Checkpoint", fmt.Sprintf("%s · %d events · root %s", r.Origin, r.Events, r.RootBase64)},
		{"Root (hex)", r.RootHex},
		{"Key fingerprint", r.Fingerprint},
		{"Stream sequences", fmt.Sprintf("%d to %d, recorded %s to %s", r.FirstSeq, r.LastSeq, r.FirstRecorded, r.LastRecorded)},
	}
	if r.PrevSize > 0 {
		rows = append(rows, [2]string{"Extends", fmt.Sprintf("an earlier checkpoint of %d events, root %s (consistency proof included)", r.PrevSize, r.PrevRoot)})
	}
	h := 13 + 5.2*float64(len(rows))
	y := d.GetY()
	d.fill(light)
	d.Rect(marginX, y, contentW, h, "F")
	d.fill(navy)
	d.Rect(marginX, y, 1.4, h, "F")
	d.SetXY(marginX+4, y+2.5)
	d.text(ink)
	d.font("B", 9)
	d.CellFormat(20, 4.5, "Integrity.", "", 0, "L", false, 0, "")
	d.font("", 9)
	d.MultiCell(contentW-26, 4.5, fmt.Sprintf("This report is one file of a signed evidence bundle holding all %d events of the plan's log up to the checkpoint. Its Merkle root and signature prove nothing was changed, dropped, added or reordered after export.", r.Events), "", "L", false)
	for _, kv := range rows {
		d.SetX(marginX + 4)
		d.font("B", 8)
		d.text(grey)
		d.CellFormat(30, 5.2, kv[0], "", 0, "L", false, 0, "")
		d.SetFont("mono", "", 7.6)
		d.text(ink)
		d.CellFormat(contentW-36, 5.2, kv[1], "", 1, "L", false, 0, "")
	}
	d.SetY(y + h + 4)
}

func (d *pdfDoc) cards() {
	r := d.r
	cards := []struct {
		n     string
		label string
		late  bool
	}{
		{strconv.Itoa(r.Actions), fmt.Sprintf("actions (%d withdrawn)", r.Withdrawn), false},
		{strconv.Itoa(r.Overdue), "overdue on " + r.Day.String(), r.Overdue > 0},
		{strconv.Itoa(r.SlipsTotal), fmt.Sprintf("deadline slips (%d days)", r.SlipDays), false},
		{strconv.Itoa(r.LeadTotal), "lead changes", false},
		{strconv.Itoa(r.RagMoves), fmt.Sprintf("RAG changes (%d ▲ %d ▼)", r.Improved, r.Worsened), false},
		{strconv.Itoa(r.Flagged), "open import flags", false},
	}
	const gap = 3.0
	cw := (contentW - gap*float64(len(cards)-1)) / float64(len(cards))
	y := d.GetY()
	for i, c := range cards {
		x := marginX + float64(i)*(cw+gap)
		d.fill(rgb{0xf1, 0xf4, 0xf8})
		d.RoundedRect(x, y, cw, 19, 1.5, "1234", "F")
		d.SetXY(x+2, y+2)
		d.font("B", 15)
		if c.late {
			d.text(red)
		} else {
			d.text(navy)
		}
		d.CellFormat(cw-4, 7, c.n, "", 2, "L", false, 0, "")
		d.SetX(x + 2)
		d.font("", 7)
		d.text(grey)
		d.MultiCell(cw-4, 3.2, c.label, "", "L", false)
	}
	d.SetY(y + 23)
}

// column of a table.
type col struct {
	title string
	w     float64 // share of the width
	align string  // "L" or "R"
	mono  bool
}

// table draws rows with wrapped cells, a repeated header on each page and
// zebra stripes; badge, if set, colours a cell as a RAG badge.
func (d *pdfDoc) table(cols []col, rows [][]string, size float64, badge func(row, col int) (rgb, bool)) {
	total := 0.0
	for _, c := range cols {
		total += c.w
	}
	widths := make([]float64, len(cols))
	for i, c := range cols {
		widths[i] = contentW * c.w / total
	}
	lh := size * 0.42
	header := func() {
		d.fill(navy)
		d.text(white)
		d.font("B", size)
		x, y := marginX, d.GetY()
		hh := 0.0
		for i, c := range cols {
			hh = math.Max(hh, float64(len(d.lines(c.title, widths[i])))*lh+2)
		}
		for i, c := range cols {
			d.Rect(x, y, widths[i], hh, "F")
			d.SetXY(x, y+1)
			d.MultiCell(widths[i], lh, c.title, "", c.align, false)
			x += widths[i]
		}
		d.SetY(y + hh)
	}
	d.need(2*lh + 8)
	header()
	for ri, row := range rows {
		d.font("", size)
		cellLines := make([][]string, len(cols))
		n := 1
		for i := range cols {
			if cols[i].mono {
				d.SetFont("mono", "", size-0.6)
			} else {
				d.font("", size)
			}
			cellLines[i] = d.lines(cell(row, i), widths[i])
			n = max(n, len(cellLines[i]))
		}
		h := float64(n)*lh + 1.6
		if d.GetY()+h > pageH-marginBottom {
			d.AddPage()
			header()
		}
		x, y := marginX, d.GetY()
		if ri%2 == 1 {
			d.fill(zebra)
			d.Rect(marginX, y, contentW, h, "F")
		}
		for i, c := range cols {
			d.text(ink)
			if c.mono {
				d.SetFont("mono", "", size-0.6)
			} else {
				d.font("", size)
			}
			if badge != nil {
				if bg, ok := badge(ri, i); ok && cell(row, i) != "" {
					d.font("B", size)
					tw := d.GetStringWidth(cell(row, i)) + 3
					d.fill(bg)
					d.RoundedRect(x+1, y+0.6, math.Max(tw, 7), lh+0.4, 0.8, "1234", "F")
					d.text(white)
					d.SetXY(x+1, y+0.8)
					d.CellFormat(math.Max(tw, 7), lh, cell(row, i), "", 0, "C", false, 0, "")
					x += widths[i]
					continue
				}
			}
			if d.late != nil && d.late(ri, i) {
				d.text(red)
			}
			for li, line := range cellLines[i] {
				d.SetXY(x, y+0.8+float64(li)*lh)
				d.CellFormat(widths[i], lh, line, "", 0, c.align, false, 0, "")
			}
			x += widths[i]
		}
		d.draw(rule)
		d.SetLineWidth(0.15)
		d.Line(marginX, y+h, pageW-marginX, y+h)
		d.SetY(y + h)
	}
	d.Ln(2)
}

func cell(row []string, i int) string {
	if i < len(row) {
		return row[i]
	}
	return ""
}

// lines wraps s to width w in the current font.
func (d *pdfDoc) lines(s string, w float64) []string {
	var out []string
	for _, para := range strings.Split(strings.ReplaceAll(s, "\r", ""), "\n") {
		if para == "" {
			out = append(out, "")
			continue
		}
		out = append(out, d.SplitText(para, w)...)
	}
	if len(out) == 0 {
		out = []string{""}
	}
	return out
}

func (d *pdfDoc) ragSection() {
	r := d.r
	d.heading("RAG summary and direction of travel")
	// The stacked bar.
	if r.RagTotal > 0 {
		d.need(16)
		y := d.GetY()
		x := marginX
		for _, g := range r.Rag {
			if g.Count == 0 {
				continue
			}
			w := contentW * float64(g.Count) / float64(r.RagTotal)
			d.fill(hexColor(g.Color))
			d.Rect(x, y, w, 8, "F")
			label := fmt.Sprintf("%s %d", g.Code, g.Count)
			d.font("B", 8)
			if d.GetStringWidth(label)+2 < w {
				d.text(white)
				d.SetXY(x, y+1.5)
				d.CellFormat(w, 5, label, "", 0, "C", false, 0, "")
			}
			x += w
		}
		d.SetY(y + 11)
	}
	base := "Baseline"
	if r.BaselineLabel != "" {
		base = "At " + r.BaselineLabel
	}
	var rows [][]string
	for _, g := range r.Rag {
		rows = append(rows, []string{g.Code, g.Label, strconv.Itoa(g.Count), g.Pct, g.Baseline, g.Change, g.Direction})
	}
	rows = append(rows, []string{"", "Live actions", strconv.Itoa(r.RagTotal), "", "", "", ""})
	d.table([]col{{"RAG", 8, "L", false}, {"Meaning", 30, "L", false}, {"Actions", 10, "R", false}, {"%", 8, "R", false},
		{base, 22, "R", false}, {"Change", 10, "R", false}, {"Direction", 12, "L", false}}, rows, 8.5,
		func(ri, ci int) (rgb, bool) {
			if ci == 0 && ri < len(r.Rag) {
				return hexColor(r.Rag[ri].Color), true
			}
			return rgb{}, false
		})
	if r.BaselineLabel != "" {
		d.para("Direction of travel compares each rating's count now with "+r.BaselineLabel+". Withdrawn actions are not counted.", "I", 8, grey)
	}
}

func (d *pdfDoc) prioritySection() {
	r := d.r
	if len(r.Priorities) == 0 {
		return
	}
	d.subheading("By priority area")
	cols := []col{{"Priority area", 44, "L", false}}
	for _, g := range r.Rag {
		cols = append(cols, col{g.Code, 5, "R", false})
	}
	cols = append(cols, col{"Live", 6, "R", false}, col{"Overdue", 8, "R", false})
	var rows [][]string
	for _, p := range r.Priorities {
		row := []string{p.Number + ". " + p.Title}
		for _, g := range r.Rag {
			row = append(row, strconv.Itoa(p.Counts[ragIndex(g.Code)]))
		}
		rows = append(rows, append(row, strconv.Itoa(p.Total), strconv.Itoa(p.Overdue)))
	}
	d.table(cols, rows, 8, nil)
}

func (d *pdfDoc) slipSection() {
	r := d.r
	d.heading("Deadline slips, with reasons")
	if len(r.Cats) == 0 {
		d.para("No deadline has moved.", "", 9, ink)
		return
	}
	var rows [][]string
	for _, c := range r.Cats {
		rows = append(rows, []string{c.Category, strconv.Itoa(c.Moves), strconv.Itoa(c.Slips), strconv.Itoa(c.Days)})
	}
	d.table([]col{{"Reason category", 40, "L", false}, {"Moves", 15, "R", false}, {"Counted as slippage", 20, "R", false}, {"Days slipped", 15, "R", false}}, rows, 8.5, nil)
	d.para("A move counts as slippage when it pushes a set deadline later for any reason but an agreed re-baselining (\"rebaselined\").", "I", 8, grey)
	if len(r.TopSlipped) > 0 {
		d.subheading("Actions that slipped most")
		rows = nil
		for _, a := range r.TopSlipped {
			rows = append(rows, []string{a.Ref, strconv.Itoa(a.Moves), strconv.Itoa(a.Days), a.Original, a.Current})
		}
		d.table([]col{{"Ref", 10, "L", false}, {"Slips", 10, "R", false}, {"Days", 10, "R", false}, {"Original deadline", 20, "L", false}, {"Deadline now", 20, "L", false}}, rows, 8.5, nil)
	}
	title := "Deadline moves"
	if len(r.Slips) < r.SlipsTotal || len(r.Slips) == reportMaxRows {
		title += fmt.Sprintf(" (latest %d, newest first; deadline-changes.csv has every one)", len(r.Slips))
	}
	d.subheading(title)
	rows = nil
	for _, s := range r.Slips {
		cat := s.Category
		if !s.Slip {
			cat += " (not slippage)"
		}
		rows = append(rows, []string{s.Recorded, s.Ref, s.From, s.To, strconv.Itoa(s.Days), cat, s.Reason, s.By})
	}
	d.table([]col{{"Recorded (UTC)", 18, "L", true}, {"Ref", 6, "L", false}, {"From", 12, "L", false}, {"To", 12, "L", false},
		{"Days", 6, "R", false}, {"Category", 13, "L", false}, {"Reason", 28, "L", false}, {"By", 16, "L", false}}, rows, 7.5, nil)
}

func (d *pdfDoc) leadSection() {
	r := d.r
	d.heading("Lead changes")
	if len(r.LeadChanges) == 0 {
		d.para("No lead has changed.", "", 9, ink)
		return
	}
	var rows [][]string
	for _, l := range r.LeadChanges {
		rows = append(rows, []string{l.Recorded, l.Ref, l.From, l.To, l.Reason, l.By})
	}
	d.table([]col{{"Recorded (UTC)", 18, "L", true}, {"Ref", 6, "L", false}, {"From", 22, "L", false}, {"To", 22, "L", false},
		{"Reason", 24, "L", false}, {"By", 15, "L", false}}, rows, 7.5, nil)
	if r.LeadTotal > len(r.LeadChanges) {
		d.para(fmt.Sprintf("The latest %d of %d; lead-changes.csv has every one.", len(r.LeadChanges), r.LeadTotal), "I", 8, grey)
	}
}

func (d *pdfDoc) kpiSection() {
	r := d.r
	if len(r.Kpis)+len(r.KpisText) == 0 {
		return
	}
	d.heading("KPI trends")
	if len(r.Kpis) == 0 {
		d.para("No indicator has a numeric value yet.", "", 9, ink)
	}
	const gap = 6.0
	const ch = 50.0
	cw := (contentW - gap) / 2
	for i := 0; i < len(r.Kpis); i += 2 {
		d.need(ch + 4)
		y := d.GetY()
		for j := 0; j < 2 && i+j < len(r.Kpis); j++ {
			d.kpiChart(r.Kpis[i+j], marginX+float64(j)*(cw+gap), y, cw, ch)
		}
		d.SetY(y + ch + 4)
	}
	if len(r.KpisText) > 0 {
		d.subheading("Indicators with no numeric value yet")
		var rows [][]string
		for _, k := range r.KpisText {
			rows = append(rows, []string{k.Name, k.Priority, k.Direction, orText(k.Target, "none"), orText(k.Latest, "no value")})
		}
		d.table([]col{{"Indicator", 45, "L", false}, {"Priority area", 25, "L", false}, {"Direction", 8, "L", false}, {"Target", 10, "L", false}, {"Latest", 12, "L", false}}, rows, 7.5, nil)
	}
}

// kpiChart draws one indicator's card: name, definition, the values as a
// line with the target dashed, and its status.
func (d *pdfDoc) kpiChart(k kpiChart, x, y, w, h float64) {
	d.draw(rule)
	d.SetLineWidth(0.2)
	d.RoundedRect(x, y, w, h, 1.5, "1234", "D")
	d.SetXY(x+2.5, y+2)
	d.text(ink)
	d.font("B", 8)
	name := d.lines(k.Name, w-5)
	if len(name) > 2 {
		name = append(name[:1], strings.TrimSpace(name[1])+"…")
	}
	for _, l := range name {
		d.SetX(x + 2.5)
		d.CellFormat(w-5, 3.6, l, "", 2, "L", false, 0, "")
	}
	d.SetX(x + 2.5)
	d.font("", 6.5)
	d.text(grey)
	dir := k.Direction
	if dir == "" {
		dir = "none given"
	}
	d.CellFormat(w-5, 3.4, fmt.Sprintf("direction %s · target %s · national %s", dir, orText(k.Target, "none"), orText(k.National, "n/a")), "", 2, "L", false, 0, "")
	top := d.GetY() + 1.5
	left, right, bottom := x+13, x+w-3, y+h-9
	var pts []kpiPoint
	for _, p := range k.Points {
		if p.OK {
			pts = append(pts, p)
		}
	}
	if len(pts) == 0 {
		d.SetXY(x, (top+bottom)/2-2)
		d.font("I", 7.5)
		d.CellFormat(w, 4, "no numeric values"+latestSuffix(k), "", 0, "C", false, 0, "")
	} else {
		lo, hi := scaleOf(pts, k)
		n := len(k.Points)
		xOf := func(i int) float64 {
			if n == 1 {
				return (left + right) / 2
			}
			return left + (right-left)*float64(i)/float64(n-1)
		}
		yOf := func(v float64) float64 { return top + (bottom-top)*(1-(v-lo)/(hi-lo)) }
		d.SetLineWidth(0.15)
		d.font("", 6)
		for _, v := range []float64{lo, (lo + hi) / 2, hi} {
			yy := yOf(v)
			d.draw(rule)
			d.Line(left, yy, right, yy)
			d.text(grey)
			d.SetXY(x+1, yy-1.5)
			d.CellFormat(left-x-2, 3, axisLabel(v), "", 0, "R", false, 0, "")
		}
		if k.HasTarget {
			yy := yOf(k.TargetNum)
			d.draw(green)
			d.SetLineWidth(0.35)
			d.SetDashPattern([]float64{1.6, 1}, 0)
			d.Line(left, yy, right, yy)
			d.SetDashPattern([]float64{}, 0)
			d.text(green)
			d.SetXY(left+1, yy-3.2)
			d.CellFormat(14, 3, "target", "", 0, "L", false, 0, "")
		}
		idx := map[string]int{}
		for i, p := range k.Points {
			idx[p.Period] = i
		}
		d.draw(navy)
		d.SetLineWidth(0.5)
		for j := 1; j < len(pts); j++ {
			d.Line(xOf(idx[pts[j-1].Period]), yOf(pts[j-1].Num), xOf(idx[pts[j].Period]), yOf(pts[j].Num))
		}
		d.fill(navy)
		for _, p := range pts {
			d.Circle(xOf(idx[p.Period]), yOf(p.Num), 0.7, "F")
		}
		lp := pts[len(pts)-1]
		d.font("B", 6.5)
		d.text(navy)
		lx, ly := xOf(idx[lp.Period]), yOf(lp.Num)
		lw := d.GetStringWidth(lp.Value) + 1
		d.SetXY(math.Min(lx-lw/2, right-lw), math.Max(ly-4.2, top-1))
		d.CellFormat(lw, 3, lp.Value, "", 0, "C", false, 0, "")
		d.text(grey)
		d.font("", 6)
		d.SetXY(left-2, bottom+0.5)
		d.CellFormat(20, 3, k.Points[0].Period, "", 0, "L", false, 0, "")
		if n > 1 {
			d.SetXY(right-20, bottom+0.5)
			d.CellFormat(20, 3, k.Points[n-1].Period, "", 0, "R", false, 0, "")
		}
	}
	d.SetXY(x+2.5, y+h-5)
	d.font("B", 7)
	switch {
	case strings.HasPrefix(k.Status, "meets"):
		d.text(green)
	case strings.HasPrefix(k.Status, "short"):
		d.text(red)
	default:
		d.text(grey)
	}
	st := k.Status
	if k.Omitted > 0 {
		st += fmt.Sprintf(" · %d earlier values in kpi-values.csv", k.Omitted)
	}
	d.CellFormat(w-5, 3.5, st, "", 0, "L", false, 0, "")
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (d *pdfDoc) actionsSection() {
	r := d.r
	d.heading("The plan as of " + r.AsOf)
	var rows [][]string
	for _, a := range r.ActionList {
		dl := a.Deadline
		if a.Overdue {
			dl += " (overdue)"
		}
		text := a.Text
		if a.Withdrawn {
			text = "[withdrawn] " + text
		}
		rows = append(rows, []string{a.Ref, a.Rag, dl, a.Leads, text})
	}
	d.late = func(ri, ci int) bool { return ci == 2 && r.ActionList[ri].Overdue }
	defer func() { d.late = nil }()
	d.table([]col{{"Ref", 7, "L", false}, {"RAG", 7, "L", false}, {"Deadline", 13, "L", false}, {"Leads", 22, "L", false}, {"Action", 60, "L", false}}, rows, 7.5,
		func(ri, ci int) (rgb, bool) {
			if ci == 1 {
				return hexColor(r.ActionList[ri].Color), true
			}
			return rgb{}, false
		})
	if r.ActionsOmitted > 0 {
		d.para(fmt.Sprintf("%d more actions are in actions.csv.", r.ActionsOmitted), "I", 8, grey)
	}
}

func (d *pdfDoc) verifySection() {
	d.heading("How to verify this bundle")
	for _, s := range verifySteps {
		d.subheading(s.Title)
		for _, line := range strings.Split(s.Body, "\n") {
			if hasPrefix(line, "sendtrail ", "openssl ", "sha256sum ") {
				d.code(line)
			} else {
				d.para(line, "", 8.5, ink)
			}
		}
	}
	d.subheading("The signed checkpoint")
	d.code(strings.TrimRight(d.r.Checkpoint, "\n"))
}

// code prints a dark block of monospace text.
func (d *pdfDoc) code(s string) {
	d.SetFont("mono", "", 7.5)
	var ls []string
	for _, l := range strings.Split(s, "\n") {
		ls = append(ls, d.lines(l, contentW-6)...)
	}
	h := float64(len(ls))*3.6 + 3
	d.need(h + 2)
	y := d.GetY() + 0.5
	d.fill(ink)
	d.RoundedRect(marginX, y, contentW, h, 1, "1234", "F")
	d.text(codeInk)
	for i, l := range ls {
		d.SetXY(marginX+3, y+1.5+float64(i)*3.6)
		d.CellFormat(contentW-6, 3.6, l, "", 0, "L", false, 0, "")
	}
	d.SetY(y + h + 2)
}
