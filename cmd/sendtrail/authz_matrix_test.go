package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/sendtrail/sendtrail/api"
	"github.com/sendtrail/sendtrail/domain"
	_ "github.com/sendtrail/sendtrail/gen/sendtrail/v1" // registers every sendtrail service's descriptors
)

// The authorization matrix: every RPC of every sendtrail service (read
// from the generated descriptors, so a new RPC is in it the day it is
// generated) × every role × the token's own plan and another plan, over
// real HTTP against the real server. An RPC without an access rule fails.

// roleSpec is what each role may do (DESIGN.md, Access), written out here
// a second time on purpose: a change to api's table must be made in both.
var roleSpec = map[domain.Role][]api.Permission{
	domain.RoleAdmin:     {api.PermRead, api.PermEdit, api.PermImport, api.PermManageTokens, api.PermExport, api.PermSubscribe, api.PermManageWebhooks},
	domain.RoleEditor:    {api.PermRead, api.PermEdit, api.PermExport},
	domain.RoleLead:      {api.PermRead, api.PermUpdateOwn},
	domain.RoleViewer:    {api.PermRead},
	domain.RoleInspector: {api.PermRead, api.PermExport},
	domain.RoleService:   {api.PermRead, api.PermSubscribe},
}

// known are the procedures this test knows: the permission each needs (and
// the one enough for an action the caller leads), and a request that
// succeeds for a caller allowed to make it. %P is the plan, %N a number
// unique to the call, %X that number as a token id. ok lists the codes other than success an allowed
// call may get (a repeated withdrawal, a revocation of no token).
type knownRPC struct {
	need, own api.Permission
	body      string
	ok        []connect.Code
}

var known = map[string]knownRPC{
	"/sendtrail.v1.PlanService/ImportPlan":       {need: api.PermImport, body: `{"plan":"%P","title":"t","dryRun":true}`, ok: []connect.Code{connect.CodeInvalidArgument}},
	"/sendtrail.v1.PlanService/AddAction":        {need: api.PermEdit, body: `{"plan":"%P","ref":"8.9%N","priority":"8","text":"Matrix action","leads":[{"name":"A Person"}],"deadline":"2025-03-31"}`},
	"/sendtrail.v1.PlanService/ChangeRag":        {need: api.PermEdit, own: api.PermUpdateOwn, body: `{"plan":"%P","ref":"3.4","rag":"A","commentary":"matrix"}`},
	"/sendtrail.v1.PlanService/MoveDeadline":     {need: api.PermEdit, body: `{"plan":"%P","ref":"3.4","deadline":"2025-01-31","reasonCategory":"capacity","reason":"matrix"}`},
	"/sendtrail.v1.PlanService/ReassignLeads":    {need: api.PermEdit, body: `{"plan":"%P","ref":"3.5","leads":[{"name":"Amanda Gridley"}],"reason":"matrix"}`},
	"/sendtrail.v1.PlanService/RecordProgress":   {need: api.PermEdit, own: api.PermUpdateOwn, body: `{"plan":"%P","ref":"3.4","text":"matrix progress %N"}`},
	"/sendtrail.v1.PlanService/RecordImpact":     {need: api.PermEdit, own: api.PermUpdateOwn, body: `{"plan":"%P","ref":"3.4","text":"matrix impact %N"}`},
	"/sendtrail.v1.PlanService/WithdrawAction":   {need: api.PermEdit, body: `{"plan":"%P","ref":"3.6","reason":"matrix"}`, ok: []connect.Code{connect.CodeFailedPrecondition}},
	"/sendtrail.v1.PlanService/ReinstateAction":  {need: api.PermEdit, body: `{"plan":"%P","ref":"3.6","reason":"matrix"}`, ok: []connect.Code{connect.CodeFailedPrecondition}},
	"/sendtrail.v1.PlanService/RecordKpiValue":   {need: api.PermEdit, body: `{"plan":"%P","indicator":"No. of complaints","period":"M%N","value":"%N"}`},
	"/sendtrail.v1.PlanService/CorrectKpiValue":  {need: api.PermEdit, body: `{"plan":"%P","indicator":"No. of complaints","period":"Jan-24","value":"%N","reason":"matrix"}`},
	"/sendtrail.v1.PlanService/GetPlan":          {need: api.PermRead, body: `{"plan":"%P"}`},
	"/sendtrail.v1.PlanService/ListActions":      {need: api.PermRead, body: `{"plan":"%P","priority":"3"}`},
	"/sendtrail.v1.PlanService/GetAction":        {need: api.PermRead, body: `{"plan":"%P","ref":"3.4"}`},
	"/sendtrail.v1.PlanService/GetActionHistory": {need: api.PermRead, body: `{"plan":"%P","ref":"3.4"}`},
	"/sendtrail.v1.PlanService/ListEvents":       {need: api.PermRead, body: `{"plan":"%P","pageSize":5}`},
	"/sendtrail.v1.PlanService/ListKpis":         {need: api.PermRead, body: `{"plan":"%P"}`},
	"/sendtrail.v1.TokenService/IssueToken":      {need: api.PermManageTokens, body: `{"plan":"%P","role":"viewer","name":"Matrix viewer %N"}`},
	"/sendtrail.v1.TokenService/ListTokens":      {need: api.PermManageTokens, body: `{"plan":"%P"}`},
	"/sendtrail.v1.TokenService/RevokeToken":     {need: api.PermManageTokens, body: `{"plan":"%P","tokenId":"%X"}`, ok: []connect.Code{connect.CodeNotFound}},
}

