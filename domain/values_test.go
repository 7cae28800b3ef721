package domain_test

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sendtrail/sendtrail/domain"
)

func TestParseRAG(t *testing.T) {
	tests := []struct {
		in       string
		want     domain.RAG
		wantCode string
	}{
		{"R", domain.RagRed, ""},
		{"A", domain.RagAmber, ""},
		{"P", domain.RagPurple, ""},
		{"G", domain.RagGreen, ""},
		{"C", domain.RagDone, ""},
		{"NS", domain.RagNotYet, ""},
		{"r", domain.RagRed, ""},
		{"ns", domain.RagNotYet, ""},
		{"Ns", domain.RagNotYet, ""},
		{" g ", domain.RagGreen, ""},
		{"\tA\n", domain.RagAmber, ""},
		{"", domain.NotRated, ""},
		{"   ", domain.NotRated, ""},
		{"X", domain.NotRated, domain.EINVALID},
		{"Red", domain.NotRated, domain.EINVALID},
		{"GREEN", domain.NotRated, domain.EINVALID},
		{"Amber", domain.NotRated, domain.EINVALID},
		{"↑", domain.NotRated, domain.EINVALID},
		{"▲", domain.NotRated, domain.EINVALID},
		{"G↑", domain.NotRated, domain.EINVALID},
		{"N S", domain.NotRated, domain.EINVALID},
		{"RA", domain.NotRated, domain.EINVALID},
		{"TBC", domain.NotRated, domain.EINVALID},
		{"0", domain.NotRated, domain.EINVALID},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.in), func(t *testing.T) {
			got, err := domain.ParseRAG(tt.in)
			withError(t, err, tt.wantCode, "rag")
			if got != tt.want {
				t.Fatalf("ParseRAG(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestRAGScheme(t *testing.T) {
	var codes []string
	for _, r := range domain.RAGCodes() {
		codes = append(codes, r.String())
		if !r.IsRated() || r.Description() == "" {
			t.Errorf("%q: IsRated %v, Description %q", r, r.IsRated(), r.Description())
		}
		if back := mustRAG(t, r.String()); back != r {
			t.Errorf("ParseRAG(%q) = %q", r, back)
		}
		if want := r == domain.RagGreen || r == domain.RagDone; r.Closed() != want {
			t.Errorf("%q.Closed() = %v, want %v", r, r.Closed(), want)
		}
	}
	if got, want := strings.Join(codes, ","), "R,A,P,G,C,NS"; got != want {
		t.Fatalf("RAGCodes() = %s, want %s", got, want)
	}
	if domain.NotRated.IsRated() || domain.NotRated.String() != "" || domain.NotRated.Closed() || domain.NotRated.Description() == "" {
		t.Fatalf("NotRated misbehaves")
	}
	// RAGCodes returns a copy.
	c := domain.RAGCodes()
	c[0] = domain.RagGreen
	if domain.RAGCodes()[0] != domain.RagRed {
		t.Fatalf("RAGCodes shares its backing array")
	}
}

func TestNewDate(t *testing.T) {
	tests := []struct {
		y, m, d  int
		wantCode string
	}{
		{2024, 2, 29, ""},
		{2000, 2, 29, ""}, // divisible by 400: leap
		{2024, 1, 31, ""},
		{2024, 4, 30, ""},
		{2024, 12, 31, ""},
		{2023, 2, 28, ""},
		{2023, 2, 29, domain.EINVALID},
		{1900, 2, 29, domain.EINVALID}, // divisible by 100: not leap
		{2024, 2, 30, domain.EINVALID},
		{2024, 4, 31, domain.EINVALID},
		{2024, 6, 31, domain.EINVALID},
		{2024, 9, 31, domain.EINVALID},
		{2024, 11, 31, domain.EINVALID},
		{2024, 13, 1, domain.EINVALID},
		{2024, 0, 1, domain.EINVALID},
		{2024, 1, 0, domain.EINVALID},
		{2024, 1, 32, domain.EINVALID},
		{2024, -1, 1, domain.EINVALID},
		{0, 1, 1, domain.EINVALID},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%04d-%02d-%02d", tt.y, tt.m, tt.d), func(t *testing.T) {
			d, err := domain.NewDate(tt.y, tt.m, tt.d)
			withError(t, err, tt.wantCode, "date")
			if tt.wantCode != "" {
				if !d.IsZero() {
					t.Fatalf("refused date is %v, want the zero Date", d)
				}
				return
			}
			if d.Year() != tt.y || d.Month() != tt.m || d.Day() != tt.d {
				t.Fatalf("NewDate = %v", d)
			}
			if want := fmt.Sprintf("%04d-%02d-%02d", tt.y, tt.m, tt.d); d.String() != want {
				t.Fatalf("String() = %q, want %q", d, want)
			}
		})
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in       string
		want     string
		wantCode string
	}{
		{"2024-02-29", "2024-02-29", ""},
		{"2024-04-30", "2024-04-30", ""},
		{"2026-03-31", "2026-03-31", ""},
		{"", "", ""}, // no date
		{"2023-02-29", "", domain.EINVALID},
		{"2024-04-31", "", domain.EINVALID},
		{"2024-06-31", "", domain.EINVALID},
		{"2024-09-31", "", domain.EINVALID},
		{"2024-11-31", "", domain.EINVALID},
		{"2024-13-01", "", domain.EINVALID},
		{"2024-00-10", "", domain.EINVALID},
		{"2024-01-00", "", domain.EINVALID},
		{"2024-4-1", "", domain.EINVALID},
		{"2024-04-1", "", domain.EINVALID},
		{"31/04/24", "", domain.EINVALID},
		{"30/04/2024", "", domain.EINVALID},
		{"2024/04/30", "", domain.EINVALID},
		{"2024-04-30x", "", domain.EINVALID},
		{"2024-04-30 ", "", domain.EINVALID},
		{"2024-04-30T00:00:00Z", "", domain.EINVALID},
		{"2024-04-1x", "", domain.EINVALID},
		{"April 2024", "", domain.EINVALID},
		{"TBC", "", domain.EINVALID},
		// Padding inside the fields is not YYYY-MM-DD either.
		{"2024- 4-01", "", domain.EINVALID},
		{"2024-+4-01", "", domain.EINVALID},
		{"2024-04-+1", "", domain.EINVALID},
		{"2024-04- 1", "", domain.EINVALID},
		{" 2024-04-1", "", domain.EINVALID},
		{"2024-04-1\n", "", domain.EINVALID},
		{"+024-04-01", "", domain.EINVALID},
		{"２０２４-04-01", "", domain.EINVALID}, // full-width digits
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.in), func(t *testing.T) {
			d, err := domain.ParseDate(tt.in)
			withError(t, err, tt.wantCode, "date")
			if d.String() != tt.want {
				t.Fatalf("ParseDate(%q) = %q, want %q", tt.in, d, tt.want)
			}
			if tt.wantCode == "" && tt.want != "" && d.Time() != time.Date(d.Year(), time.Month(d.Month()), d.Day(), 0, 0, 0, 0, time.UTC) {
				t.Fatalf("Time() = %v", d.Time())
			}
		})
	}
}

