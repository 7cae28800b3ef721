package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/sendtrail/sendtrail/demo"
	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
	"github.com/sendtrail/sendtrail/gen/sendtrail/v1/sendtrailv1connect"
	"github.com/sendtrail/sendtrail/projections"
)

func dump(t *testing.T, path string) string {
	t.Helper()
	db, err := projections.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var b bytes.Buffer
	if err := db.Dump(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// answers asks every query of the API and returns the answers.
func answers(t *testing.T, c sendtrailv1connect.PlanServiceClient) []proto.Message {
	t.Helper()
	ctx := context.Background()
	const plan = "bcp-2023-26"
	var out []proto.Message
	add := func(m proto.Message, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	p, err := c.GetPlan(ctx, connect.NewRequest(&pb.GetPlanRequest{Plan: plan}))
	add(msg(p), err)
	for _, f := range []*pb.ListActionsRequest{
		{Plan: plan, IncludeWithdrawn: true}, {Plan: plan, Priority: "3"}, {Plan: plan, Rag: "A"}, {Plan: plan, Flagged: true},
		{Plan: plan, OverdueOn: "2024-06-01"}, {Plan: plan, Lead: "Sam Best"},
	} {
		r, err := c.ListActions(ctx, connect.NewRequest(f))
		add(msg(r), err)
	}
	for _, ref := range []string{"1.7", "3.4", "3.14", "5.3"} {
		a, err := c.GetAction(ctx, connect.NewRequest(&pb.GetActionRequest{Plan: plan, Ref: ref}))
		add(msg(a), err)
		h, err := c.GetActionHistory(ctx, connect.NewRequest(&pb.GetActionHistoryRequest{Plan: plan, Ref: ref}))
		add(msg(h), err)
	}
	token := ""
	for {
		e, err := c.ListEvents(ctx, connect.NewRequest(&pb.ListEventsRequest{Plan: plan, PageSize: 97, PageToken: token}))
		add(msg(e), err)
		token = e.Msg.GetNextPageToken()
		if token == "" {
			break
		}
	}
	k, err := c.ListKpis(ctx, connect.NewRequest(&pb.ListKpisRequest{Plan: plan}))
	add(msg(k), err)
	return out
}

func msg[T any](r *connect.Response[T]) proto.Message {
	if r == nil {
		return nil
	}
	return any(r.Msg).(proto.Message)
}

// scriptedChanges makes a small history on the demo plan.
func scriptedChanges(t *testing.T, c sendtrailv1connect.PlanServiceClient) uint64 {
	t.Helper()
	ctx := context.Background()
	const plan = "bcp-2023-26"
	var last uint64
	check := func(r interface{ GetResult() *pb.CommandResult }, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		last = r.GetResult().GetSequence()
	}
	r1, err := c.ChangeRag(ctx, connect.NewRequest(&pb.ChangeRagRequest{Plan: plan, Ref: "3.4", Rag: "A", Commentary: "Recruitment delayed"}))
	check(r1.Msg, err)
	r2, err := c.MoveDeadline(ctx, connect.NewRequest(&pb.MoveDeadlineRequest{Plan: plan, Ref: "3.4", Deadline: "2024-12-31", ReasonCategory: "capacity", Reason: "Restructure delayed"}))
	check(r2.Msg, err)
	r3, err := c.ReassignLeads(ctx, connect.NewRequest(&pb.ReassignLeadsRequest{Plan: plan, Ref: "3.4", Leads: []*pb.Lead{{Name: "Sam Best", Organisation: "NHS Dorset"}}, Reason: "Moved to the ICB"}))
	check(r3.Msg, err)
	r4, err := c.WithdrawAction(ctx, connect.NewRequest(&pb.WithdrawActionRequest{Plan: plan, Ref: "5.3", Reason: "Merged into 5.4"}))
	check(r4.Msg, err)
	r5, err := c.CorrectKpiValue(ctx, connect.NewRequest(&pb.CorrectKpiValueRequest{Plan: plan, Indicator: "% of case audits judged as good/outstanding", Period: "Jan-24", Value: "41.6%", Reason: "Typo in the published table"}))
	check(r5.Msg, err)
	r6, err := c.MoveDeadline(ctx, connect.NewRequest(&pb.MoveDeadlineRequest{Plan: plan, Ref: "1.7", Deadline: "2024-04-30", ReasonCategory: "other", Reason: "31/04/24 is not a date"}))
	check(r6.Msg, err)
	return last
}

func TestRebuiltReadModelIsIdenticalAndAnswersAsBefore(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir, true)
	last := scriptedChanges(t, s.admin())
	if err := s.DB.WaitFor(context.Background(), last); err != nil {
		t.Fatal(err)
	}
	before := answers(t, s.admin())
	s.Close()
	live := dump(t, filepath.Join(dir, "sendtrail.db"))

	// Delete the read model and rebuild it with the CLI.
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(filepath.Join(dir, "sendtrail.db") + suffix)
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"rebuild", "--data", dir}, &out, &errb); code != 0 {
		t.Fatalf("rebuild exited %d: %s", code, errb.String())
	}
	rebuilt := dump(t, filepath.Join(dir, "sendtrail.db"))
	if diff := cmp.Diff(live, rebuilt); diff != "" {
		t.Fatalf("rebuilt read model differs from the live one (-live +rebuilt):\n%s", diff)
	}

	s2 := startServer(t, dir, true)
	after := answers(t, s2.admin())
	if diff := cmp.Diff(before, after, protocmp.Transform()); diff != "" {
		t.Fatalf("answers differ after rebuild (-before +after):\n%s", diff)
	}

	// A restart with no read model at all rebuilds it too.
	s2.Close()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(filepath.Join(dir, "sendtrail.db") + suffix)
	}
	s3 := startServer(t, dir, true)
	if diff := cmp.Diff(before, answers(t, s3.admin()), protocmp.Transform()); diff != "" {
		t.Fatalf("answers differ after a restart without a read model:\n%s", diff)
	}
}

