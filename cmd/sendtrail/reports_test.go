package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sendtrail/sendtrail/demo"
	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
	"github.com/sendtrail/sendtrail/gen/sendtrail/v1/sendtrailv1connect"
)

// demoHistory is the demo plan with a scripted history: imported as published
// on 12 April 2024, then five months of decisions, one recorded late.
type demoHistory struct {
	s        *testServer
	plan     sendtrailv1connect.PlanServiceClient // admin
	mary     sendtrailv1connect.PlanServiceClient // Mary Diffey, editor
	reports  sendtrailv1connect.ReportServiceClient
	maryRep  sendtrailv1connect.ReportServiceClient
	maryFile string
	last     uint64
	// beforeLate is the last sequence before the decision recorded late.
	beforeLate uint64
}

func at(s string) *pb.CommandOptions {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return &pb.CommandOptions{OccurredAt: timestamppb.New(t)}
}

func (s *testServer) reportClient(token string) sendtrailv1connect.ReportServiceClient {
	return sendtrailv1connect.NewReportServiceClient(http.DefaultClient, s.URL(), connect.WithInterceptors(bearer(token)))
}

const (
	casesKpi = "% of case audits judged as good/outstanding"
	ehcpKpi  = "% of new EHCPs issued within 20 weeks (including exceptions)"
)

func scriptHistory(t *testing.T) *demoHistory {
	t.Helper()
	s := startServer(t, t.TempDir(), false)
	ctx := context.Background()
	h := &demoHistory{s: s, plan: s.admin(), reports: s.reportClient(s.token)}
	maryTok := s.issue(demo.Slug, "editor", "Mary Diffey", "")
	h.mary, h.maryRep = s.client(maryTok), s.reportClient(maryTok)
	h.maryFile = filepath.Join(t.TempDir(), "mary.token")
	if err := os.WriteFile(h.maryFile, []byte(maryTok), 0o600); err != nil {
		t.Fatal(err)
	}

	files, err := demo.Files()
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	imp := &pb.ImportPlanRequest{Plan: demo.Slug, Title: demo.Title, AcceptFlagged: true, OccurredAt: at("2024-04-12 09:00").OccurredAt}
	for _, n := range names {
		imp.Files = append(imp.Files, &pb.ImportFile{Name: n, Content: files[n]})
	}
	if _, err := h.plan.ImportPlan(ctx, connect.NewRequest(imp)); err != nil {
		t.Fatal(err)
	}
	const p = demo.Slug
	do := func(r interface{ GetResult() *pb.CommandResult }, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		h.last = r.GetResult().GetSequence()
	}
	rag := func(c sendtrailv1connect.PlanServiceClient, ref, code, why, when string) {
		t.Helper()
		r, err := c.ChangeRag(ctx, connect.NewRequest(&pb.ChangeRagRequest{Plan: p, Ref: ref, Rag: code, Commentary: why, Options: at(when)}))
		do(r.Msg, err)
	}
	move := func(c sendtrailv1connect.PlanServiceClient, ref, to, cat, why, when string) {
		t.Helper()
		r, err := c.MoveDeadline(ctx, connect.NewRequest(&pb.MoveDeadlineRequest{Plan: p, Ref: ref, Deadline: to, ReasonCategory: cat, Reason: why, Options: at(when)}))
		do(r.Msg, err)
	}
	closePeriod := func(label, date, when string) {
		t.Helper()
		r, err := h.reports.ClosePeriod(ctx, connect.NewRequest(&pb.ClosePeriodRequest{Plan: p, Label: label, Date: date, Options: at(when)}))
		do(r.Msg, err)
	}
	publish := func(v, note, date, when string) {
		t.Helper()
		r, err := h.reports.PublishPlanVersion(ctx, connect.NewRequest(&pb.PublishPlanVersionRequest{Plan: p, Version: v, Note: note, Date: date, Options: at(when)}))
		do(r.Msg, err)
	}

	publish("1.2", "Jo Hooper and named Activity Leads", "2024-04-12", "2024-04-12 10:00")
	closePeriod("April 2024", "2024-04-30", "2024-04-30 17:00")
	move(h.mary, "2.1", "2024-05-31", "capacity", "Restructure delayed", "2024-05-14 10:00")
	rag(h.mary, "2.1", "A", "Recruitment delayed", "2024-05-14 10:05")
	move(h.mary, "1.7", "2024-04-30", "other", "31/04/24 is not a date", "2024-05-20 10:00")
	rag(h.plan, "1.1", "G", "Implemented and embedded", "2024-05-20 11:00")
	rag(h.plan, "1.2", "R", "Escalated to the board", "2024-05-20 11:01")
	rag(h.plan, "1.3", "A", "", "2024-05-20 11:02")
	rag(h.plan, "1.4", "P", "", "2024-05-20 11:03")
	rag(h.plan, "3.4", "P", "", "2024-05-20 11:04")
	closePeriod("May 2024", "2024-05-31", "2024-05-31 17:00")
	move(h.mary, "2.1", "2024-07-31", "dependency", "Waiting on the new panel", "2024-06-10 10:00")
	move(h.plan, "3.4", "2024-12-31", "rebaselined", "Agreed with the DfE adviser", "2024-06-20 10:00")
	rag(h.plan, "1.2", "P", "Improving", "2024-06-25 10:00")
	rag(h.plan, "2.1", "R", "Panel not yet formed", "2024-06-25 10:01")
	closePeriod("June 2024", "2024-06-30", "2024-06-30 17:00")
	publish("1.3", "After the July board", "2024-07-15", "2024-07-15 10:00")
	h.beforeLate = h.last
	// Decided at the June board, recorded after the July version.
	move(h.mary, "1.4", "2024-06-30", "capacity", "Agreed at the June board, recorded late", "2024-06-15 10:00")
	r1, err := h.mary.CorrectKpiValue(ctx, connect.NewRequest(&pb.CorrectKpiValueRequest{Plan: p, Indicator: casesKpi, Period: "Jan-24",
		Value: "41.6%", Reason: "Typo in the published table", Options: at("2024-07-20 10:00")}))
	do(r1.Msg, err)
	r2, err := h.mary.RecordKpiValue(ctx, connect.NewRequest(&pb.RecordKpiValueRequest{Plan: p, Indicator: ehcpKpi, Period: "Apr-24",
		Value: "71.3%", Options: at("2024-07-20 10:05")}))
	do(r2.Msg, err)
	r3, err := h.plan.WithdrawAction(ctx, connect.NewRequest(&pb.WithdrawActionRequest{Plan: p, Ref: "5.3", Reason: "Merged into 5.4", Options: at("2024-08-05 10:00")}))
	do(r3.Msg, err)
	move(h.mary, "3.4", "2025-02-28", "scope", "Scope widened to post-16", "2024-08-10 10:00")
	rag(h.plan, "2.1", "G", "Panel formed, backlog cleared", "2024-09-10 10:00")
	closePeriod("September 2024", "2024-09-30", "2024-09-30 17:00")
	return h
}

