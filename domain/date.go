package domain

import (
	"fmt"
	"time"
)

// Date is a calendar date with no time zone, as plans use them. The zero
// value is "no date". A Date can only be built from a real calendar day.
type Date struct{ y, m, d int }

// NewDate returns the date, or an EINVALID error if it is not a real day
// (31 April, 29 February 2023).
func NewDate(year, month, day int) (Date, error) {
	if year < 1900 || year > 2999 || month < 1 || month > 12 || day < 1 {
		return Date{}, Invalid("date", "%04d-%02d-%02d is not a date", year, month, day)
	}
	t := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	if t.Day() != day || int(t.Month()) != month {
		return Date{}, Invalid("date", "%04d-%02d-%02d is not a date: %s has %d days", year, month, day, time.Month(month), daysIn(year, month))
	}
	return Date{year, month, day}, nil
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// ParseDate parses "YYYY-MM-DD". The empty string is the zero Date.
func ParseDate(s string) (Date, error) {
	if s == "" {
		return Date{}, nil
	}
	var y, m, d int
	var rest string
	if n, _ := fmt.Sscanf(s, "%4d-%2d-%2d%s", &y, &m, &d, &rest); n != 3 || !isYMD(s) {
		return Date{}, Invalid("date", "%q is not a date: want YYYY-MM-DD", s)
	}
	return NewDate(y, m, d)
}

// isYMD reports whether s is exactly four, two and two ASCII digits joined
// by hyphens (Sscanf alone also takes signs, spaces and a trailing newline).
func isYMD(s string) bool {
	if len(s) != 10 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if i == 4 || i == 7 {
			if s[i] != '-' {
				return false
			}
		} else if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// DateOf returns the calendar date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, int(m), d}
}

// IsZero reports whether d is "no date".
func (d Date) IsZero() bool { return d == Date{} }

// String returns "YYYY-MM-DD", or "" for no date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.y, d.m, d.d)
}

// Time returns midnight UTC at the start of d.
func (d Date) Time() time.Time { return time.Date(d.y, time.Month(d.m), d.d, 0, 0, 0, 0, time.UTC) }

// DaysUntil returns the number of days from d to e (negative if e is earlier).
func (d Date) DaysUntil(e Date) int { return int(e.Time().Sub(d.Time()).Hours() / 24) }

// Before reports whether d is before e.
func (d Date) Before(e Date) bool { return d.Time().Before(e.Time()) }

// Year, Month and Day return the parts of d.
func (d Date) Year() int  { return d.y }
func (d Date) Month() int { return d.m }
func (d Date) Day() int   { return d.d }