// bigPlan writes the demo plan with its actions repeated to n actions.
func bigPlan(t *testing.T, dir string, n int) {
	t.Helper()
	files, err := demo.Files()
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		if name != "actions.csv" {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	rows, err := csv.NewReader(bytes.NewReader(files["actions.csv"])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write(rows[0])
	body := rows[1:]
	for i := 0; i < n; i++ {
		r := append([]string(nil), body[i%len(body)]...)
		prio := strings.SplitN(r[1], ".", 2)[0]
		r[1] = fmt.Sprintf("%s.%d", prio, 100+i)
		w.Write(r)
	}
	w.Flush()
	if err := os.WriteFile(filepath.Join(dir, "actions.csv"), buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sendtrail")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type proc struct {
	cmd *exec.Cmd
	url string
}

var servingRE = regexp.MustCompile(`serving on (http://\S+)`)

func startProc(t *testing.T, bin, dir string) *proc {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--data", dir, "--listen", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := servingRE.FindStringSubmatch(sc.Text()); m != nil {
				urlc <- m[1]
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case u := <-urlc:
		return &proc{cmd: cmd, url: u}
	case <-time.After(90 * time.Second):
		t.Fatal("server did not start")
	}
	return nil
}

func TestKilledDuringImportRecoversConsistentAndComplete(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	const n = 10000 // the importer's limit
	bin := buildBinary(t)
	dir, planDir := t.TempDir(), t.TempDir()
	bigPlan(t, planDir, n)
	files, err := readImportFiles(planDir)
	if err != nil {
		t.Fatal(err)
	}
	req := &pb.ImportPlanRequest{Plan: "big", Title: "Big", AcceptFlagged: true, Files: files}

	p := startProc(t, bin, dir)
	tok, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	client := func(url string) sendtrailv1connect.PlanServiceClient {
		return sendtrailv1connect.NewPlanServiceClient(http.DefaultClient, url, connect.WithInterceptors(bearer(strings.TrimSpace(string(tok)))))
	}
	ctx := context.Background()
	done := make(chan error, 1)
	go func() {
		_, err := client(p.url).ImportPlan(ctx, connect.NewRequest(req))
		done <- err
	}()
	// Kill it as soon as the first batch of actions is readable; the
	// rest are still being written.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		r, err := client(p.url).GetPlan(ctx, connect.NewRequest(&pb.GetPlanRequest{Plan: "big"}))
		if err == nil && r.Msg.GetPlan().GetActions() > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("import never started")
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
	if err := <-done; err == nil {
		t.Fatal("the import finished before the kill; make the plan bigger")
	}

	// Started again: the read model catches up with the stream.
	p = startProc(t, bin, dir)
	r, err := client(p.url).GetPlan(ctx, connect.NewRequest(&pb.GetPlanRequest{Plan: "big"}))
	if err != nil {
		t.Fatal(err)
	}
	partial := r.Msg.GetPlan().GetActions()
	t.Logf("after the kill the stream held %d of %d actions", partial, n)
	if partial == 0 || partial >= n {
		t.Fatalf("kill did not land mid-import: %d of %d actions", partial, n)
	}
	res, err := http.Get(p.url + "/readyz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("not ready after restart: %v %v", err, res)
	}
	// SIGTERM drains and stops cleanly: exit status 0.
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("graceful shutdown: %v", err)
	}

	// Consistent: the live read model equals one rebuilt from the stream.
	live := dump(t, filepath.Join(dir, "sendtrail.db"))
	os.Rename(filepath.Join(dir, "sendtrail.db"), filepath.Join(dir, "live.db"))
	for _, suffix := range []string{"-wal", "-shm"} {
		os.Rename(filepath.Join(dir, "sendtrail.db")+suffix, filepath.Join(dir, "live.db")+suffix)
	}
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"rebuild", "--data", dir}, &out, &errb); code != 0 {
		t.Fatalf("rebuild: %s", errb.String())
	}
	if diff := cmp.Diff(live, dump(t, filepath.Join(dir, "sendtrail.db"))); diff != "" {
		t.Fatalf("after the kill the read model differs from the stream (-live +rebuilt):\n%s", diff)
	}

	// Complete: running the import again appends exactly what is missing.
	p = startProc(t, bin, dir)
	ir, err := client(p.url).ImportPlan(ctx, connect.NewRequest(req))
	if err != nil {
		t.Fatal(err)
	}
	r, err = client(p.url).GetPlan(ctx, connect.NewRequest(&pb.GetPlanRequest{Plan: "big", MinSequence: ir.Msg.GetSequence()}))
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Msg.GetPlan().GetActions(); got != n {
		t.Fatalf("after re-import the plan has %d actions, want %d", got, n)
	}
	added := 0
	token := ""
	for {
		e, err := client(p.url).ListEvents(ctx, connect.NewRequest(&pb.ListEventsRequest{Plan: "big", Types: []string{"action_added"}, PageSize: 1000, PageToken: token}))
		if err != nil {
			t.Fatal(err)
		}
		added += len(e.Msg.GetEvents())
		if token = e.Msg.GetNextPageToken(); token == "" {
			break
		}
	}
	if added != n {
		t.Fatalf("stream holds %d action_added events, want exactly %d (nothing lost, nothing doubled)", added, n)
	}
	// And a third run appends nothing.
	ir2, err := client(p.url).ImportPlan(ctx, connect.NewRequest(req))
	if err != nil || ir2.Msg.GetAppended() != 0 {
		t.Fatalf("third import appended %d (err %v)", ir2.Msg.GetAppended(), err)
	}
}