func TestDaysUntil(t *testing.T) {
	tests := []struct {
		from, to string
		want     int
	}{
		{"2024-04-30", "2024-04-30", 0},
		{"2024-01-31", "2024-02-01", 1},
		{"2024-04-30", "2024-05-01", 1},
		{"2023-12-31", "2024-01-01", 1},
		{"2024-02-28", "2024-03-01", 2}, // leap year
		{"2023-02-28", "2023-03-01", 1},
		{"2024-02-28", "2024-02-29", 1},
		{"2024-02-29", "2024-03-01", 1},
		{"2023-01-01", "2024-01-01", 365},
		{"2024-01-01", "2025-01-01", 366},
		{"2023-03-01", "2024-03-01", 366}, // spans 29 Feb 2024
		{"2024-03-01", "2025-03-01", 365},
		{"2024-03-30", "2024-04-01", 2}, // UK clocks change on 31 March 2024: no effect
		{"2024-10-26", "2024-10-28", 2},
		{"2023-09-01", "2026-03-31", 942},
		{"2024-01-01", "2023-12-31", -1},
		{"2025-01-01", "2024-01-01", -366},
	}
	for _, tt := range tests {
		t.Run(tt.from+"→"+tt.to, func(t *testing.T) {
			a, b := mustDate(t, tt.from), mustDate(t, tt.to)
			if got := a.DaysUntil(b); got != tt.want {
				t.Fatalf("DaysUntil = %d, want %d", got, tt.want)
			}
			if got := b.DaysUntil(a); got != -tt.want {
				t.Fatalf("reverse DaysUntil = %d, want %d", got, -tt.want)
			}
			if a.Before(b) != (tt.want > 0) || b.Before(a) != (tt.want < 0) {
				t.Fatalf("Before disagrees with DaysUntil")
			}
		})
	}
}

