package domain_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sendtrail/sendtrail/domain"
)

func defineKpi() domain.DefineKpi {
	return domain.DefineKpi{Priority: "2", Name: "% of EHCPs issued within 20 weeks", Direction: "▲", Target: "60%", National: "50.3%"}
}

func aKpi(t *testing.T) *history {
	t.Helper()
	h := newHistory(t, domain.AggKpi)
	h.do(defineKpi())
	h.do(domain.RecordKpiValue{Period: "Jan 24", Value: "41.6%"})
	return h
}

func TestDefineKpi(t *testing.T) {
	with := func(f func(*domain.DefineKpi)) domain.DefineKpi {
		c := defineKpi()
		f(&c)
		return c
	}
	tests := []struct {
		name      string
		cmd       domain.DefineKpi
		wantCode  string
		wantField string
		wantDir   domain.Direction
	}{
		{"▲", defineKpi(), "", "", domain.DirectionUp},
		{"▼", with(func(c *domain.DefineKpi) { c.Direction = "▼" }), "", "", domain.DirectionDown},
		{"up", with(func(c *domain.DefineKpi) { c.Direction = "up" }), "", "", domain.DirectionUp},
		{"down", with(func(c *domain.DefineKpi) { c.Direction = "down" }), "", "", domain.DirectionDown},
		{"none", with(func(c *domain.DefineKpi) { c.Direction = "" }), "", "", domain.DirectionNone},
		{"TBC target", with(func(c *domain.DefineKpi) { c.Target = "TBC"; c.National = "" }), "", "", domain.DirectionUp},
		{"sideways", with(func(c *domain.DefineKpi) { c.Direction = "sideways" }), domain.EINVALID, "direction", domain.DirectionNone},
		{"no name", with(func(c *domain.DefineKpi) { c.Name = " " }), domain.EINVALID, "name", domain.DirectionNone},
		{"name over MaxShort", with(func(c *domain.DefineKpi) { c.Name = strings.Repeat("n", domain.MaxShort+1) }), domain.EINVALID, "name", domain.DirectionNone},
		{"no priority", with(func(c *domain.DefineKpi) { c.Priority = "" }), domain.EINVALID, "priority", domain.DirectionNone},
		{"target over MaxShort", with(func(c *domain.DefineKpi) { c.Target = strings.Repeat("9", domain.MaxShort+1) }), domain.EINVALID, "target", domain.DirectionNone},
		{"national over MaxShort", with(func(c *domain.DefineKpi) { c.National = strings.Repeat("9", domain.MaxShort+1) }), domain.EINVALID, "national", domain.DirectionNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := domain.Decide(domain.NewState(domain.AggKpi), tt.cmd)
			withError(t, err, tt.wantCode, tt.wantField)
			if tt.wantCode != "" {
				checkEvents(t, events, nil)
				return
			}
			checkEvents(t, events, []domain.Event{domain.KpiDefined{Priority: tt.cmd.Priority, Name: tt.cmd.Name, Direction: tt.wantDir, Target: tt.cmd.Target, National: tt.cmd.National}})
		})
	}

	h := aKpi(t)
	events, err := domain.Decide(h.st, defineKpi())
	withError(t, err, "", "")
	checkEvents(t, events, nil)
	_, err = domain.Decide(h.st, with(func(c *domain.DefineKpi) { c.National = "52%" }))
	withError(t, err, domain.EEXISTS, "name")
}

