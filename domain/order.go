package domain

import (
	"fmt"
	"strings"
)

// NaturalKey returns a key whose byte order is the natural order of an
// action ref or a priority number: runs of digits compare as numbers, so
// 1.2 < 1.10 < 2.1 and 4.1a < 4.1b < 4.2. Each run of digits is written as
// its length (two digits) and then the digits without leading zeros.
func NaturalKey(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] >= '0' && s[i] <= '9' {
			j := i
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			digits := strings.TrimLeft(s[i:j], "0")
			fmt.Fprintf(&b, "%02d%s", len(digits), digits)
			i = j
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}
