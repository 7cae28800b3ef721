package importer

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sendtrail/sendtrail/domain"
)

// dateRE finds UK dates (d/m/yy, dd/mm/yyyy …) and ISO dates (2024-04-30).
var dateRE = regexp.MustCompile(`([0-9]+)/([0-9]+)/([0-9]+)|([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})`)

type deadline struct {
	date       domain.Date
	raw        string // DeadlineRaw: the cell, unless it is exactly one valid date
	milestones []domain.Milestone
	issues     []string // flaggable problems
	note       string
}

// parseDeadline reads a Deadline cell: one date, or one milestone per line
// (a line with a date, or a line of text alone). The deadline is the latest
// milestone date. A cell with an impossible date, or with no date at all,
// has no deadline and issues to flag.
func parseDeadline(cellText string) deadline {
	var d deadline
	if cellText == "" {
		return d
	}
	if m := dateRE.FindStringSubmatchIndex(cellText); m != nil && m[0] == 0 && m[1] == len(cellText) {
		date, msg := dateOf(cellText, m)
		if msg != "" {
			d.raw, d.issues = cellText, []string{msg}
			return d
		}
		d.date = date
		return d
	}
	d.raw = cellText
	dated := 0
	var latest domain.Date
	for _, line := range strings.Split(cellText, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		ms := dateRE.FindAllStringSubmatchIndex(line, -1)
		var best domain.Date
		for _, m := range ms {
			date, msg := dateOf(line, m)
			if msg != "" {
				d.issues = append(d.issues, msg)
				continue
			}
			if best.IsZero() || best.Before(date) {
				best = date
			}
		}
		text := line
		if len(ms) == 1 && ms[0][0] == 0 && !best.IsZero() {
			text = strings.TrimLeft(line[ms[0][1]:], " \t:–-—,;")
		}
		d.milestones = append(d.milestones, domain.Milestone{Date: best, Text: text})
		if !best.IsZero() {
			dated++
			if latest.IsZero() || latest.Before(best) {
				latest = best
			}
		}
	}
	switch {
	case len(d.issues) > 0:
		// An impossible date could have been the last: leave the deadline unset.
	case dated == 0:
		d.issues = append(d.issues, fmt.Sprintf("no date in %q: want dd/mm/yy, or one milestone per line starting with its date", truncate(oneLine(cellText), 60)))
	case len(d.milestones) == 1:
		d.date = latest
		d.note = fmt.Sprintf("deadline %s taken from %q", latest, oneLine(cellText))
	default:
		d.date = latest
		d.note = fmt.Sprintf("deadline taken as the latest of %d milestones (%s)", len(d.milestones), latest)
	}
	return d
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " | ") }

// dateOf checks the date that match m found in s; it returns the date or a
// message saying why the text is not one.
func dateOf(s string, m []int) (domain.Date, string) {
	text := s[m[0]:m[1]]
	var day, month, year int
	if m[2] >= 0 {
		ds, ms, ys := s[m[2]:m[3]], s[m[4]:m[5]], s[m[6]:m[7]]
		if len(ds) > 2 || len(ms) > 2 || (len(ys) != 2 && len(ys) != 4) {
			return domain.Date{}, fmt.Sprintf("%s is not a date: want dd/mm/yy or dd/mm/yyyy", text)
		}
		day, _ = strconv.Atoi(ds)
		month, _ = strconv.Atoi(ms)
		year, _ = strconv.Atoi(ys)
		if len(ys) == 2 {
			year += 2000
		}
	} else {
		year, _ = strconv.Atoi(s[m[8]:m[9]])
		month, _ = strconv.Atoi(s[m[10]:m[11]])
		day, _ = strconv.Atoi(s[m[12]:m[13]])
	}
	switch {
	case month < 1 || month > 12:
		return domain.Date{}, fmt.Sprintf("%s is not a date: there is no month %d", text, month)
	case day < 1:
		return domain.Date{}, fmt.Sprintf("%s is not a date: there is no day %d", text, day)
	}
	date, err := domain.NewDate(year, month, day)
	if err != nil {
		if year < 1900 || year > 2999 {
			return domain.Date{}, fmt.Sprintf("%s is not a date: the year %d is out of range", text, year)
		}
		return domain.Date{}, fmt.Sprintf("%s is not a date: %s has %d days", text, time.Month(month), daysIn(year, month))
	}
	return date, ""
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

var ragArrows = map[string]bool{"↑": true, "↓": true, "↔": true, "▲": true, "▼": true}

// parseRag reads a RAG cell: a code of the plan's scheme (case-insensitive),
// an arrow for the direction of travel, both, or nothing (not yet rated).
// Anything else is an issue to flag, and then neither code nor trend is set.
func parseRag(s string) (rag, trend, issue string) {
	for _, tok := range strings.Fields(s) {
		if ragArrows[tok] && trend == "" {
			trend = tok
			continue
		}
		if r, err := domain.ParseRAG(tok); err == nil && r.IsRated() && rag == "" {
			rag = r.String()
			continue
		}
		return "", "", fmt.Sprintf("%q is not a RAG code (want R, A, P, G, C or NS, an arrow ↑ ↓ ↔ ▲ ▼ for the direction of travel, or empty for not yet rated)", s)
	}
	return rag, trend, ""
}
