package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sendtrail/sendtrail/commands"
	"github.com/sendtrail/sendtrail/demo"
	"github.com/sendtrail/sendtrail/domain"
	"github.com/sendtrail/sendtrail/eventpb"
	"github.com/sendtrail/sendtrail/eventstore"
	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
	"github.com/sendtrail/sendtrail/gen/sendtrail/v1/sendtrailv1connect"
	"github.com/sendtrail/sendtrail/importer"
	"github.com/sendtrail/sendtrail/projections"
	"github.com/sendtrail/sendtrail/projector"
)

func init() {
	register("bench", "measure sendtrail against the raw limits of JetStream and SQLite; prints one JSON object", runBench)
}

// benchFunc measures one capability; dir is a scratch directory and events
// the size of the large data set (1,000,000 by default).
type benchFunc func(ctx context.Context, dir string, events int) (any, error)

var benches = map[string]benchFunc{}

// registerBench adds a named section to the bench command's output.
func registerBench(name string, f benchFunc) { benches[name] = f }

type latency struct {
	PerSec float64 `json:"per_sec"`
	Ratio  float64 `json:"ratio_to_raw"`
	P50ms  float64 `json:"p50_ms"`
	P99ms  float64 `json:"p99_ms"`
	N      int     `json:"n"`
}

func measure(n int, raw float64, f func(i int) error) (latency, error) {
	lat := make([]time.Duration, n)
	start := time.Now()
	for i := 0; i < n; i++ {
		t := time.Now()
		if err := f(i); err != nil {
			return latency{}, err
		}
		lat[i] = time.Since(t)
	}
	el := time.Since(start)
	slices.Sort(lat)
	l := latency{PerSec: float64(n) / el.Seconds(), N: n,
		P50ms: ms(lat[n/2]), P99ms: ms(lat[min(n-1, n*99/100)])}
	if raw > 0 {
		l.Ratio = round(l.PerSec / raw)
	}
	l.PerSec = round(l.PerSec)
	return l, nil
}

func ms(d time.Duration) float64 { return round(float64(d.Microseconds()) / 1000) }