// cli runs a sendtrail subcommand with a token file and returns its
// output; it fails the test on a non-zero exit.
func (h *demoHistory) cli(t *testing.T, tokenFile string, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	args = append(args, "--server", h.s.URL(), "--token-file", tokenFile)
	if code := run(context.Background(), args, &out, &errb); code != 0 {
		t.Fatalf("sendtrail %s: exit %d: %s", strings.Join(args, " "), code, errb.String())
	}
	return out.String()
}

// read runs a query subcommand as the admin, once the server has applied
// the whole history.
func (h *demoHistory) read(t *testing.T, args ...string) string {
	t.Helper()
	return h.cli(t, h.s.AdminTokenPath(), append(args, "--min-sequence", strconv.FormatUint(h.last, 10))...)
}

// cliCode runs a subcommand and returns its exit code and standard error.
func (h *demoHistory) cliCode(tokenFile string, args ...string) (int, string) {
	var out, errb bytes.Buffer
	args = append(args, "--server", h.s.URL(), "--token-file", tokenFile)
	code := run(context.Background(), args, &out, &errb)
	return code, errb.String()
}

func contains(t *testing.T, what, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("%s: output lacks %q:\n%s", what, w, out)
		}
	}
}

var recordedRE = regexp.MustCompile(` \(recorded \d{1,2} [A-Z][a-z]{2} \d{4}\)`)

func dateAsOf(d string) *pb.AsOf { return &pb.AsOf{Date: d} }