func TestKpiCommands(t *testing.T) {
	tests := []struct {
		name      string
		cmd       domain.Command
		wantCode  string
		wantField string
		want      []domain.Event
	}{
		{"record a new period", domain.RecordKpiValue{Period: "Feb 24", Value: "TBC"}, "", "", []domain.Event{domain.KpiValueRecorded{Period: "Feb 24", Value: "TBC"}}},
		{"record the same value again", domain.RecordKpiValue{Period: "Jan 24", Value: "41.6%"}, "", "", nil},
		{"record a different value", domain.RecordKpiValue{Period: "Jan 24", Value: "42%"}, domain.EPRECONDITION, "period", nil},
		{"record without period", domain.RecordKpiValue{Value: "1"}, domain.EINVALID, "period", nil},
		{"record without value", domain.RecordKpiValue{Period: "Feb 24", Value: " "}, domain.EINVALID, "value", nil},
		{"record value over MaxShort", domain.RecordKpiValue{Period: "Feb 24", Value: strings.Repeat("9", domain.MaxShort+1)}, domain.EINVALID, "value", nil},
		{"correct without reason", domain.CorrectKpiValue{Period: "Jan 24", Value: "42%"}, domain.EINVALID, "reason", nil},
		{"correct with blank reason", domain.CorrectKpiValue{Period: "Jan 24", Value: "42%", Reason: " \n "}, domain.EINVALID, "reason", nil},
		{"correct with reason over MaxReason", domain.CorrectKpiValue{Period: "Jan 24", Value: "42%", Reason: strings.Repeat("r", domain.MaxReason+1)}, domain.EINVALID, "reason", nil},
		{"correct without value", domain.CorrectKpiValue{Period: "Jan 24", Reason: "typo"}, domain.EINVALID, "value", nil},
		{"correct a period with no value", domain.CorrectKpiValue{Period: "Mar 24", Value: "1", Reason: "typo"}, domain.ENOTFOUND, "period", nil},
		{"correct to the same value", domain.CorrectKpiValue{Period: "Jan 24", Value: "41.6%", Reason: "checked"}, "", "", nil},
		{"correct", domain.CorrectKpiValue{Period: "Jan 24", Value: "42%", Reason: " typo in the return "}, "", "",
			[]domain.Event{domain.KpiValueCorrected{Period: "Jan 24", Old: "41.6%", New: "42%", Reason: "typo in the return"}}},
		{"target without reason", domain.ChangeKpiTarget{Target: "65%"}, domain.EINVALID, "reason", nil},
		{"target with blank reason", domain.ChangeKpiTarget{Target: "65%", Reason: "\t"}, domain.EINVALID, "reason", nil},
		{"target over MaxShort", domain.ChangeKpiTarget{Target: strings.Repeat("9", domain.MaxShort+1), Reason: "r"}, domain.EINVALID, "target", nil},
		{"same target", domain.ChangeKpiTarget{Target: "60%", Reason: "reviewed"}, "", "", nil},
		{"change target", domain.ChangeKpiTarget{Target: "65%", Reason: " board raised it "}, "", "",
			[]domain.Event{domain.KpiTargetChanged{From: "60%", To: "65%", Reason: "board raised it"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := aKpi(t)
			events, err := domain.Decide(h.st, tt.cmd)
			withError(t, err, tt.wantCode, tt.wantField)
			checkEvents(t, events, tt.want)
		})
		t.Run(tt.name+" on a missing KPI", func(t *testing.T) {
			_, err := domain.Decide(domain.NewState(domain.AggKpi), tt.cmd)
			withError(t, err, domain.ENOTFOUND, "kpi")
		})
	}
}

func TestEvolveKpi(t *testing.T) {
	h := aKpi(t)
	h.do(domain.RecordKpiValue{Period: "Feb 24", Value: "TBC"})
	h.do(domain.CorrectKpiValue{Period: "Jan 24", Value: "42%", Reason: "typo"})
	h.do(domain.CorrectKpiValue{Period: "Jan 24", Value: "43%", Reason: "late returns"})
	h.do(domain.ChangeKpiTarget{Target: "65%", Reason: "board"})
	k := h.kpi()
	if got := strings.Join(k.Periods(), ","); got != "Jan 24,Feb 24" {
		t.Fatalf("Periods() = %s", got)
	}
	if v, ok := k.Value("Jan 24"); !ok || v != "43%" {
		t.Fatalf("Value(Jan 24) = %q, %v", v, ok)
	}
	if v, ok := k.Value("Feb 24"); !ok || v != "TBC" {
		t.Fatalf("Value(Feb 24) = %q, %v", v, ok)
	}
	if _, ok := k.Value("Mar 24"); ok {
		t.Fatalf("Mar 24 has a value")
	}
	want := []domain.KpiValueCorrected{
		{Period: "Jan 24", Old: "41.6%", New: "42%", Reason: "typo"},
		{Period: "Jan 24", Old: "42%", New: "43%", Reason: "late returns"},
	}
	if got := k.Corrections("Jan 24"); !reflect.DeepEqual(got, want) {
		t.Fatalf("Corrections = %#v, want %#v", got, want)
	}
	if len(k.Corrections("Feb 24")) != 0 {
		t.Fatalf("Feb 24 has corrections")
	}
	if d := k.Definition(); d.Target != "65%" || d.Direction != domain.DirectionUp || d.National != "50.3%" {
		t.Fatalf("Definition() = %#v", d)
	}
	if k.Version() != h.seq {
		t.Fatalf("Version() = %d, want %d", k.Version(), h.seq)
	}

	// Two futures of one state do not share periods, values or corrections.
	base := h.kpi()
	a := domain.Evolve(base, domain.Envelope{Sequence: 1000, Event: domain.KpiValueRecorded{Period: "Mar 24", Value: "1"}}).(domain.KpiState)
	b := domain.Evolve(base, domain.Envelope{Sequence: 1000, Event: domain.KpiValueRecorded{Period: "Apr 24", Value: "2"}}).(domain.KpiState)
	c := domain.Evolve(base, domain.Envelope{Sequence: 1000, Event: domain.KpiValueCorrected{Period: "Jan 24", Old: "43%", New: "44%", Reason: "x"}}).(domain.KpiState)
	if strings.Join(base.Periods(), ",") != "Jan 24,Feb 24" || strings.Join(a.Periods(), ",") != "Jan 24,Feb 24,Mar 24" || strings.Join(b.Periods(), ",") != "Jan 24,Feb 24,Apr 24" {
		t.Fatalf("periods alias: base %v, a %v, b %v", base.Periods(), a.Periods(), b.Periods())
	}
	if _, ok := base.Value("Mar 24"); ok {
		t.Fatalf("Evolve changed its input's values")
	}
	if v, _ := base.Value("Jan 24"); v != "43%" || len(base.Corrections("Jan 24")) != 2 || len(c.Corrections("Jan 24")) != 3 {
		t.Fatalf("corrections alias: base %v %v, c %v", v, base.Corrections("Jan 24"), c.Corrections("Jan 24"))
	}
}

func TestCreatePlan(t *testing.T) {
	tests := []struct {
		name      string
		cmd       domain.CreatePlan
		wantCode  string
		wantField string
	}{
		{"bcp-2023-26", domain.CreatePlan{Slug: "bcp-2023-26", Title: "BCP SEND Improvement Plan"}, "", ""},
		{"with scheme", domain.CreatePlan{Slug: "bcp-2023-26", Title: "T", RagScheme: []domain.RagSchemeRow{{Code: "R", Count: "3"}, {Code: "NS", Count: "TBC"}}}, "", ""},
		{"upper case", domain.CreatePlan{Slug: "BCP", Title: "T"}, domain.EINVALID, "plan"},
		{"one char", domain.CreatePlan{Slug: "a", Title: "T"}, domain.EINVALID, "plan"},
		{"space", domain.CreatePlan{Slug: "has space", Title: "T"}, domain.EINVALID, "plan"},
		{"dot", domain.CreatePlan{Slug: "has.dot", Title: "T"}, domain.EINVALID, "plan"},
		{"star", domain.CreatePlan{Slug: "star*", Title: "T"}, domain.EINVALID, "plan"},
		{"gt", domain.CreatePlan{Slug: "bcp>", Title: "T"}, domain.EINVALID, "plan"},
		{"empty", domain.CreatePlan{Title: "T"}, domain.EINVALID, "plan"},
		{"no title", domain.CreatePlan{Slug: "bcp-2023-26", Title: "  "}, domain.EINVALID, "title"},
		{"title over MaxShort", domain.CreatePlan{Slug: "bcp-2023-26", Title: strings.Repeat("t", domain.MaxShort+1)}, domain.EINVALID, "title"},
		{"bad scheme code", domain.CreatePlan{Slug: "bcp-2023-26", Title: "T", RagScheme: []domain.RagSchemeRow{{Code: "R"}, {Code: "Red"}}}, domain.EINVALID, "ragScheme[1].code"},
		{"empty scheme code", domain.CreatePlan{Slug: "bcp-2023-26", Title: "T", RagScheme: []domain.RagSchemeRow{{Code: ""}}}, domain.EINVALID, "ragScheme[0].code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := domain.Decide(domain.NewState(domain.AggPlan), tt.cmd)
			withError(t, err, tt.wantCode, tt.wantField)
			if tt.wantCode != "" {
				checkEvents(t, events, nil)
				return
			}
			checkEvents(t, events, []domain.Event{domain.PlanCreated{Slug: tt.cmd.Slug, Title: tt.cmd.Title, RagScheme: tt.cmd.RagScheme}})
		})
	}

	h := newHistory(t, domain.AggPlan)
	h.do(domain.CreatePlan{Slug: "bcp-2023-26", Title: "BCP SEND Improvement Plan"})
	if p := h.plan(); !p.Exists() || p.Slug() != "bcp-2023-26" || p.Title() != "BCP SEND Improvement Plan" {
		t.Fatalf("plan = %#v", p)
	}
	checkEvents(t, h.do(domain.CreatePlan{Slug: "bcp-2023-26", Title: "BCP SEND Improvement Plan"}), nil)
	_, err := domain.Decide(h.st, domain.CreatePlan{Slug: "bcp-2023-26", Title: "Another title"})
	withError(t, err, domain.EEXISTS, "plan")
}

