package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/sendtrail/sendtrail/demo"
	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
)

// TestAGigabyteBodyIsRefusedBeforeItIsSent: the server answers 413 from
// the headers alone; the test never sends the body.
func TestAGigabyteBodyIsRefusedBeforeItIsSent(t *testing.T) {
	s := startServer(t, t.TempDir(), true)
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /sendtrail.v1.PlanService/ImportPlan HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n{\"plan\":\"huge\",\"files\":[", s.Addr(), s.token, 1<<30)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a 1 GB request within 5 s: %v", err)
	}
	defer res.Body.Close()
	var body struct{ Code, Message string }
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusRequestEntityTooLarge || body.Code != "resource_exhausted" ||
		!strings.Contains(body.Message, "1073741824 bytes is over the limit of 33554432 bytes (32 MiB)") {
		t.Errorf("1 GB request: %d %+v", res.StatusCode, body)
	}
	t.Logf("refused a 1 GB request in %s, having sent %d bytes of it", time.Since(start).Round(time.Millisecond), len(`{"plan":"huge","files":[`))

	// Over gRPC there is no Content-Length: the message's length prefix
	// says 1 GiB; the server reads no more than its 32 MiB limit of it and
	// refuses it.
	pr, pw := io.Pipe()
	sent := make(chan int64, 1)
	go func() {
		var prefix [5]byte
		binary.BigEndian.PutUint32(prefix[1:], 1<<30)
		n, _ := pw.Write(prefix[:])
		chunk := make([]byte, 1<<16)
		total := int64(n)
		for total < 1<<30 {
			n, err := pw.Write(chunk)
			total += int64(n)
			if err != nil {
				break
			}
		}
		sent <- total
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL()+"/sendtrail.v1.PlanService/ImportPlan", pr)
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("Te", "trailers")
	req.Header.Set("Authorization", "Bearer "+s.token)
	hc := h2c()
	defer hc.CloseIdleConnections()
	gres, err := hc.Do(req)
	if err != nil {
		t.Fatalf("gRPC request with a 1 GiB message: %v", err)
	}
	io.Copy(io.Discard, gres.Body)
	gres.Body.Close()
	pr.CloseWithError(io.ErrClosedPipe)
	total := <-sent
	status := gres.Header.Get("Grpc-Status") + gres.Trailer.Get("Grpc-Status")
	msg := gres.Header.Get("Grpc-Message") + gres.Trailer.Get("Grpc-Message")
	if status != "8" { // RESOURCE_EXHAUSTED
		t.Errorf("gRPC 1 GiB message: grpc-status %q (%s), want 8 resource_exhausted", status, msg)
	}
	if total > 40<<20 {
		t.Errorf("the server took %d bytes of a 1 GiB gRPC message before refusing it", total)
	}
	t.Logf("refused a 1 GiB gRPC message after %d MiB: %s", total>>20, msg)
}

// largePlanFiles writes a plan of about size bytes: the demo plan's priorities,
// indicators and RAG scheme, and actions with long progress notes.
func largePlanFiles(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	files, err := demo.Files()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"priorities.csv", "kpis.csv", "rag-scheme.csv"} {
		if err := os.WriteFile(filepath.Join(dir, n), files[n], 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"Priority", "Ref", "Origin", "Action", "Lead", "Deadline", "RAG", "Success measures", "Progress to date", "Impact to date"})
	note := strings.Repeat("Sessions held with SENCOs across the area; attendance recorded; follow-up visits booked. ", 110) // ~10 kB
	for i := 0; b.Len() < size; i++ {
		w.Write([]string{"1. SEND Leadership, Management and Governance", fmt.Sprintf("1.%d", 100+i), "Load test",
			fmt.Sprintf("Action number %d of a large plan", i), "Jeanette Yorke – Early Years Operational Manager", "31/03/25", "",
			"Measured monthly", fmt.Sprintf("%d. %s", i, note), ""})
		w.Flush()
	}
	if err := os.WriteFile(filepath.Join(dir, "actions.csv"), b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestATenMegabyteImportWorksAndAnOversizedFileIsRefusedWithTheLimitNamed(t *testing.T) {
	s := startServer(t, t.TempDir(), false)
	dir := largePlanFiles(t, 10<<20)
	st, _ := os.Stat(filepath.Join(dir, "actions.csv"))
	tokenFile := filepath.Join(t.TempDir(), "admin.token")
	os.WriteFile(tokenFile, []byte(s.token), 0o600)

	start := time.Now()
	code, out, errOut := runCLI(t, "import", "--plan", "large-2024", "--title", "A large plan", "--server", s.URL(), "--token-file", tokenFile, dir)
	el := time.Since(start)
	if code != exitOK {
		t.Fatalf("import of %d bytes: exit %d\n%s%s", st.Size(), code, out, errOut)
	}
	var seq uint64
	if i := strings.LastIndex(out, "stream sequence "); i < 0 {
		t.Fatalf("import printed no sequence: %q", out)
	} else {
		fmt.Sscanf(out[i:], "stream sequence %d", &seq)
	}
	res, err := s.admin().GetPlan(context.Background(), connect.NewRequest(&pb.GetPlanRequest{Plan: "large-2024", MinSequence: seq}))
	if err != nil {
		t.Fatal(err)
	}
	n := res.Msg.GetPlan().GetActions()
	if n < 1000 {
		t.Fatalf("imported %d actions\n%s%s", n, out, errOut)
	}
	t.Logf("imported %d actions (actions.csv %.1f MB) through the CLI in %s", n, float64(st.Size())/1e6, el.Round(time.Millisecond))

	// One file over 20 MiB is refused by the CLI, naming the limit, before
	// anything is sent.
	huge := t.TempDir()
	f, err := os.Create(filepath.Join(huge, "actions.csv"))
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(21 << 20)
	f.Close()
	before := s.lastSequence()
	code, _, errOut = runCLI(t, "import", "--plan", "huge-2024", "--server", s.URL(), "--token-file", tokenFile, huge)
	if code != exitUsage || !strings.Contains(errOut, "at most 20971520 bytes (20 MiB)") {
		t.Errorf("a 21 MiB file: exit %d, %q", code, errOut)
	}
	// Files that fit one by one but not together in one request.
	both := t.TempDir()
	for _, n := range []string{"actions.csv", "kpis.csv"} {
		f, err := os.Create(filepath.Join(both, n))
		if err != nil {
			t.Fatal(err)
		}
		f.Truncate(16 << 20)
		f.Close()
	}
	code, _, errOut = runCLI(t, "import", "--plan", "huge-2024", "--server", s.URL(), "--token-file", tokenFile, both)
	if code != exitUsage || !strings.Contains(errOut, "at most 30 MiB of files together") {
		t.Errorf("2 × 16 MiB files: exit %d, %q", code, errOut)
	}
	if s.lastSequence() != before {
		t.Error("a refused import wrote events")
	}
}