// The figures of every report on the scripted history, through the API
// and the CLI, now and at dates between.
func TestReportsOnTheDemoPlan(t *testing.T) {
	h := scriptHistory(t)
	ctx := context.Background()
	const p = demo.Slug
	wait := h.last
	r := h.reports

	t.Run("deadline trail", func(t *testing.T) {
		res, err := r.GetDeadlineTrail(ctx, connect.NewRequest(&pb.GetDeadlineTrailRequest{Plan: p, Ref: "3.4", MinSequence: wait}))
		if err != nil {
			t.Fatal(err)
		}
		tr := res.Msg.GetTrail()
		if tr.GetOriginalDeadline() != "2024-09-01" || tr.GetBaselineDeadline() != "2024-12-31" || tr.GetDeadline() != "2025-02-28" ||
			tr.GetMoveCount() != 2 || tr.GetSlipCount() != 1 || tr.GetDaysSlipped() != 59 || tr.GetRebaselinedCount() != 1 || tr.GetDaysRebaselined() != 121 {
			t.Fatalf("3.4 trail: %v", tr)
		}
		m0, m1 := tr.GetMoves()[0], tr.GetMoves()[1]
		if m0.GetReasonCategory() != "rebaselined" || m0.GetSlip() || m0.GetDays() != 121 || m0.GetActor().GetDisplayName() != "Administrator" ||
			m1.GetReasonCategory() != "scope" || !m1.GetSlip() || m1.GetDays() != 59 || m1.GetActor().GetDisplayName() != "Mary Diffey" ||
			m1.GetActor().GetRole() != "editor" || m1.GetReason() != "Scope widened to post-16" || day(m1.GetOccurredAt()) != "2024-08-10" {
			t.Fatalf("3.4 moves: %v", tr.GetMoves())
		}
		// A flagged deadline set for the first time is the baseline, not a slip.
		res, err = r.GetDeadlineTrail(ctx, connect.NewRequest(&pb.GetDeadlineTrailRequest{Plan: p, Ref: "1.7", MinSequence: wait}))
		if err != nil {
			t.Fatal(err)
		}
		tr = res.Msg.GetTrail()
		if tr.GetOriginalDeadline() != "2024-04-30" || tr.GetMoveCount() != 0 || tr.GetDaysSlipped() != 0 || len(tr.GetMoves()) != 1 ||
			!tr.GetMoves()[0].GetBaseline() || tr.GetMoves()[0].GetFrom() != "" || tr.GetMoves()[0].GetDays() != 0 || tr.GetDeadlineRaw() != "31/04/24" {
			t.Fatalf("1.7 trail: %v", tr)
		}
		// The decision recorded late counts from the day it was made, by
		// business time; by stream sequence it was not there yet.
		for _, c := range []struct {
			asOf     *pb.AsOf
			deadline string
			days     int32
		}{
			{dateAsOf("2024-06-20"), "2024-06-30", 92},
			{dateAsOf("2024-06-14"), "2024-03-30", 0},
			{&pb.AsOf{Sequence: h.beforeLate}, "2024-03-30", 0},
			{nil, "2024-06-30", 92},
		} {
			res, err := r.GetDeadlineTrail(ctx, connect.NewRequest(&pb.GetDeadlineTrailRequest{Plan: p, Ref: "1.4", AsOf: c.asOf, MinSequence: wait}))
			if err != nil {
				t.Fatal(err)
			}
			if tr := res.Msg.GetTrail(); tr.GetDeadline() != c.deadline || tr.GetDaysSlipped() != c.days {
				t.Errorf("1.4 as of %v: deadline %s, %d days slipped; want %s, %d", c.asOf, tr.GetDeadline(), tr.GetDaysSlipped(), c.deadline, c.days)
			}
		}
		out := h.read(t, "trail", p, "2.1")
		contains(t, "trail 2.1", out, "Original deadline 2024-02-29", "deadline now 2024-07-31",
			"2024-05-14", "2024-02-29  2024-05-31  +92   capacity", "2024-05-31  2024-07-31  +61   dependency", "Mary Diffey (editor)",
			"2 moves: 2 slips, +153 days slipped")
		out = h.read(t, "trail", p, "1.7")
		contains(t, "trail 1.7", out, "baseline", "other (deadline set)", "0 moves: 0 slips, 0 days slipped")
		out = h.read(t, "trail", p, "3.4")
		contains(t, "trail 3.4", out, "rebaselined (not slippage)", "1 re-baselined (+121 days")
	})

	t.Run("slip analysis", func(t *testing.T) {
		list := func(req *pb.ListDeadlineSlipsRequest) *pb.ListDeadlineSlipsResponse {
			t.Helper()
			req.Plan, req.MinSequence = p, wait
			res, err := r.ListDeadlineSlips(ctx, connect.NewRequest(req))
			if err != nil {
				t.Fatal(err)
			}
			return res.Msg
		}
		all := list(&pb.ListDeadlineSlipsRequest{})
		tot := all.GetTotal()
		if tot.GetMoves() != 5 || tot.GetActions() != 3 || tot.GetSlips() != 4 || tot.GetDaysSlipped() != 304 || tot.GetRebaselined() != 1 || tot.GetDaysRebaselined() != 121 {
			t.Fatalf("totals: %v", tot)
		}
		got := func(ts []*pb.SlipTotal) string {
			var parts []string
			for _, t := range ts {
				parts = append(parts, fmt.Sprintf("%s:%d/%d/%d/%d", t.GetKey(), t.GetMoves(), t.GetSlips(), t.GetDaysSlipped(), t.GetDaysRebaselined()))
			}
			return strings.Join(parts, " ")
		}
		if g := got(all.GetByPriority()); g != "1:1/1/92/0 2:2/2/153/0 3:2/1/59/121" {
			t.Errorf("by priority: %s", g)
		}
		if g := got(all.GetByCategory()); g != "capacity:2/2/184/0 dependency:1/1/61/0 scope:1/1/59/0 rebaselined:1/0/0/121" {
			t.Errorf("by category: %s", g)
		}
		if g := got(all.GetByLead()); g != "Mary Diffey:2/2/153/0 Cathi Hadley:1/1/92/0 David Freeman:1/1/92/0 Jeanette Yorke:2/1/59/121 Julia Coleman:2/1/59/121" {
			t.Errorf("by lead: %s", g)
		}
		if rs := all.GetRepeatSlippers(); len(rs) != 1 || rs[0].GetRef() != "2.1" || rs[0].GetSlips() != 2 || rs[0].GetDaysSlipped() != 153 ||
			rs[0].GetFirstDeadline() != "2024-02-29" || rs[0].GetLastDeadline() != "2024-07-31" {
			t.Errorf("repeat slippers: %v", rs)
		}
		refs := func(res *pb.ListDeadlineSlipsResponse) string {
			var out []string
			for _, m := range res.GetMoves() {
				out = append(out, fmt.Sprintf("%s%s", m.GetRef(), signed(m.GetDays())))
			}
			return strings.Join(out, " ")
		}
		for _, c := range []struct {
			name string
			req  *pb.ListDeadlineSlipsRequest
			want string
		}{
			{"all, in the order decided", &pb.ListDeadlineSlipsRequest{}, "2.1+92 2.1+61 1.4+92 3.4+121 3.4+59"},
			{"capacity", &pb.ListDeadlineSlipsRequest{ReasonCategory: "capacity"}, "2.1+92 1.4+92"},
			{"90 days or more", &pb.ListDeadlineSlipsRequest{MinDays: 90}, "2.1+92 1.4+92 3.4+121"},
			{"decided in June", &pb.ListDeadlineSlipsRequest{From: "2024-06-01", To: "2024-06-30"}, "2.1+61 1.4+92 3.4+121"},
			{"priority 2", &pb.ListDeadlineSlipsRequest{Priority: "2"}, "2.1+92 2.1+61"},
			{"lead", &pb.ListDeadlineSlipsRequest{Lead: "mary  diffey"}, "2.1+92 2.1+61"},
			{"origin", &pb.ListDeadlineSlipsRequest{Origin: "senior management"}, "3.4+121 3.4+59"},
			{"as of 12 June", &pb.ListDeadlineSlipsRequest{AsOf: dateAsOf("2024-06-12")}, "2.1+92 2.1+61"},
			{"as of 20 June, business time", &pb.ListDeadlineSlipsRequest{AsOf: dateAsOf("2024-06-20")}, "2.1+92 2.1+61 1.4+92 3.4+121"},
			{"before the late record", &pb.ListDeadlineSlipsRequest{AsOf: &pb.AsOf{Sequence: h.beforeLate}}, "2.1+92 2.1+61 3.4+121"},
		} {
			if g := refs(list(c.req)); g != c.want {
				t.Errorf("%s: %s, want %s", c.name, g, c.want)
			}
		}
		// Pages of two hold every move once; the totals cover them all.
		var pages []string
		token := ""
		for {
			res := list(&pb.ListDeadlineSlipsRequest{PageSize: 2, PageToken: token})
			pages = append(pages, refs(res))
			if res.GetTotal().GetMoves() != 5 {
				t.Fatalf("a page's totals: %v", res.GetTotal())
			}
			if token = res.GetNextPageToken(); token == "" {
				break
			}
		}
		if g := strings.Join(pages, " | "); g != "2.1+92 2.1+61 | 1.4+92 3.4+121 | 3.4+59" {
			t.Errorf("pages: %s", g)
		}
		_, err := r.ListDeadlineSlips(ctx, connect.NewRequest(&pb.ListDeadlineSlipsRequest{Plan: p, ReasonCategory: "laziness"}))
		wantCode(t, err, connect.CodeInvalidArgument, "reason category")
		_, err = r.ListDeadlineSlips(ctx, connect.NewRequest(&pb.ListDeadlineSlipsRequest{Plan: p, From: "2024-13-01"}))
		wantCode(t, err, connect.CodeInvalidArgument, "from")

		out := h.read(t, "slips", p)
		contains(t, "slips", out, "5 moves of 3 actions; 4 slips, +304 days slipped; 1 re-baselined (+121 days, not slippage)",
			"BY PRIORITY", "BY LEAD", "BY REASON CATEGORY", "REPEAT SLIPPERS", "Agreed at the June board, recorded late")
		out = h.read(t, "slips", p, "--category", "capacity", "--min-days", "30", "--from", "2024-05-01", "--to", "2024-06-30")
		contains(t, "slips filtered", out, "2 moves of 2 actions; 2 slips, +184 days slipped")
	})

	t.Run("silent slips", func(t *testing.T) {
		list := func(req *pb.ListSilentSlipsRequest) *pb.ListSilentSlipsResponse {
			t.Helper()
			req.Plan, req.MinSequence = p, wait
			res, err := r.ListSilentSlips(ctx, connect.NewRequest(req))
			if err != nil {
				t.Fatal(err)
			}
			return res.Msg
		}
		res := list(&pb.ListSilentSlipsRequest{On: "2024-06-30"})
		refs := map[string]*pb.SilentSlip{}
		for _, s := range res.GetSlips() {
			refs[s.GetRef()] = s
		}
		if len(res.GetSlips()) != 64 || res.GetOn() != "2024-06-30" {
			t.Fatalf("%d silent slips on %s, want 64", len(res.GetSlips()), res.GetOn())
		}
		first := res.GetSlips()[0]
		if first.GetRef() != "1.2" || first.GetDaysOverdue() != 199 || first.GetDeadline() != "2023-12-14" || first.GetPriority() != "1" || first.GetRag() != "P" ||
			!strings.HasPrefix(leadsText(first.GetLeads()), "Sharon Muldoon") {
			t.Errorf("most overdue: %v", first)
		}
		// 1.1 is G; 2.1, 1.4 and 3.4 were moved; 1.7's deadline was set
		// after it had passed (explained); 5.22's deadline is read from
		// "next meeting by 31/03/24".
		for _, ref := range []string{"1.1", "2.1", "1.4", "3.4", "1.7"} {
			if refs[ref] != nil {
				t.Errorf("%s is listed as a silent slip", ref)
			}
		}
		if s := refs["5.22"]; s == nil || s.GetDaysOverdue() != 91 {
			t.Errorf("5.22: %v", s)
		}
		if n := len(list(&pb.ListSilentSlipsRequest{On: "2024-06-30", Priority: "2"}).GetSlips()); n != 6 {
			t.Errorf("priority 2: %d silent slips, want 6", n)
		}
		if n := len(list(&pb.ListSilentSlipsRequest{On: "2024-06-30", Lead: "Mary Diffey"}).GetSlips()); n != 13 {
			t.Errorf("Mary Diffey: %d silent slips, want 13", n)
		}
		// Before the late record, 1.4 was a silent slip too.
		late := list(&pb.ListSilentSlipsRequest{On: "2024-06-30", AsOf: &pb.AsOf{Sequence: h.beforeLate}})
		if len(late.GetSlips()) != 65 {
			t.Errorf("before the late record: %d silent slips, want 65", len(late.GetSlips()))
		}
		if n := len(list(&pb.ListSilentSlipsRequest{On: "2024-04-12"}).GetSlips()); n != 41 {
			t.Errorf("on the day of import: %d silent slips, want 41", n)
		}
		out := h.read(t, "silent", p, "--on", "2024-06-30")
		contains(t, "silent", out, "on 2024-06-30: 64 actions past their deadline", "1.2   1         2023-12-14  199")
	})

	t.Run("explain", func(t *testing.T) {
		res, err := r.ExplainAction(ctx, connect.NewRequest(&pb.ExplainActionRequest{Plan: p, Ref: "2.1", MinSequence: wait}))
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, l := range res.Msg.GetLines() {
			if !strings.Contains(l.GetText(), "(recorded ") {
				t.Errorf("recorded on a later day but only one date shown: %s", l.GetText())
			}
			lines = append(lines, recordedRE.ReplaceAllString(l.GetText(), ""))
		}
		want := []string{
			"On 12 Apr 2024 Administrator (admin) added the action to the plan (priority 2, due 29 Feb 2024, not yet rated), led by Mary Diffey",
			"On 14 May 2024 Mary Diffey (editor) moved the deadline from 29 Feb 2024 to 31 May 2024 (+92 days, capacity): restructure delayed",
			"On 14 May 2024 Mary Diffey (editor) rated the action A (significant risk): recruitment delayed",
			"On 10 Jun 2024 Mary Diffey (editor) moved the deadline from 31 May 2024 to 31 Jul 2024 (+61 days, dependency): waiting on the new panel",
			"On 25 Jun 2024 Administrator (admin) changed the RAG rating from A (significant risk) to R (high risk): panel not yet formed",
			"On 10 Sep 2024 Administrator (admin) changed the RAG rating from R (high risk) to G (actioned): panel formed, backlog cleared",
		}
		if d := cmp.Diff(want, lines); d != "" {
			t.Errorf("2.1's story (-want +got):\n%s", d)
		}
		if s := res.Msg.GetSummary(); s != "Now it is G (actioned), due 31 Jul 2024 (originally 29 Feb 2024; moved 2 times, 153 days slipped), led by Mary Diffey" {
			t.Errorf("summary: %s", s)
		}
		res, err = r.ExplainAction(ctx, connect.NewRequest(&pb.ExplainActionRequest{Plan: p, Ref: "3.4", AsOf: dateAsOf("2024-06-30"), MinSequence: wait}))
		if err != nil {
			t.Fatal(err)
		}
		ls := res.Msg.GetLines()
		if len(ls) != 3 || !strings.Contains(ls[2].GetText(), "re-baselined the deadline from 1 Sep 2024 to 31 Dec 2024 (+121 days, agreed with the DfE/NHS England adviser: not slippage): agreed with the DfE adviser") ||
			res.Msg.GetSummary() != "As of 30 Jun 2024 it is P (on track), due 31 Dec 2024 (originally 1 Sep 2024; moved 1 time, 0 days slipped, 121 days re-baselined), led by Julia Coleman and Jeanette Yorke" {
			t.Errorf("3.4 as of 30 June: %v / %s", ls, res.Msg.GetSummary())
		}
		res, err = r.ExplainAction(ctx, connect.NewRequest(&pb.ExplainActionRequest{Plan: p, Ref: "1.7", MinSequence: wait}))
		if err != nil {
			t.Fatal(err)
		}
		if l := recordedRE.ReplaceAllString(res.Msg.GetLines()[1].GetText(), ""); l != "On 20 May 2024 Mary Diffey (editor) set the first deadline, 30 Apr 2024 (the baseline, not a move; other): 31/04/24 is not a date" {
			t.Errorf("1.7: %s", l)
		}
		out := h.read(t, "explain", p, "2.1")
		contains(t, "explain", out, "moved the deadline from 29 Feb 2024 to 31 May 2024 (+92 days, capacity): restructure delayed.", "Now it is G (actioned)")
		// A long story comes in pages; together they hold every line once.
		var paged []string
		token := ""
		for {
			res, err := r.ExplainAction(ctx, connect.NewRequest(&pb.ExplainActionRequest{Plan: p, Ref: "2.1", PageSize: 4, PageToken: token}))
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range res.Msg.GetLines() {
				paged = append(paged, recordedRE.ReplaceAllString(l.GetText(), ""))
			}
			if token = res.Msg.GetNextPageToken(); token == "" {
				break
			}
		}
		if d := cmp.Diff(want, paged); d != "" {
			t.Errorf("paged story (-want +got):\n%s", d)
		}
	})

	t.Run("rag summary", func(t *testing.T) {
		summary := func(a *pb.AsOf) *pb.RagSummary {
			t.Helper()
			res, err := r.GetRagSummary(ctx, connect.NewRequest(&pb.GetRagSummaryRequest{Plan: p, AsOf: a, MinSequence: wait}))
			if err != nil {
				t.Fatal(err)
			}
			return res.Msg.GetSummary()
		}
		table := func(s *pb.RagSummary) string {
			var parts []string
			for _, r := range append(append([]*pb.RagSummaryRow(nil), s.GetRows()...), s.GetNotRated()) {
				parts = append(parts, fmt.Sprintf("%s %d %s %s", orDash(r.GetCode()), r.GetCount(), r.GetPercentText(), orDash(r.GetDirection())))
			}
			return fmt.Sprintf("%d actions (%d withdrawn) vs %s: %s", s.GetActions(), s.GetWithdrawn(), s.GetComparedWith().GetLabel(), strings.Join(parts, ", "))
		}
		for _, c := range []struct {
			asOf *pb.AsOf
			want string
		}{
			{dateAsOf("2024-04-12"), "138 actions (0 withdrawn) vs : R 0 0% -, A 0 0% -, P 0 0% -, G 0 0% -, C 0 0% -, NS 3 2% -, - 135 98% -"},
			{dateAsOf("2024-05-30"), "138 actions (0 withdrawn) vs April 2024: R 1 1% ↑, A 2 1% ↑, P 2 1% ↑, G 1 1% ↑, C 0 0% ↔, NS 3 2% ↔, - 129 93% ↓"},
			{dateAsOf("2024-06-29"), "138 actions (0 withdrawn) vs May 2024: R 1 1% ↔, A 1 1% ↓, P 3 2% ↑, G 1 1% ↔, C 0 0% ↔, NS 3 2% ↔, - 129 93% ↔"},
			{dateAsOf("2024-09-29"), "137 actions (1 withdrawn) vs June 2024: R 0 0% ↓, A 1 1% ↔, P 3 2% ↔, G 2 1% ↑, C 0 0% ↔, NS 3 2% ↔, - 128 93% ↓"},
			{nil, "137 actions (1 withdrawn) vs September 2024: R 0 0% ↔, A 1 1% ↔, P 3 2% ↔, G 2 1% ↔, C 0 0% ↔, NS 3 2% ↔, - 128 93% ↔"},
			{&pb.AsOf{PlanVersion: "1.2"}, "138 actions (0 withdrawn) vs : R 0 0% -, A 0 0% -, P 0 0% -, G 0 0% -, C 0 0% -, NS 3 2% -, - 135 98% -"},
		} {
			if g := table(summary(c.asOf)); g != c.want {
				t.Errorf("as of %v:\n got %s\nwant %s", c.asOf, g, c.want)
			}
		}
		s := summary(dateAsOf("2024-05-30"))
		if r := s.GetRows()[0]; r.GetCode() != "R" || math.Abs(r.GetPercent()-100.0/138) > 1e-9 || r.GetPreviousCount() != 0 || r.GetPublishedCount() != "2" ||
			r.GetPublishedDirection() != "↓" || !strings.HasPrefix(r.GetDescription(), "High risk – action not started yet") {
			t.Errorf("R row: %v", r)
		}
		wantDisc := []string{
			"The plan's published RAG table disagrees with its actions as imported: it counts R 2, A 30, P 96, G 7, C 0, NS 3, the actions carry R 0, A 0, P 0, G 0, C 0, NS 3 and 135 not yet rated.",
			"R: the published table counts 2, the actions as imported carry 0.",
			"A: the published table counts 30, the actions as imported carry 0.",
			"P: the published table counts 96, the actions as imported carry 0.",
			"G: the published table counts 7, the actions as imported carry 0.",
		}
		if d := cmp.Diff(wantDisc, s.GetDiscrepancies()); d != "" {
			t.Errorf("discrepancies (-want +got):\n%s", d)
		}
		out := h.read(t, "summary", p, "--as-of", "2024-06-29")
		contains(t, "summary", out, `against period "May 2024" closed on 2024-05-31`, "disagrees with its actions", "93%")
		_, err := r.GetRagSummary(ctx, connect.NewRequest(&pb.GetRagSummaryRequest{Plan: p, AsOf: dateAsOf("2024-04-11")}))
		wantCode(t, err, connect.CodeNotFound, "did not exist yet")
	})

	t.Run("reporting periods", func(t *testing.T) {
		res, err := r.ListReportingPeriods(ctx, connect.NewRequest(&pb.ListReportingPeriodsRequest{Plan: p, MinSequence: wait}))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, q := range res.Msg.GetPeriods() {
			got = append(got, fmt.Sprintf("%s %s %d %s", q.GetLabel(), q.GetDate(), q.GetActions(), countsText(q.GetRagCounts())))
		}
		want := []string{
			"April 2024 2024-04-30 138 R 0, A 0, P 0, G 0, C 0, NS 3, not rated 135",
			"May 2024 2024-05-31 138 R 1, A 2, P 2, G 1, C 0, NS 3, not rated 129",
			"June 2024 2024-06-30 138 R 1, A 1, P 3, G 1, C 0, NS 3, not rated 129",
			"September 2024 2024-09-30 137 R 0, A 1, P 3, G 2, C 0, NS 3, not rated 128",
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("periods (-want +got):\n%s", d)
		}
		// Closing again is refused; so is a viewer's close; a period dated
		// in the past counts the plan as it stood then.
		_, err = r.ClosePeriod(ctx, connect.NewRequest(&pb.ClosePeriodRequest{Plan: p, Label: "June 2024", Date: "2024-06-30"}))
		wantCode(t, err, connect.CodeAlreadyExists, "closed already")
		viewer := h.s.reportClient(h.s.issue(p, "viewer", "Vic Viewer", ""))
		_, err = viewer.ClosePeriod(ctx, connect.NewRequest(&pb.ClosePeriodRequest{Plan: p, Label: "Q3", Date: "2024-09-30"}))
		wantCode(t, err, connect.CodePermissionDenied, "plan.edit")
		_, err = viewer.PublishPlanVersion(ctx, connect.NewRequest(&pb.PublishPlanVersionRequest{Plan: p, Version: "9", Date: "2024-09-30"}))
		wantCode(t, err, connect.CodePermissionDenied, "plan.edit")
		if _, err := viewer.GetRagSummary(ctx, connect.NewRequest(&pb.GetRagSummaryRequest{Plan: p})); err != nil {
			t.Errorf("a viewer reads the summary: %v", err)
		}
		_, err = r.ClosePeriod(ctx, connect.NewRequest(&pb.ClosePeriodRequest{Plan: p, Label: "Bad", Date: "2024-02-30"}))
		wantCode(t, err, connect.CodeInvalidArgument, "date")
		c, err := h.maryRep.ClosePeriod(ctx, connect.NewRequest(&pb.ClosePeriodRequest{Plan: p, Label: "Mid May 2024", Date: "2024-05-15"}))
		if err != nil {
			t.Fatal(err)
		}
		if q := c.Msg.GetPeriod(); countsText(q.GetRagCounts()) != "R 0, A 1, P 0, G 0, C 0, NS 3, not rated 134" || q.GetActor().GetDisplayName() != "Mary Diffey" {
			t.Errorf("mid-May snapshot: %v", q)
		}
		out := h.cli(t, h.s.AdminTokenPath(), "period", "close", p, "--label", "October 2024", "--date", "2024-10-31", "--occurred-at", "2024-10-31")
		contains(t, "period close", out, `closed period "October 2024"`, "snapshot of 137 actions: R 0, A 1, P 3, G 2, C 0, NS 3, not rated 128")
		h.last = h.s.lastSequence()
		out = h.read(t, "period", "list", p)
		contains(t, "period list", out, "Mid May 2024", "October 2024", "6 periods")
		if code, _ := h.cliCode(h.s.AdminTokenPath(), "period", "close", p, "--label", "October 2024", "--date", "2024-10-31"); code != exitRefused {
			t.Errorf("closing twice exited %d, want %d", code, exitRefused)
		}
	})

	t.Run("scorecard", func(t *testing.T) {
		card := func(a *pb.AsOf) map[string]*pb.KpiScore {
			t.Helper()
			res, err := r.GetKpiScorecard(ctx, connect.NewRequest(&pb.GetKpiScorecardRequest{Plan: p, AsOf: a, MinSequence: wait}))
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]*pb.KpiScore{}
			for _, k := range res.Msg.GetIndicators() {
				out[k.GetName()] = k
			}
			if len(res.Msg.GetIndicators()) != 50 {
				t.Fatalf("%d indicators, want 50", len(res.Msg.GetIndicators()))
			}
			return out
		}
		now := card(nil)
		k := now[casesKpi]
		jan := k.GetSeries()[1]
		if jan.GetPeriod() != "Jan-24" || jan.GetValue() != "41.6%" || len(jan.GetCorrections()) != 1 || jan.GetCorrections()[0].GetOld() != "41.6% %" ||
			jan.GetCorrections()[0].GetNew() != "41.6%" || jan.GetCorrections()[0].GetReason() != "Typo in the published table" ||
			jan.GetCorrections()[0].GetActor().GetDisplayName() != "Mary Diffey" {
			t.Errorf("corrected value: %v", jan)
		}
		if k.GetLatest().GetPeriod() != "Mar-24" || k.GetLatest().GetNumber() != 41.6 || k.GetTrend() != "unchanged" || k.GetTargetStatus() != "not met" || k.GetNationalStatus() != "" {
			t.Errorf("%s: %v", casesKpi, k)
		}
		e := now[ehcpKpi]
		if e.GetLatest().GetPeriod() != "Apr-24" || e.GetLatest().GetNumber() != 71.3 || e.GetPrevious().GetNumber() != 67.1 || e.GetMovement() != "up" ||
			e.GetTrend() != "improved" || e.GetTargetStatus() != "not met" || e.GetNationalStatus() != "better" || len(e.GetSeries()) != 5 {
			t.Errorf("%s: %v", ehcpKpi, e)
		}
		c := now["No. of complaints"]
		if c.GetLatest().GetValue() != "16" || c.GetPrevious().GetValue() != "8" || c.GetTrend() != "worsened" || c.GetTargetStatus() != "not met" {
			t.Errorf("complaints: %v", c)
		}
		a := now["% attendance of Senior Leaders at SIB"]
		if a.GetLatest() != nil || len(a.GetNotAvailable()) != 4 || a.GetNotAvailable()[0] != "Dec-23: TBC" || a.GetSeries()[0].GetAvailable() {
			t.Errorf("attendance: %v", a)
		}
		if n := now["No. of EHCPs"]; n.GetNationalStatus() != "" || n.GetTrend() != "worsened" {
			t.Errorf("a national total is no comparator: %v", n)
		}
		if n := now["% of EHCPs in Special: Independent & Non-Maintained"]; n.GetLatest().GetValue() != "11.1" || n.GetTrend() != "improved" || n.GetNationalStatus() != "worse" {
			t.Errorf("INMSS %%: %v", n)
		}
		if n := now["UHD School age ND pathway - Waiting List numbers"]; n.GetLatest().GetNumber() != 1632 || n.GetPrevious().GetNumber() != 1641 || n.GetTrend() != "improved" {
			t.Errorf("1,641: %v", n)
		}
		if n := now["Cost of Primary in Non-Maintained (£ amount)"]; n.GetLatest().GetNumber() != 3.9e6 || n.GetTrend() != "unchanged" {
			t.Errorf("3.9M: %v", n)
		}
		// As it stood on 1 July: before the correction and the April value.
		july := card(dateAsOf("2024-07-01"))
		if jan := july[casesKpi].GetSeries()[1]; jan.GetValue() != "41.6% %" || len(jan.GetCorrections()) != 0 {
			t.Errorf("Jan-24 on 1 July: %v", jan)
		}
		if e := july[ehcpKpi]; e.GetLatest().GetPeriod() != "Mar-24" || len(e.GetSeries()) != 4 {
			t.Errorf("%s on 1 July: %v", ehcpKpi, e)
		}
		out := h.read(t, "scorecard", p, "--priority", "5")
		contains(t, "scorecard", out, "71.3% (Apr-24)", "67.1% (Mar-24)", "improved", "95%: not met", "49.2%: better")
		out = h.read(t, "scorecard", p, "--priority", "1", "--series")
		contains(t, "scorecard series", out, "Jan-24 41.6% (corrected from 41.6% %)", "41.6% % → 41.6% (Mary Diffey (editor)", "Typo in the published table")
	})

	t.Run("plan versions", func(t *testing.T) {
		res, err := r.ListPlanVersions(ctx, connect.NewRequest(&pb.ListPlanVersionsRequest{Plan: p, MinSequence: wait}))
		if err != nil {
			t.Fatal(err)
		}
		vs := res.Msg.GetVersions()
		if len(vs) != 2 || vs[0].GetVersion() != "1.2" || vs[0].GetDate() != "2024-04-12" || vs[0].GetNote() != "Jo Hooper and named Activity Leads" ||
			vs[1].GetVersion() != "1.3" || vs[1].GetDate() != "2024-07-15" || vs[1].GetActor().GetDisplayName() != "Administrator" || vs[1].GetSequence() == 0 {
			t.Fatalf("versions: %v", vs)
		}
		// As of 1 May only 1.2 had been published.
		res, err = r.ListPlanVersions(ctx, connect.NewRequest(&pb.ListPlanVersionsRequest{Plan: p, AsOf: dateAsOf("2024-05-01")}))
		if err != nil || len(res.Msg.GetVersions()) != 1 {
			t.Fatalf("versions as of 1 May: %v %v", res, err)
		}
		// Each version reads as the plan stood at its date.
		for v, want := range map[string]map[string]uint32{
			"1.2": {"NS": 3, "": 135},
			"1.3": {"R": 1, "A": 1, "P": 3, "G": 1, "NS": 3, "": 129},
		} {
			g, err := h.plan.GetPlan(ctx, connect.NewRequest(&pb.GetPlanRequest{Plan: p, AsOf: &pb.AsOf{PlanVersion: v}}))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, g.Msg.GetPlan().GetRagCounts()); d != "" {
				t.Errorf("plan as of version %s (-want +got):\n%s", v, d)
			}
		}
		// Publishing the same version again appends nothing; with another
		// note it is refused.
		again, err := r.PublishPlanVersion(ctx, connect.NewRequest(&pb.PublishPlanVersionRequest{Plan: p, Version: "1.3", Note: "After the July board", Date: "2024-07-15"}))
		if err != nil || again.Msg.GetResult().GetAppended() != 0 {
			t.Fatalf("again: %v %v", again, err)
		}
		_, err = r.PublishPlanVersion(ctx, connect.NewRequest(&pb.PublishPlanVersionRequest{Plan: p, Version: "1.3", Note: "Other", Date: "2024-07-15"}))
		wantCode(t, err, connect.CodeAlreadyExists, "published already")
		_, err = h.plan.GetPlan(ctx, connect.NewRequest(&pb.GetPlanRequest{Plan: p, AsOf: &pb.AsOf{PlanVersion: "7.0"}}))
		wantCode(t, err, connect.CodeNotFound, "no version")
		out := h.cli(t, h.maryFile, "version", "publish", p, "1.4", "--date", "2024-10-01", "--note", "Autumn refresh")
		contains(t, "version publish", out, "published version 1.4 of bcp-2023-26 (2024-10-01)")
		h.last = h.s.lastSequence()
		out = h.read(t, "version", "list", p)
		contains(t, "version list", out, "1.2", "1.3", "1.4", "Mary Diffey (editor)", "Autumn refresh", "3 versions")
	})

	t.Run("as of: plan, actions, action", func(t *testing.T) {
		plan := func(a *pb.AsOf) (*pb.Plan, error) {
			res, err := h.plan.GetPlan(ctx, connect.NewRequest(&pb.GetPlanRequest{Plan: p, AsOf: a, MinSequence: wait}))
			if err != nil {
				return nil, err
			}
			return res.Msg.GetPlan(), nil
		}
		_, err := plan(dateAsOf("2024-04-11"))
		wantCode(t, err, connect.CodeNotFound, "did not exist yet as of 2024-04-11: it was created (imported) on 2024-04-12")
		may, err := plan(dateAsOf("2024-05-30"))
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(map[string]uint32{"R": 1, "A": 2, "P": 2, "G": 1, "NS": 3, "": 129}, may.GetRagCounts()); d != "" || may.GetActions() != 138 || may.GetWithdrawn() != 0 || may.GetKpis() != 50 || len(may.GetPriorities()) != 8 {
			t.Errorf("plan on 30 May: %v %s", may, d)
		}
		sep, err := plan(dateAsOf("2024-09-30"))
		if err != nil {
			t.Fatal(err)
		}
		if sep.GetActions() != 137 || sep.GetWithdrawn() != 1 {
			t.Errorf("plan on 30 September: %d actions, %d withdrawn", sep.GetActions(), sep.GetWithdrawn())
		}
		// Recorded time: nothing had been recorded on 20 June 2024 (the
		// whole history was recorded today).
		_, err = plan(&pb.AsOf{Date: "2024-06-20", Basis: pb.TimeBasis_TIME_BASIS_RECORDED})
		wantCode(t, err, connect.CodeNotFound, "did not exist yet")
		_, err = plan(&pb.AsOf{Date: "2024-06-20", Sequence: 5})
		wantCode(t, err, connect.CodeInvalidArgument, "one of")

		action := func(ref string, a *pb.AsOf) *pb.Action {
			t.Helper()
			res, err := h.plan.GetAction(ctx, connect.NewRequest(&pb.GetActionRequest{Plan: p, Ref: ref, AsOf: a, MinSequence: wait}))
			if err != nil {
				t.Fatal(err)
			}
			return res.Msg.GetAction()
		}
		for _, c := range []struct {
			ref  string
			asOf *pb.AsOf
			want string
		}{
			{"2.1", dateAsOf("2024-04-12"), "2024-02-29  0 moves"},
			{"2.1", dateAsOf("2024-06-01"), "2024-05-31 A 1 moves"},
			{"2.1", dateAsOf("2024-06-30"), "2024-07-31 R 2 moves"},
			{"2.1", nil, "2024-07-31 G 2 moves"},
			{"1.4", dateAsOf("2024-06-20"), "2024-06-30 P 1 moves"},
			{"1.4", &pb.AsOf{Sequence: h.beforeLate}, "2024-03-30 P 0 moves"},
			{"1.7", dateAsOf("2024-05-19"), "  0 moves flagged"},
			{"1.7", dateAsOf("2024-05-20"), "2024-04-30  0 moves"},
		} {
			a := action(c.ref, c.asOf)
			got := fmt.Sprintf("%s %s %d moves", a.GetDeadline(), a.GetRag(), a.GetDeadlineMoves())
			if len(a.GetFlags()) > 0 {
				got += " flagged"
			}
			if got != c.want {
				t.Errorf("%s as of %v: %q, want %q", c.ref, c.asOf, got, c.want)
			}
		}
		actions := func(req *pb.ListActionsRequest) []string {
			t.Helper()
			req.Plan, req.MinSequence = p, wait
			res, err := h.plan.ListActions(ctx, connect.NewRequest(req))
			if err != nil {
				t.Fatal(err)
			}
			var refs []string
			for _, a := range res.Msg.GetActions() {
				refs = append(refs, a.GetRef())
			}
			return refs
		}
		if g := actions(&pb.ListActionsRequest{Rag: "A", AsOf: dateAsOf("2024-05-30")}); !slices.Equal(g, []string{"1.3", "2.1"}) {
			t.Errorf("rated A on 30 May: %v", g)
		}
		if g := actions(&pb.ListActionsRequest{Rag: "A"}); !slices.Equal(g, []string{"1.3"}) {
			t.Errorf("rated A now: %v", g)
		}
		if n := len(actions(&pb.ListActionsRequest{OverdueOn: "2024-06-30", AsOf: dateAsOf("2024-06-30")})); n != 65 {
			t.Errorf("overdue on 30 June: %d, want 65 (the 64 silent slips and 1.7)", n)
		}
		if n := len(actions(&pb.ListActionsRequest{AsOf: dateAsOf("2024-08-04")})); n != 138 {
			t.Errorf("actions on 4 August: %d", n)
		}
		if n := len(actions(&pb.ListActionsRequest{AsOf: dateAsOf("2024-08-05")})); n != 137 {
			t.Errorf("actions on 5 August: %d", n)
		}
		if n := len(actions(&pb.ListActionsRequest{Lead: "Mary Diffey", AsOf: dateAsOf("2024-08-05"), IncludeWithdrawn: true})); n == 0 {
			t.Errorf("no action led by Mary Diffey")
		}
		// The same through the CLI's plan, actions and action commands.
		out := h.read(t, "plan", "show", p, "--as-of", "2024-05-30")
		contains(t, "plan show --as-of", out, "138 actions (0 withdrawn")
		out = h.read(t, "actions", "list", p, "--rag", "A", "--as-of", "2024-05-30")
		contains(t, "actions list --as-of", out, "1.3 ", "2.1 ", "2 actions")
		out = h.read(t, "action", "show", p, "2.1", "--as-of", "2024-06-01")
		contains(t, "action show --as-of", out, "2024-05-31")
		if code, errText := h.cliCode(h.s.AdminTokenPath(), "summary", p, "--as-of", "2024-04-11"); code != exitRefused || !strings.Contains(errText, "did not exist yet") {
			t.Errorf("summary before the plan: exit %d: %s", code, errText)
		}
		if code, _ := h.cliCode(h.s.AdminTokenPath(), "summary", p, "--as-of", "30/06/24"); code != exitUsage {
			t.Errorf("summary --as-of 30/06/24: exit %d, want %d", code, exitUsage)
		}
	})

	t.Run("connect json", func(t *testing.T) {
		body := `{"plan":"bcp-2023-26","asOf":{"date":"2024-06-29"}}`
		req, _ := http.NewRequest("POST", h.s.URL()+"/sendtrail.v1.ReportService/GetRagSummary", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+h.s.token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m struct {
			Summary struct {
				Actions      int
				ComparedWith struct{ Label string }
				Rows         []struct {
					Code, Direction string
					Count           int
				}
			}
		}
		if err := json.NewDecoder(res.Body).Decode(&m); err != nil || res.StatusCode != 200 {
			t.Fatalf("status %d: %v", res.StatusCode, err)
		}
		if m.Summary.Actions != 138 || m.Summary.ComparedWith.Label != "May 2024" || m.Summary.Rows[2].Code != "P" || m.Summary.Rows[2].Count != 3 || m.Summary.Rows[2].Direction != "↑" {
			t.Errorf("JSON answer: %+v", m)
		}
	})
}