func aPlan(t *testing.T) *history {
	t.Helper()
	h := newHistory(t, domain.AggPlan)
	h.do(domain.CreatePlan{Slug: "bcp-2023-26", Title: "BCP SEND Improvement Plan"})
	h.do(domain.ClosePeriod{Label: "2024 Q1", Date: "2024-03-31", RagCounts: map[string]int{"R": 2, "": 1}})
	h.do(domain.PublishPlanVersion{Version: "1.0", Note: "First", Date: "2023-09-01"})
	return h
}

func TestPlanCommands(t *testing.T) {
	tests := []struct {
		name      string
		cmd       domain.Command
		wantCode  string
		wantField string
		want      []domain.Event
	}{
		{"close", domain.ClosePeriod{Label: "2024 Q2", Date: "2024-06-30", RagCounts: map[string]int{"P": 3}}, "", "",
			[]domain.Event{domain.ReportingPeriodClosed{Label: "2024 Q2", Date: mustDate(t, "2024-06-30"), RagCounts: map[string]int{"P": 3}}}},
		{"close without label", domain.ClosePeriod{Date: "2024-06-30"}, domain.EINVALID, "label", nil},
		{"close with blank label", domain.ClosePeriod{Label: "  ", Date: "2024-06-30"}, domain.EINVALID, "label", nil},
		{"close without date", domain.ClosePeriod{Label: "2024 Q2"}, domain.EINVALID, "date", nil},
		{"close on 31 June", domain.ClosePeriod{Label: "2024 Q2", Date: "2024-06-31"}, domain.EINVALID, "date", nil},
		{"close the same label again", domain.ClosePeriod{Label: "2024 Q1", Date: "2024-03-31", RagCounts: map[string]int{"R": 2, "": 1}}, domain.EEXISTS, "label", nil},
		{"publish", domain.PublishPlanVersion{Version: "1.1", Note: "Q1 refresh", Date: "2024-04-30"}, "", "",
			[]domain.Event{domain.PlanVersionPublished{Version: "1.1", Note: "Q1 refresh", Date: mustDate(t, "2024-04-30")}}},
		{"publish the same again", domain.PublishPlanVersion{Version: "1.0", Note: "First", Date: "2023-09-01"}, "", "", nil},
		{"publish the version with other content", domain.PublishPlanVersion{Version: "1.0", Note: "Other", Date: "2023-09-01"}, domain.EEXISTS, "version", nil},
		{"publish without version", domain.PublishPlanVersion{Date: "2024-04-30"}, domain.EINVALID, "version", nil},
		{"publish without date", domain.PublishPlanVersion{Version: "1.1"}, domain.EINVALID, "date", nil},
		{"publish on 31 April", domain.PublishPlanVersion{Version: "1.1", Date: "2024-04-31"}, domain.EINVALID, "date", nil},
		{"publish note over MaxReason", domain.PublishPlanVersion{Version: "1.1", Date: "2024-04-30", Note: strings.Repeat("n", domain.MaxReason+1)}, domain.EINVALID, "note", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := aPlan(t)
			events, err := domain.Decide(h.st, tt.cmd)
			withError(t, err, tt.wantCode, tt.wantField)
			checkEvents(t, events, tt.want)
		})
		t.Run(tt.name+" on a missing plan", func(t *testing.T) {
			_, err := domain.Decide(domain.NewState(domain.AggPlan), tt.cmd)
			withError(t, err, domain.ENOTFOUND, "plan")
		})
	}

	h := aPlan(t)
	h.do(domain.ClosePeriod{Label: "2024 Q2", Date: "2024-06-30"})
	h.do(domain.PublishPlanVersion{Version: "1.1", Date: "2024-07-01"})
	p := h.plan()
	if len(p.Periods()) != 2 || p.Periods()[0].Label != "2024 Q1" || p.Periods()[1].Date != mustDate(t, "2024-06-30") {
		t.Fatalf("Periods() = %#v", p.Periods())
	}
	if len(p.Versions()) != 2 || p.Versions()[1].Version != "1.1" {
		t.Fatalf("Versions() = %#v", p.Versions())
	}
	if p.Version() != h.seq {
		t.Fatalf("Version() = %d, want %d", p.Version(), h.seq)
	}
}