// rpcs returns every method of every sendtrail service linked into this
// binary, by procedure.
func rpcs(t *testing.T) map[string]protoreflect.MethodDescriptor {
	t.Helper()
	out := map[string]protoreflect.MethodDescriptor{}
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if !strings.HasPrefix(string(fd.Package()), "sendtrail.") {
			return true
		}
		for i := 0; i < fd.Services().Len(); i++ {
			sd := fd.Services().Get(i)
			for j := 0; j < sd.Methods().Len(); j++ {
				md := sd.Methods().Get(j)
				out["/"+string(sd.FullName())+"/"+string(md.Name())] = md
			}
		}
		return true
	})
	if len(out) < len(known) {
		t.Fatalf("found %d RPCs in the generated descriptors, fewer than the %d this test knows", len(out), len(known))
	}
	return out
}

// callRPC calls md at base with the JSON body, whatever the RPC's kind, as
// a client nobody here wrote would: dynamic messages built from the
// descriptor. A stream counts as answered at its first message.
func callRPC(ctx context.Context, hc *http.Client, base, token string, md protoreflect.MethodDescriptor, body string) error {
	in := dynamicpb.NewMessage(md.Input())
	if err := protojson.Unmarshal([]byte(body), in); err != nil {
		return fmt.Errorf("test request %s: %w", body, err)
	}
	procedure := "/" + string(md.Parent().FullName()) + "/" + string(md.Name())
	opts := []connect.ClientOption{connect.WithSchema(md),
		connect.WithResponseInitializer(func(_ connect.Spec, msg any) error {
			*(msg.(*dynamicpb.Message)) = *dynamicpb.NewMessage(md.Output())
			return nil
		})}
	if token != "" {
		opts = append(opts, connect.WithInterceptors(bearer(token)))
	}
	c := connect.NewClient[dynamicpb.Message, dynamicpb.Message](hc, base+procedure, opts...)
	switch {
	case md.IsStreamingClient() && md.IsStreamingServer():
		st := c.CallBidiStream(ctx)
		defer st.CloseResponse()
		if err := st.Send(in); err != nil {
			_, rerr := st.Receive()
			return rerr
		}
		_ = st.CloseRequest()
		_, err := st.Receive()
		return err
	case md.IsStreamingClient():
		st := c.CallClientStream(ctx)
		_ = st.Send(in)
		_, err := st.CloseAndReceive()
		return err
	case md.IsStreamingServer():
		st, err := c.CallServerStream(ctx, connect.NewRequest(in))
		if err != nil {
			return err
		}
		defer st.Close()
		if st.Receive() {
			return nil
		}
		return st.Err()
	default:
		_, err := c.CallUnary(ctx, connect.NewRequest(in))
		return err
	}
}

func has(ps []api.Permission, p api.Permission) bool { return p != "" && slices.Contains(ps, p) }

// minimalBody is a request for an RPC this test does not know: just the
// plan, when the request has a plan field.
func minimalBody(md protoreflect.MethodDescriptor) string {
	if f := md.Input().Fields().ByName("plan"); f != nil && f.Kind() == protoreflect.StringKind {
		return `{"plan":"%P"}`
	}
	return `{}`
}