func TestDateOf(t *testing.T) {
	bst := time.FixedZone("BST", 3600)
	// 00:30 on 1 July in London is still 30 June in UTC: the date is the
	// one in the time's own location.
	tm := time.Date(2024, 7, 1, 0, 30, 0, 0, bst)
	if got := domain.DateOf(tm).String(); got != "2024-07-01" {
		t.Fatalf("DateOf = %s, want 2024-07-01", got)
	}
	if got := domain.DateOf(tm.UTC()).String(); got != "2024-06-30" {
		t.Fatalf("DateOf(UTC) = %s, want 2024-06-30", got)
	}
	if !(domain.Date{}).IsZero() || (domain.Date{}).String() != "" {
		t.Fatalf("zero Date is not 'no date'")
	}
}

func TestReasonCategory(t *testing.T) {
	tests := []struct {
		in       string
		want     string
		isSlip   bool
		wantCode string
	}{
		{"capacity", "capacity", true, ""},
		{"dependency", "dependency", true, ""},
		{"scope", "scope", true, ""},
		{"external", "external", true, ""},
		{"funding", "funding", true, ""},
		{"reprioritised", "reprioritised", true, ""},
		{"rebaselined", "rebaselined", false, ""},
		{"other", "other", true, ""},
		{"Capacity", "capacity", true, ""},
		{" REBASELINED ", "rebaselined", false, ""},
		{"", "", false, domain.EINVALID},
		{"   ", "", false, domain.EINVALID},
		{"weather", "", false, domain.EINVALID},
		{"rebaseline", "", false, domain.EINVALID},
		{"reprioritized", "", false, domain.EINVALID},
		{"slip", "", false, domain.EINVALID},
		{"capacity, funding", "", false, domain.EINVALID},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.in), func(t *testing.T) {
			c, err := domain.ParseReasonCategory(tt.in)
			withError(t, err, tt.wantCode, "reasonCategory")
			if c.String() != tt.want {
				t.Fatalf("category = %q, want %q", c, tt.want)
			}
			if tt.wantCode == "" && c.IsSlip() != tt.isSlip {
				t.Fatalf("IsSlip = %v, want %v", c.IsSlip(), tt.isSlip)
			}
		})
	}
	var names []string
	for _, c := range domain.ReasonCategories() {
		names = append(names, c.String())
	}
	if got, want := strings.Join(names, ","), "capacity,dependency,scope,external,funding,reprioritised,rebaselined,other"; got != want {
		t.Fatalf("ReasonCategories() = %s, want %s", got, want)
	}
}