func round(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var n, events, projN int
	var dir string
	var only string
	fs := newFlagSet("bench", "bench [--commands N] [--events N] [--projection N] [--only NAME,…] [--dir DIR]",
		"sendtrail bench --commands 2000 --events 1000000", stderr)
	fs.IntVar(&n, "commands", 2000, "commands to time through the store and through the API")
	fs.IntVar(&events, "events", 1000000, "events in the rebuild (and the reports and evidence data sets)")
	fs.IntVar(&projN, "projection", 100000, "events to time through the projector")
	fs.StringVar(&only, "only", "", "comma-separated sections to run (raw,commands,api,import,projection,rebuild and the registered ones); default all")
	fs.StringVar(&dir, "dir", "", "scratch directory (default: a temporary one, removed afterwards)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || n < 10 || events < 1000 || projN < 1000 {
		return usagef("bench: --commands ≥ 10, --events ≥ 1000, --projection ≥ 1000, no arguments")
	}
	if dir == "" {
		dir, err = os.MkdirTemp("", "sendtrail-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	want := func(name string) bool {
		if only == "" {
			return true
		}
		for _, s := range splitList(only) {
			if s == name {
				return true
			}
		}
		return false
	}
	out := map[string]any{
		"machine": map[string]any{"cpus": runtime.NumCPU(), "go": runtime.Version(), "os": runtime.GOOS + "/" + runtime.GOARCH},
		"notes": "ratios compare with raw limits measured in this same run: sync JetStream publish with the same headers " +
			"(Nats-Msg-Id and expected last subject sequence, SyncAlways) and batched SQLite insert+upsert",
	}
	progress := func(format string, a ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", a...) }

	m := NewMain(io.Discard, io.Discard)
	m.DataDir, m.Listen, m.Demo = filepath.Join(dir, "server"), "127.0.0.1:0", true
	if err := m.Run(ctx); err != nil {
		return err
	}
	defer m.Close()

	var rawPub float64
	if want("raw") || want("commands") || want("api") || want("import") {
		progress("raw JetStream publish, %d messages", n)
		r, err := rawPublish(ctx, m.nc, n)
		if err != nil {
			return fmt.Errorf("raw publish: %w", err)
		}
		rawPub = r.PerSec
		out["raw_jetstream_publish"] = r
	}
	if want("commands") {
		progress("commands through domain and store, %d", n)
		refs := demoRefs()
		l, err := measure(n, rawPub, func(i int) error {
			_, err := m.Commands.Execute(ctx, commands.ActionTarget(demo.Slug, refs[i%len(refs)]),
				domain.RecordProgress{Text: fmt.Sprintf("bench progress %d", i)}, commands.Meta{Actor: systemActor})
			return err
		})
		if err != nil {
			return fmt.Errorf("commands: %w", err)
		}
		out["commands_store"] = l
	}
	if want("api") {
		progress("commands through the Connect API, %d", n)
		tok, err := os.ReadFile(m.AdminTokenPath())
		if err != nil {
			return err
		}
		c := sendtrailv1connect.NewPlanServiceClient(http.DefaultClient, m.URL(), connect.WithInterceptors(bearer(trimToken(tok))))
		refs := demoRefs()
		l, err := measure(n, rawPub, func(i int) error {
			_, err := c.RecordProgress(ctx, connect.NewRequest(&pb.RecordProgressRequest{Plan: demo.Slug, Ref: refs[i%len(refs)], Text: fmt.Sprintf("api progress %d", i)}))
			return err
		})
		if err != nil {
			return fmt.Errorf("api: %w", err)
		}
		out["commands_api"] = l
	}
	if want("import") {
		progress("bulk import of the BCP plan")
		r, err := benchImport(ctx, m, rawPub)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		out["import_bulk"] = r
	}
	m.Close()

	var rawSQL float64
	if want("projection") {
		progress("raw SQLite insert+upsert and the projector, %d events", projN)
		if rawSQL, err = projections.BenchRaw(dir, projN); err != nil {
			return fmt.Errorf("raw sqlite: %w", err)
		}
		apply, err := projections.BenchApply(dir, projN)
		if err != nil {
			return fmt.Errorf("projection: %w", err)
		}
		out["raw_sqlite_insert_upsert"] = map[string]any{"per_sec": round(rawSQL), "n": projN}
		out["projection"] = map[string]any{"events_per_sec": round(apply), "ratio_to_raw": round(apply / rawSQL), "n": projN}
	}
	if want("rebuild") {
		progress("rebuild of %d events (writing them to a stream first)", events)
		r, err := benchRebuild(ctx, filepath.Join(dir, "rebuild"), events, progress)
		if err != nil {
			return fmt.Errorf("rebuild: %w", err)
		}
		out["rebuild"] = r
	}
	names := make([]string, 0, len(benches))
	for name := range benches {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !want(name) {
			continue
		}
		progress("%s, %d events", name, events)
		sub := filepath.Join(dir, name)
		if err := os.MkdirAll(sub, 0o700); err != nil {
			return err
		}
		r, err := benches[name](ctx, sub, events)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		out[name] = r
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func trimToken(b []byte) string { return strings.TrimSpace(string(b)) }

func demoRefs() []string {
	files, _ := demo.Files()
	p, err := importer.ReadFiles(files, importer.Options{Slug: demo.Slug, Title: demo.Title, AcceptFlagged: true})
	if err != nil {
		return []string{"1.1"}
	}
	refs := make([]string, len(p.Actions))
	for i, a := range p.Actions {
		refs[i] = a.Ref
	}
	return refs
}

// rawPublish is the raw limit: synchronous JetStream publishes on the same
// server (SyncAlways), to a stream configured like SENDTRAIL, with the same
// headers sendtrail sends (Nats-Msg-Id and the expected last sequence of
// the aggregate's subject filter), and payloads of a real event's size.
func rawPublish(ctx context.Context, nc *nats.Conn, n int) (latency, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return latency{}, err
	}
	_, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: "BENCHRAW", Subjects: []string{"benchraw.>"}, Storage: jetstream.FileStorage, Duplicates: 24 * time.Hour,
		MaxMsgs: -1, MaxBytes: -1, DenyDelete: true, DenyPurge: true, AllowDirect: true,
	})
	if err != nil {
		return latency{}, err
	}
	payload, err := eventpb.Marshal(domain.Envelope{EventID: "0193e3b2-0000-7000-8000-000000000000", Plan: "bcp-2023-26",
		AggregateType: domain.AggAction, AggregateID: domain.ActionID("bcp-2023-26", "3.4"), OccurredAt: time.Now(), RecordedAt: time.Now(),
		Actor: systemActor, CorrelationID: "0193e3b2-0000-7000-8000-000000000001", SchemaVersion: 1,
		Event: domain.ProgressRecorded{Before: strings.Repeat("p", 100), Text: strings.Repeat("q", 120)}})
	if err != nil {
		return latency{}, err
	}
	const aggregates = 100
	last := make([]uint64, aggregates)
	return measure(n, 0, func(i int) error {
		a := i % aggregates
		msg := &nats.Msg{Subject: fmt.Sprintf("benchraw.plan.action.%d.progress_recorded", a), Data: payload, Header: nats.Header{}}
		msg.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("raw-%d", i))
		ack, err := js.PublishMsg(ctx, msg, jetstream.WithExpectLastSequenceForSubject(last[a], fmt.Sprintf("benchraw.plan.action.%d.>", a)))
		if err != nil {
			return err
		}
		last[a] = ack.Sequence
		return nil
	})
}

