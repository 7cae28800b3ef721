package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"connectrpc.com/connect"

	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
	"github.com/sendtrail/sendtrail/gen/sendtrail/v1/sendtrailv1connect"
)

// Clients nobody here wrote: grpcurl over gRPC with server reflection, and
// the generated Go client over gRPC and gRPC-Web. (curl over the Connect
// protocol is in api_test.go and access_test.go.)

// grpcurlVersion is the grpcurl the README shows; the Go module proxy
// serves it.
const grpcurlVersion = "v1.9.4"

var (
	grpcurlOnce sync.Once
	grpcurlPath string
	grpcurlErr  error
)

// grpcurl installs grpcurl once per test binary (go install, from the Go
// module proxy) and runs it.
func grpcurl(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	grpcurlOnce.Do(func() {
		// Kept between runs: installing is a download and a build.
		dir := filepath.Join(os.TempDir(), "sendtrail-test-grpcurl-"+grpcurlVersion)
		grpcurlPath = filepath.Join(dir, "grpcurl")
		if _, err := os.Stat(grpcurlPath); err == nil {
			return
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			grpcurlErr = err
			return
		}
		cmd := exec.Command("go", "install", "github.com/fullstorydev/grpcurl/cmd/grpcurl@"+grpcurlVersion)
		cmd.Dir = dir
		cmd.Env = append(cmd.Environ(), "GOBIN="+dir, "GOFLAGS=")
		if out, err := cmd.CombinedOutput(); err != nil {
			grpcurlErr = &installError{err: err, out: string(out)}
			return
		}
	})
	if grpcurlErr != nil {
		t.Fatalf("go install grpcurl@%s (needs the Go module proxy or a module cache that has it): %v", grpcurlVersion, grpcurlErr)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(grpcurlPath, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

type installError struct {
	err error
	out string
}

func (e *installError) Error() string { return e.err.Error() + ": " + e.out }

func TestGrpcurlListsTheServicesAndCallsGetAction(t *testing.T) {
	s := startServer(t, t.TempDir(), true)
	addr := s.Addr()

	out, errOut, err := grpcurl(t, "-plaintext", addr, "list")
	if err != nil {
		t.Fatalf("grpcurl list: %v\n%s", err, errOut)
	}
	for _, svc := range []string{sendtrailv1connect.PlanServiceName, sendtrailv1connect.TokenServiceName} {
		if !strings.Contains(out, svc+"\n") {
			t.Errorf("grpcurl list does not show %s:\n%s", svc, out)
		}
	}
	out, errOut, err = grpcurl(t, "-plaintext", addr, "describe", "sendtrail.v1.PlanService.GetAction")
	if err != nil || !strings.Contains(out, "rpc GetAction ( .sendtrail.v1.GetActionRequest ) returns ( .sendtrail.v1.GetActionResponse )") {
		t.Errorf("grpcurl describe: %v\n%s%s", err, out, errOut)
	}

	out, errOut, err = grpcurl(t, "-plaintext", "-H", "authorization: Bearer "+s.token,
		"-d", `{"plan":"bcp-2023-26","ref":"3.4"}`, addr, "sendtrail.v1.PlanService/GetAction")
	if err != nil {
		t.Fatalf("grpcurl GetAction: %v\n%s", err, errOut)
	}
	var got struct {
		Action struct {
			Ref   string `json:"ref"`
			Leads []struct {
				Name string `json:"name"`
			} `json:"leads"`
		} `json:"action"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("grpcurl GetAction printed %q: %v", out, err)
	}
	if got.Action.Ref != "3.4" || len(got.Action.Leads) != 2 || got.Action.Leads[1].Name != leadName {
		t.Errorf("grpcurl GetAction: %+v", got)
	}

	// Refusals come back as gRPC status codes.
	_, errOut, err = grpcurl(t, "-plaintext", "-d", `{"plan":"bcp-2023-26","ref":"3.4"}`, addr, "sendtrail.v1.PlanService/GetAction")
	if err == nil || !strings.Contains(errOut, "Code: Unauthenticated") {
		t.Errorf("grpcurl without a token: %v %s", err, errOut)
	}
	viewer := s.issue(ownPlan, "viewer", "Board", "")
	_, errOut, err = grpcurl(t, "-plaintext", "-H", "authorization: Bearer "+viewer,
		"-d", `{"plan":"bcp-2023-26","ref":"3.4","rag":"R"}`, addr, "sendtrail.v1.PlanService/ChangeRag")
	if err == nil || !strings.Contains(errOut, "Code: PermissionDenied") || !strings.Contains(errOut, "missing permission plan.edit") {
		t.Errorf("grpcurl ChangeRag as a viewer: %v %s", err, errOut)
	}

	// The gRPC health service.
	out, errOut, err = grpcurl(t, "-plaintext", addr, "grpc.health.v1.Health/Check")
	if err != nil || !strings.Contains(out, `"status": "SERVING"`) {
		t.Errorf("grpcurl health check: %v\n%s%s", err, out, errOut)
	}
	out, errOut, err = grpcurl(t, "-plaintext", "-d", `{"service":"sendtrail.v1.PlanService"}`, addr, "grpc.health.v1.Health/Check")
	if err != nil || !strings.Contains(out, `"status": "SERVING"`) {
		t.Errorf("grpcurl health check of PlanService: %v\n%s%s", err, out, errOut)
	}
}

// h2c is an HTTP client speaking HTTP/2 without TLS, as gRPC clients do on
// a trusted network.
func h2c() *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: &p}}
}

func TestGeneratedClientOverGRPCAndGRPCWeb(t *testing.T) {
	s := startServer(t, t.TempDir(), true)
	ctx := context.Background()
	viewer := s.issue(ownPlan, "viewer", "Board", "")
	grpcClient := h2c()
	t.Cleanup(grpcClient.CloseIdleConnections) // before the server closes
	for _, c := range []struct {
		name string
		hc   *http.Client
		opt  connect.ClientOption
	}{
		{"gRPC", grpcClient, connect.WithGRPC()},
		{"gRPC-Web", http.DefaultClient, connect.WithGRPCWeb()},
	} {
		t.Run(c.name, func(t *testing.T) {
			client := func(tok string) sendtrailv1connect.PlanServiceClient {
				return sendtrailv1connect.NewPlanServiceClient(c.hc, s.URL(), c.opt, connect.WithInterceptors(bearer(tok)))
			}
			r, err := client(s.token).ChangeRag(ctx, connect.NewRequest(&pb.ChangeRagRequest{Plan: ownPlan, Ref: "2.1", Rag: "P", Commentary: "via " + c.name}))
			if err != nil {
				t.Fatal(err)
			}
			a, err := client(viewer).GetAction(ctx, connect.NewRequest(&pb.GetActionRequest{Plan: ownPlan, Ref: "2.1", MinSequence: r.Msg.GetResult().GetSequence()}))
			if err != nil {
				t.Fatal(err)
			}
			if a.Msg.GetAction().GetRag() != "P" || a.Msg.GetAction().GetVersion() != r.Msg.GetResult().GetVersion() {
				t.Errorf("read back rag %q version %d, want P version %d", a.Msg.GetAction().GetRag(), a.Msg.GetAction().GetVersion(), r.Msg.GetResult().GetVersion())
			}
			_, err = client(viewer).ChangeRag(ctx, connect.NewRequest(&pb.ChangeRagRequest{Plan: ownPlan, Ref: "2.1", Rag: "R"}))
			wantCode(t, err, connect.CodePermissionDenied, "missing permission plan.edit")
			_, err = client("").GetPlan(ctx, connect.NewRequest(&pb.GetPlanRequest{Plan: ownPlan}))
			wantCode(t, err, connect.CodeUnauthenticated, "")
			// A stale write's current version travels in the trailers.
			stale := uint64(1)
			_, err = client(s.token).ChangeRag(ctx, connect.NewRequest(&pb.ChangeRagRequest{Plan: ownPlan, Ref: "2.1", Rag: "R",
				Options: &pb.CommandOptions{ExpectedVersion: &stale}}))
			wantCode(t, err, connect.CodeAborted, "changed since you read it")
			var ce *connect.Error
			if !errors.As(err, &ce) || ce.Meta().Get("Sendtrail-Current-Version") != fmt.Sprint(r.Msg.GetResult().GetVersion()) {
				t.Errorf("the conflict does not carry the current version %d: %v", r.Msg.GetResult().GetVersion(), ce.Meta())
			}
			tc := sendtrailv1connect.NewTokenServiceClient(c.hc, s.URL(), c.opt, connect.WithInterceptors(bearer(s.token)))
			l, err := tc.ListTokens(ctx, connect.NewRequest(&pb.ListTokensRequest{Plan: ownPlan}))
			if err != nil || len(l.Msg.GetTokens()) != 1 {
				t.Errorf("ListTokens: %v %v", l, err)
			}
		})
	}
}