func TestParseDirection(t *testing.T) {
	tests := []struct {
		in       string
		want     domain.Direction
		wantCode string
	}{
		{"", domain.DirectionNone, ""},
		{"  ", domain.DirectionNone, ""},
		{"up", domain.DirectionUp, ""},
		{"UP", domain.DirectionUp, ""},
		{"▲", domain.DirectionUp, ""},
		{" ▲ ", domain.DirectionUp, ""},
		{"down", domain.DirectionDown, ""},
		{"Down", domain.DirectionDown, ""},
		{"▼", domain.DirectionDown, ""},
		{"sideways", domain.DirectionNone, domain.EINVALID},
		{"▲▼", domain.DirectionNone, domain.EINVALID},
		{"higher", domain.DirectionNone, domain.EINVALID},
		{"↔", domain.DirectionNone, domain.EINVALID},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.in), func(t *testing.T) {
			got, err := domain.ParseDirection(tt.in)
			withError(t, err, tt.wantCode, "direction")
			if got != tt.want {
				t.Fatalf("ParseDirection(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNewLead(t *testing.T) {
	l, err := domain.NewLead("  Jane Smith ", " Head of SEND ", " BCP Council")
	withError(t, err, "", "")
	if want := (domain.Lead{Name: "Jane Smith", Role: "Head of SEND", Organisation: "BCP Council"}); l != want {
		t.Fatalf("NewLead = %#v, want %#v", l, want)
	}
	if got := l.String(); got != "Jane Smith – Head of SEND – BCP Council" {
		t.Fatalf("String() = %q", got)
	}
	if got := (domain.Lead{Name: "Jane Smith", Organisation: "NHS Dorset"}).String(); got != "Jane Smith – NHS Dorset" {
		t.Fatalf("String() = %q", got)
	}
	_, err = domain.NewLead(" \t", "Head of SEND", "")
	withError(t, err, domain.EINVALID, "leads")
}

func TestValidateSlug(t *testing.T) {
	tests := []struct {
		slug     string
		wantCode string
	}{
		{"bcp-2023-26", ""},
		{"ab", ""},
		{"a1", ""},
		{"2023", ""},
		{"a--b", ""},
		{strings.Repeat("a", 64), ""},
		{strings.Repeat("a", 65), domain.EINVALID},
		{"", domain.EINVALID},
		{"a", domain.EINVALID},
		{"BCP", domain.EINVALID},
		{"Bcp-2023", domain.EINVALID},
		{"has space", domain.EINVALID},
		{"has.dot", domain.EINVALID},
		{"star*", domain.EINVALID},
		{"gt>", domain.EINVALID},
		{"-lead", domain.EINVALID},
		{"trail-", domain.EINVALID},
		{"under_score", domain.EINVALID},
		{"tab\there", domain.EINVALID},
		{"bcp-2023-26\n", domain.EINVALID},
		{"café", domain.EINVALID},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.slug), func(t *testing.T) {
			withError(t, domain.ValidateSlug(tt.slug), tt.wantCode, "plan")
		})
	}
}

func TestValidateRef(t *testing.T) {
	tests := []struct {
		ref      string
		wantCode string
	}{
		{"3.4", ""},
		{"1", ""},
		{"2.10", ""},
		{"A1-b", ""},
		{strings.Repeat("1", 20), ""},
		{strings.Repeat("1", 21), domain.EINVALID},
		{"", domain.EINVALID},
		{" 3.4", domain.EINVALID},
		{"3 4", domain.EINVALID},
		{".4", domain.EINVALID},
		{"3/4", domain.EINVALID},
		{"3.4*", domain.EINVALID},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.ref), func(t *testing.T) {
			withError(t, domain.ValidateRef(tt.ref), tt.wantCode, "ref")
		})
	}
}