func issueToken() domain.IssueToken {
	return domain.IssueToken{
		TokenID: "tok-1", Principal: "user-1", Name: "Jane's laptop", Role: "editor", Plan: "bcp-2023-26",
		Hash: strings.Repeat("ab", 32), ExpiresAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
	}
}

func TestIssueToken(t *testing.T) {
	with := func(f func(*domain.IssueToken)) domain.IssueToken {
		c := issueToken()
		f(&c)
		return c
	}
	tests := []struct {
		name      string
		cmd       domain.IssueToken
		wantCode  string
		wantField string
		wantRole  domain.Role
	}{
		{"editor", issueToken(), "", "", domain.RoleEditor},
		{"admin", with(func(c *domain.IssueToken) { c.Role = "admin" }), "", "", domain.RoleAdmin},
		{"viewer", with(func(c *domain.IssueToken) { c.Role = "viewer" }), "", "", domain.RoleViewer},
		{"inspector", with(func(c *domain.IssueToken) { c.Role = "inspector" }), "", "", domain.RoleInspector},
		{"service on every plan", with(func(c *domain.IssueToken) { c.Role = "service"; c.Plan = "*" }), "", "", domain.RoleService},
		{"lead with name", with(func(c *domain.IssueToken) { c.Role = "lead"; c.LeadName = "Jane Smith" }), "", "", domain.RoleLead},
		{"lead without name", with(func(c *domain.IssueToken) { c.Role = "lead" }), domain.EINVALID, "leadName", ""},
		{"lead with blank name", with(func(c *domain.IssueToken) { c.Role = "lead"; c.LeadName = "  " }), domain.EINVALID, "leadName", ""},
		{"unknown role", with(func(c *domain.IssueToken) { c.Role = "root" }), domain.EINVALID, "role", ""},
		{"capitalised role", with(func(c *domain.IssueToken) { c.Role = "Admin" }), domain.EINVALID, "role", ""},
		{"no role", with(func(c *domain.IssueToken) { c.Role = "" }), domain.EINVALID, "role", ""},
		{"bad plan", with(func(c *domain.IssueToken) { c.Plan = "BCP" }), domain.EINVALID, "plan", ""},
		{"no name", with(func(c *domain.IssueToken) { c.Name = "" }), domain.EINVALID, "name", ""},
		{"short hash", with(func(c *domain.IssueToken) { c.Hash = "abc" }), domain.EINTERNAL, "", ""},
		{"no token id", with(func(c *domain.IssueToken) { c.TokenID = "" }), domain.EINTERNAL, "", ""},
		{"no principal", with(func(c *domain.IssueToken) { c.Principal = "" }), domain.EINTERNAL, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := domain.Decide(domain.NewState(domain.AggToken), tt.cmd)
			withError(t, err, tt.wantCode, tt.wantField)
			if tt.wantCode != "" {
				checkEvents(t, events, nil)
				return
			}
			c := tt.cmd
			checkEvents(t, events, []domain.Event{domain.TokenIssued{TokenID: c.TokenID, Principal: c.Principal, Name: c.Name, Role: tt.wantRole,
				Plan: c.Plan, LeadName: c.LeadName, Hash: c.Hash, ExpiresAt: c.ExpiresAt}})
		})
	}
}