func TestAuthorizationMatrix(t *testing.T) {
	s := startServer(t, t.TempDir(), true)
	const otherPlan = "other-area-2024"
	s.importDemoAs(otherPlan)

	// The role table is the one this test states.
	for role, want := range roleSpec {
		got := api.RolePermissions(role)
		slices.Sort(got)
		w := slices.Clone(want)
		slices.Sort(w)
		if !slices.Equal(got, w) {
			t.Errorf("role %s has permissions %v, DESIGN.md says %v", role, got, w)
		}
	}

	type principal struct {
		label string
		role  domain.Role
		plan  string // the token's plan
		token string
	}
	var ps []principal
	for _, role := range []domain.Role{domain.RoleAdmin, domain.RoleEditor, domain.RoleLead, domain.RoleViewer, domain.RoleInspector, domain.RoleService} {
		lead := ""
		if role == domain.RoleLead {
			lead = leadName
		}
		ps = append(ps, principal{string(role), role, ownPlan, s.issue(ownPlan, string(role), "Matrix "+string(role), lead)})
	}
	ps = append(ps, principal{"admin of every plan", domain.RoleAdmin, "*", s.token})

	all := rpcs(t)
	procs := make([]string, 0, len(all))
	for p := range all {
		procs = append(procs, p)
	}
	sort.Strings(procs)

	type cell struct {
		who     principal
		proc    string
		md      protoreflect.MethodDescriptor
		plan    string
		body    string
		allowed bool
		need    api.Permission
		k       *knownRPC
	}
	var cells []cell
	n := 0
	for _, proc := range procs {
		md := all[proc]
		need, own, ok := api.RuleOf(proc)
		if !ok {
			t.Errorf("%s has no access rule: register its service with registerService and rules for every procedure", proc)
			continue
		}
		var k *knownRPC
		if kr, isKnown := known[proc]; isKnown {
			k = &kr
			if need != kr.need || own != kr.own {
				t.Errorf("%s requires %q (own action: %q), want %q (%q)", proc, need, own, kr.need, kr.own)
			}
			need, own = kr.need, kr.own // expect what the spec says
		}
		planned := md.Input().Fields().ByName("plan") != nil
		for _, who := range ps {
			for _, plan := range []string{ownPlan, otherPlan} {
				n++
				body := minimalBody(md)
				if k != nil {
					body = k.body
				}
				body = strings.NewReplacer("%P", plan, "%N", fmt.Sprint(n), "%X", fmt.Sprintf("%016x", n)).Replace(body)
				perms := roleSpec[who.role]
				allowed := (has(perms, need) || has(perms, own)) && (who.plan == "*" || (planned && who.plan == plan))
				cells = append(cells, cell{who, proc, md, plan, body, allowed, need, k})
			}
		}
	}
	for proc := range known {
		if _, ok := all[proc]; !ok {
			t.Errorf("%s is gone from the generated code: remove it from this test", proc)
		}
	}

	check := func(c cell, err error) {
		t.Helper()
		name := fmt.Sprintf("%s as %s on %s", c.proc, c.who.label, c.plan)
		code := connect.CodeOf(err)
		if !c.allowed {
			if err == nil || code != connect.CodePermissionDenied {
				t.Errorf("%s: want permission_denied, got %v", name, err)
				return
			}
			if !strings.Contains(err.Error(), "missing permission "+string(c.need)) {
				t.Errorf("%s: the refusal %q does not name the missing permission %s", name, err, c.need)
			}
			return
		}
		switch {
		case err == nil:
		case code == connect.CodePermissionDenied, code == connect.CodeUnauthenticated, code == connect.CodeUnimplemented,
			code == connect.CodeInternal, code == connect.CodeUnknown:
			t.Errorf("%s: want it allowed, got %v", name, err)
		case c.k != nil && !slices.Contains(c.k.ok, code):
			t.Errorf("%s: want success, got %v", name, err)
		}
	}
	hc := &http.Client{}
	call := func(c cell) error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		err := callRPC(ctx, hc, s.URL(), c.who.token, c.md, c.body)
		if c.md.IsStreamingServer() && (connect.CodeOf(err) == connect.CodeDeadlineExceeded || connect.CodeOf(err) == connect.CodeCanceled) {
			return nil // an open subscription with nothing yet to say: admitted
		}
		return err
	}

	// Refusals first, all at once: together they write nothing.
	before := s.lastSequence()
	var wg sync.WaitGroup
	var mu sync.Mutex
	denied, allowed := 0, 0
	for _, c := range cells {
		if c.allowed {
			continue
		}
		denied++
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := call(c)
			mu.Lock()
			defer mu.Unlock()
			check(c, err)
		}()
	}
	wg.Wait()
	if after := s.lastSequence(); after != before {
		t.Errorf("refused requests wrote %d events", after-before)
	}
	// Then what is allowed, one at a time, so that each known request
	// succeeds on the state the previous left.
	for _, c := range cells {
		if c.allowed {
			allowed++
			check(c, call(c))
		}
	}
	t.Logf("%d RPCs in %d services: %d calls refused, %d allowed", len(procs), countServices(procs), denied, allowed)

	// Without a token every RPC is unauthenticated. Each call comes from
	// its own loopback address, so that the slow-down of repeated failures
	// from one address does not apply.
	if runtime.GOOS != "linux" {
		t.Log("the unauthenticated column needs the 127/8 loopback addresses of Linux; skipped")
		return
	}
	for i, proc := range procs {
		md := all[proc]
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 1, byte(i/250), byte(1+i%250))}}
		anon := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := callRPC(ctx, anon, s.URL(), "", md, strings.ReplaceAll(minimalBody(md), "%P", ownPlan))
		cancel()
		anon.CloseIdleConnections()
		if connect.CodeOf(err) != connect.CodeUnauthenticated {
			t.Errorf("%s without a token: want unauthenticated, got %v", proc, err)
		}
	}
}

func countServices(procs []string) int {
	seen := map[string]bool{}
	for _, p := range procs {
		seen[strings.Split(p, "/")[1]] = true
	}
	return len(seen)
}