var uuidV5 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestAggregateIDs(t *testing.T) {
	a := domain.ActionID("bcp-2023-26", "3.4")
	if a != domain.ActionID("bcp-2023-26", "3.4") {
		t.Fatalf("ActionID is not deterministic")
	}
	if !uuidV5.MatchString(a) {
		t.Fatalf("ActionID %q is not a UUIDv5 (subject token)", a)
	}
	distinct := map[string]string{
		"action bcp 3.4":   a,
		"action bcp 3.5":   domain.ActionID("bcp-2023-26", "3.5"),
		"action bcp 3.40":  domain.ActionID("bcp-2023-26", "3.40"),
		"action x 3.4":     domain.ActionID("dorset-2024", "3.4"),
		"kpi bcp 3.4":      domain.KpiID("bcp-2023-26", "3.4"),
		"priority bcp 3.4": domain.PriorityID("bcp-2023-26", "3.4"),
		"kpi x 3.4":        domain.KpiID("dorset-2024", "3.4"),
		// The separator keeps (plan, ref) pairs apart even when their
		// concatenations agree.
		"action bcp-2 3": domain.ActionID("bcp-2", "3"),
		"action bcp 2-3": domain.ActionID("bcp", "2-3"),
	}
	seen := map[string]string{}
	for name, id := range distinct {
		if !uuidV5.MatchString(id) {
			t.Errorf("%s: %q is not a UUIDv5", name, id)
		}
		if other, dup := seen[id]; dup {
			t.Errorf("%s and %s share the id %s", name, other, id)
		}
		seen[id] = name
	}

	k := domain.KpiID("bcp-2023-26", "% of EHCPs issued within 20 weeks")
	for _, same := range []string{
		"% of EHCPs issued within 20 weeks",
		"% OF EHCPS ISSUED WITHIN 20 WEEKS",
		"  % of  EHCPs issued\twithin 20\nweeks ",
	} {
		if got := domain.KpiID("bcp-2023-26", same); got != k {
			t.Errorf("KpiID(%q) = %s, want %s (case and space folded)", same, got, k)
		}
	}
	for _, other := range []string{"% of EHCPs issued within 20weeks", "% of EHCPs issued within 21 weeks"} {
		if domain.KpiID("bcp-2023-26", other) == k {
			t.Errorf("KpiID(%q) collides with a different indicator", other)
		}
	}
	if domain.KpiID("dorset-2024", "% of EHCPs issued within 20 weeks") == k {
		t.Errorf("KpiID does not depend on the plan")
	}
}

func TestErrorCodeAndMessage(t *testing.T) {
	invalid := domain.Invalid("reason", "a reason is required")
	internal := domain.Errorf(domain.EINTERNAL, "dial tcp 10.0.0.7:4222: password=hunter2")
	tests := []struct {
		name     string
		err      error
		wantCode string
		wantMsg  string
	}{
		{"nil", nil, "", ""},
		{"coded", invalid, domain.EINVALID, "reason: a reason is required"},
		{"wrapped", fmt.Errorf("x: %w", invalid), domain.EINVALID, "reason: a reason is required"},
		{"wrapped twice", fmt.Errorf("handler: %w", fmt.Errorf("decide: %w", invalid)), domain.EINVALID, "reason: a reason is required"},
		{"joined", errors.Join(errors.New("db secret"), invalid), domain.EINVALID, "reason: a reason is required"},
		{"no field", domain.Errorf(domain.ENOTFOUND, "no such plan"), domain.ENOTFOUND, "no such plan"},
		{"plain", errors.New("open /var/lib/sendtrail/secret.key: permission denied"), domain.EINTERNAL, "internal error"},
		{"wrapped plain", fmt.Errorf("x: %w", errors.New("sql: password=hunter2")), domain.EINTERNAL, "internal error"},
		{"coded internal", internal, domain.EINTERNAL, "internal error"},
		{"wrapped coded internal", fmt.Errorf("x: %w", internal), domain.EINTERNAL, "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := domain.ErrorCode(tt.err); got != tt.wantCode {
				t.Fatalf("ErrorCode = %q, want %q", got, tt.wantCode)
			}
			got := domain.ErrorMessage(tt.err)
			if got != tt.wantMsg {
				t.Fatalf("ErrorMessage = %q, want %q", got, tt.wantMsg)
			}
			for _, secret := range []string{"hunter2", "secret", "10.0.0.7", "x: ", "handler"} {
				if strings.Contains(got, secret) {
					t.Fatalf("ErrorMessage %q reveals %q", got, secret)
				}
			}
		})
	}
	if got := invalid.Error(); !strings.Contains(got, domain.EINVALID) || !strings.Contains(got, "reason") {
		t.Fatalf("Error() = %q", got)
	}
}