func benchImport(ctx context.Context, m *Main, rawPub float64) (map[string]any, error) {
	files, err := demo.Files()
	if err != nil {
		return nil, err
	}
	p, err := importer.ReadFiles(files, importer.Options{Slug: "bench-import", Title: "Bench import", AcceptFlagged: true})
	if err != nil {
		return nil, err
	}
	start := time.Now()
	res, err := m.Commands.Import(ctx, p, commands.Meta{Actor: systemActor})
	if err != nil {
		return nil, err
	}
	el := time.Since(start)
	perSec := float64(res.Appended) / el.Seconds()
	return map[string]any{"events": res.Appended, "seconds": round(el.Seconds()), "events_per_sec": round(perSec),
		"ratio_to_raw": round(perSec / rawPub),
		"note":         "atomic batch publishes: one fsync covers a batch, so bulk import exceeds one-at-a-time publishing"}, nil
}

// benchRebuild writes n events to a fresh stream (in atomic batches) and
// times a rebuild of the read model from it, against the raw SQLite limit
// for the same events.
func benchRebuild(ctx context.Context, dir string, n int, progress func(string, ...any)) (map[string]any, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	events, err := projections.BenchEvents(n)
	if err != nil {
		return nil, err
	}
	emb, err := eventstore.StartEmbedded(eventstore.EmbeddedConfig{Dir: filepath.Join(dir, "nats")})
	if err != nil {
		return nil, err
	}
	defer emb.Shutdown()
	nc, err := emb.Connect()
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	store, err := eventstore.Open(ctx, nc, eventstore.Config{})
	if err != nil {
		return nil, err
	}
	const chunk = 10000
	wstart := time.Now()
	for i := 0; i < len(events); i += chunk {
		part := events[i:min(i+chunk, len(events))]
		msgs := make([]eventstore.Message, len(part))
		exps := make([]eventstore.Expect, len(part))
		for j, e := range part {
			msgs[j] = eventstore.Message{Subject: e.Subject, MsgID: e.Envelope.EventID, Data: e.Raw}
		}
		if _, err := store.AppendAll(ctx, msgs, exps); err != nil {
			return nil, err
		}
	}
	write := time.Since(wstart)
	progress("wrote %d events in %s; rebuilding", n, write.Round(time.Millisecond))
	events = nil
	runtime.GC()

	db, err := projections.Open(filepath.Join(dir, "rebuilt.db"))
	if err != nil {
		return nil, err
	}
	start := time.Now()
	got, err := projector.CatchUp(ctx, store, db)
	el := time.Since(start)
	db.Close()
	if err != nil {
		return nil, err
	}
	progress("rebuilt %d events in %s; measuring raw SQLite for the same events", got, el.Round(time.Millisecond))
	raw, err := projections.BenchRaw(dir, n)
	if err != nil {
		return nil, err
	}
	perSec := float64(got) / el.Seconds()
	return map[string]any{"events": got, "seconds": round(el.Seconds()), "events_per_sec": round(perSec),
		"raw_sqlite_per_sec": round(raw), "ratio_to_raw": round(perSec / raw),
		"stream_write_events_per_sec": round(float64(n) / write.Seconds())}, nil
}