func TestRevokeToken(t *testing.T) {
	_, err := domain.Decide(domain.NewState(domain.AggToken), domain.RevokeToken{TokenID: "tok-1"})
	withError(t, err, domain.ENOTFOUND, "tokenId")

	h := newHistory(t, domain.AggToken)
	h.do(issueToken())
	if tok := h.token(); !tok.Exists() || tok.Revoked() || tok.Issued().Role != domain.RoleEditor {
		t.Fatalf("token = %#v", tok)
	}
	_, err = domain.Decide(h.st, issueToken())
	withError(t, err, domain.EEXISTS, "tokenId")

	checkEvents(t, h.do(domain.RevokeToken{TokenID: "tok-1", Reason: "lost laptop"}), []domain.Event{domain.TokenRevoked{TokenID: "tok-1", Reason: "lost laptop"}})
	if !h.token().Revoked() {
		t.Fatalf("token not revoked")
	}
	checkEvents(t, h.do(domain.RevokeToken{TokenID: "tok-1", Reason: "again"}), nil)
}

func TestWebhook(t *testing.T) {
	h := newHistory(t, domain.AggWebhook)
	reg := domain.RegisterWebhook{WebhookID: "wh-1", URL: "https://example.org/hook", Types: []string{"rag_changed"}, SecretRef: "s1"}
	checkEvents(t, h.do(domain.RemoveWebhook{WebhookID: "wh-1"}), nil)
	checkEvents(t, h.do(reg), []domain.Event{domain.WebhookRegistered(reg)})
	_, err := domain.Decide(h.st, reg)
	withError(t, err, domain.EEXISTS, "webhookId")
	checkEvents(t, h.do(domain.RemoveWebhook{WebhookID: "wh-1"}), []domain.Event{domain.WebhookRemoved{WebhookID: "wh-1"}})
	checkEvents(t, h.do(domain.RemoveWebhook{WebhookID: "wh-1"}), nil)
}

