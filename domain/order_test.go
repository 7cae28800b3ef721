package domain_test

import (
	"slices"
	"testing"

	"github.com/sendtrail/sendtrail/domain"
)

func TestNaturalKeyOrdersRefsAsPeopleDo(t *testing.T) {
	want := []string{"1.1", "1.2", "1.10", "2.1", "4.1", "4.1a", "4.1b", "4.2", "10.1"}
	got := slices.Clone(want)
	slices.Reverse(got)
	slices.SortFunc(got, func(a, b string) int {
		ka, kb := domain.NaturalKey(a), domain.NaturalKey(b)
		switch {
		case ka < kb:
			return -1
		case ka > kb:
			return 1
		}
		return 0
	})
	if !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	if domain.NaturalKey("01.02") != domain.NaturalKey("1.2") {
		t.Errorf("leading zeros should not matter")
	}
}