func TestParseRole(t *testing.T) {
	for _, r := range []domain.Role{domain.RoleAdmin, domain.RoleEditor, domain.RoleLead, domain.RoleViewer, domain.RoleInspector, domain.RoleService} {
		got, err := domain.ParseRole(string(r))
		withError(t, err, "", "")
		if got != r {
			t.Fatalf("ParseRole(%q) = %q", r, got)
		}
	}
	for _, bad := range []string{"", "Admin", "root", " editor", "owner"} {
		_, err := domain.ParseRole(bad)
		withError(t, err, domain.EINVALID, "role")
	}
}

func TestNewStateAndDecideOnWrongAggregate(t *testing.T) {
	for _, agg := range []domain.AggregateType{domain.AggPlan, domain.AggPriority, domain.AggAction, domain.AggKpi, domain.AggToken, domain.AggWebhook} {
		s := domain.NewState(agg)
		if s == nil || s.AggregateType() != agg || s.Version() != 0 || s.Exists() {
			t.Fatalf("NewState(%s) = %#v", agg, s)
		}
	}
	if domain.NewState("nope") != nil {
		t.Fatalf("NewState of an unknown type is not nil")
	}
	_, err := domain.Decide(domain.NewState(domain.AggKpi), domain.ChangeRag{Rag: "R"})
	withError(t, err, domain.EINTERNAL, "")
	if domain.ErrorMessage(err) != "internal error" {
		t.Fatalf("wrong-aggregate error leaks: %q", domain.ErrorMessage(err))
	}
	_, err = domain.Decide(nil, domain.ChangeRag{Rag: "R"})
	withError(t, err, domain.EINTERNAL, "")
	if got := domain.Evolve(nil, domain.Envelope{Sequence: 1, Event: domain.RagChanged{}}); got != nil {
		t.Fatalf("Evolve(nil) = %#v", got)
	}
}

func TestEventTypesAreSubjectTokens(t *testing.T) {
	token := regexp.MustCompile(`^[a-z]+(_[a-z]+)*$`)
	events := []domain.Event{
		domain.PlanCreated{}, domain.PriorityAreaAdded{}, domain.PriorityAreaRevised{}, domain.ReportingPeriodClosed{},
		domain.PlanVersionPublished{}, domain.ActionAdded{}, domain.ActionRevised{}, domain.RagChanged{},
		domain.DeadlineMoved{}, domain.LeadsReassigned{}, domain.ProgressRecorded{}, domain.ImpactRecorded{},
		domain.ActionWithdrawn{}, domain.ActionReinstated{}, domain.FlagResolved{}, domain.KpiDefined{},
		domain.KpiValueRecorded{}, domain.KpiValueCorrected{}, domain.KpiTargetChanged{}, domain.TokenIssued{},
		domain.TokenRevoked{}, domain.EvidenceExported{}, domain.WebhookRegistered{}, domain.WebhookRemoved{},
	}
	seen := map[string]bool{}
	for _, e := range events {
		ty := e.Type()
		if !token.MatchString(ty) || seen[ty] {
			t.Errorf("%T.Type() = %q: not a unique snake_case subject token", e, ty)
		}
		seen[ty] = true
	}
	if !reflect.DeepEqual(domain.RagChanged{}.Type(), "rag_changed") {
		t.Errorf("RagChanged type is %q, the subject DESIGN.md names is rag_changed", domain.RagChanged{}.Type())
	}
}