func TestPriorityArea(t *testing.T) {
	h := newHistory(t, domain.AggPriority)
	add := domain.AddPriorityArea{Number: "1", Title: "Identification of need", Summary: "s"}
	_, err := domain.Decide(h.st, domain.AddPriorityArea{Title: "T"})
	withError(t, err, domain.EINVALID, "number")
	_, err = domain.Decide(h.st, domain.AddPriorityArea{Number: "1"})
	withError(t, err, domain.EINVALID, "title")
	_, err = domain.Decide(h.st, domain.AddPriorityArea{Number: "1", Title: "T", Summary: strings.Repeat("s", domain.MaxText+1)})
	withError(t, err, domain.EINVALID, "summary")
	checkEvents(t, h.do(add), []domain.Event{domain.PriorityAreaAdded(add)})
	checkEvents(t, h.do(add), nil)
	rev := add
	rev.Summary = "revised"
	checkEvents(t, h.do(rev), []domain.Event{domain.PriorityAreaRevised(rev)})
	if got := h.st.(domain.PriorityState).Area(); got != domain.PriorityAreaAdded(rev) {
		t.Fatalf("Area() = %#v", got)
	}
}

// Running an import again after a value was corrected records nothing: the
// value the import carries is the one first recorded.
func TestRecordKpiValueAfterCorrectionIsNoOp(t *testing.T) {
	st := domain.State(domain.KpiState{})
	seq := uint64(0)
	apply := func(cmd domain.Command) []domain.Event {
		t.Helper()
		evs, err := domain.Decide(st, cmd)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			seq++
			st = domain.Evolve(st, domain.Envelope{Sequence: seq, Event: e})
		}
		return evs
	}
	apply(domain.DefineKpi{Priority: "1", Name: "Audits", Direction: "▲"})
	apply(domain.RecordKpiValue{Period: "Jan-24", Value: "41.6% %"})
	apply(domain.CorrectKpiValue{Period: "Jan-24", Value: "41.6%", Reason: "typo"})
	if evs := apply(domain.RecordKpiValue{Period: "Jan-24", Value: "41.6% %"}); len(evs) != 0 {
		t.Fatalf("re-recording the first value appended %v", evs)
	}
	if v, _ := st.(domain.KpiState).Value("Jan-24"); v != "41.6%" {
		t.Fatalf("value %q, want the correction kept", v)
	}
	if _, err := domain.Decide(st, domain.RecordKpiValue{Period: "Jan-24", Value: "50%"}); domain.ErrorCode(err) != domain.EPRECONDITION {
		t.Fatalf("a third value without a reason: %v", err)
	}
}
