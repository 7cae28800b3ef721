package domain

import (
	"regexp"
	"strings"

	"github.com/google/uuid"
)

// namespace is sendtrail's UUIDv5 namespace. Aggregate ids derived from it are
// deterministic, so that a plan's action 3.4 has the same subject on every
// instance and on every import, and two concurrent adds of one ref collide on
// the stream's concurrency check instead of creating two actions.
var namespace = uuid.MustParse("5f0b7c1e-9b7e-4d8a-8f3e-2c1d0e6a7b90")

var (
	slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$`)
	refRE  = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.\-]{0,19}$`)
)

// ReservedSlug is the plan slug under which sendtrail keeps what belongs to
// no one plan (tokens for every plan); no plan may take it.
const ReservedSlug = "system"

// ValidateSlug checks a plan slug: 2–64 lower-case letters, digits and
// hyphens, starting and ending with a letter or digit. Slugs are NATS subject
// tokens, so nothing else is allowed.
func ValidateSlug(slug string) error {
	if !slugRE.MatchString(slug) {
		return Invalid("plan", "%q is not a plan slug (2–64 of a-z, 0-9 and -, e.g. bcp-2023-26)", slug)
	}
	return nil
}

// ValidateRef checks an action reference such as "3.4".
func ValidateRef(ref string) error {
	if !refRE.MatchString(ref) {
		return Invalid("ref", "%q is not an action reference (e.g. 3.4)", ref)
	}
	return nil
}

// ActionID returns the aggregate id of the action ref in plan.
func ActionID(plan, ref string) string {
	return uuid.NewSHA1(namespace, []byte(plan+"\x00action\x00"+ref)).String()
}

// PriorityID returns the aggregate id of priority area number in plan.
func PriorityID(plan, number string) string {
	return uuid.NewSHA1(namespace, []byte(plan+"\x00priority\x00"+number)).String()
}

// KpiID returns the aggregate id of the indicator name in plan. Names are
// compared with space folded and case ignored.
func KpiID(plan, name string) string {
	key := strings.ToLower(strings.Join(strings.Fields(name), " "))
	return uuid.NewSHA1(namespace, []byte(plan+"\x00kpi\x00"+key)).String()
}
