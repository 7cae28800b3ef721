package evidence

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sendtrail/sendtrail/domain"
	"github.com/sendtrail/sendtrail/projections"
)

// Bench measures evidence export and verification of one plan of n events
// (projections.BenchEvents: a plan in use, with RAG changes, deadline
// moves, lead changes, KPI values and corrections): events per second and
// memory. It builds a read model with the evidence extension in dir first.
//
// Memory is measured per phase: the Go heap is returned to the OS before
// the phase and the kernel's peak-RSS counter (VmHWM) is reset
// (/proc/self/clear_refs), so peak_rss_mb is the whole process's peak
// during that phase alone (the Go runtime and SQLite's page cache
// included). heap_peak_mb samples the Go heap every 10 ms.
func Bench(ctx context.Context, dir string, n int) (map[string]any, error) {
	key, err := GenerateKey()
	if err != nil {
		return nil, err
	}
	dbPath := filepath.Join(dir, "evidence-bench.db")
	for _, s := range []string{"", "-wal", "-shm"} {
		os.Remove(dbPath + s)
	}
	db, err := projections.Open(dbPath, projections.WithExtension(NewExtension(key)))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	events, err := projections.BenchEvents(n)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	for i := 0; i < len(events); i += projections.BenchBatch {
		if err := db.Apply(ctx, events[i:min(i+projections.BenchBatch, len(events))]); err != nil {
			return nil, err
		}
	}
	applied := time.Since(start)
	plan := events[0].Envelope.Plan
	events = nil

	x := &Exporter{DB: db.Reader(), Key: key, TempDir: dir}
	path := filepath.Join(dir, "evidence-bench.zip")
	var size uint64
	exp, err := measurePhase(func() error {
		p, err := x.Prepare(ctx, Request{Plan: plan, By: domain.Actor{ID: "bench", DisplayName: "Bench", Role: domain.RoleInspector}})
		if err != nil {
			return err
		}
		size = p.Size()
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		w := bufio.NewWriterSize(f, 1<<20)
		if err := p.WriteTo(ctx, w); err != nil {
			f.Close()
			return err
		}
		if err := w.Flush(); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	})
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	var verdict *Verdict
	ver, err := measurePhase(func() error {
		var err error
		verdict, err = Verify(ctx, path, VerifyOptions{Key: key.Public, TempDir: dir})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	os.Remove(path)
	exp["events_per_sec"] = round1(float64(size) / exp["seconds"].(float64))
	ver["events_per_sec"] = round1(float64(verdict.Size) / ver["seconds"].(float64))
	return map[string]any{
		"events":                        size,
		"bundle_mb":                     round1(float64(st.Size()) / (1 << 20)),
		"read_model_apply_events_per_s": round1(float64(n) / applied.Seconds()),
		"export":                        exp,
		"verify":                        ver,
		"load_average_after":            loadAverage(),
		"notes": "one plan of BenchEvents; export streams from the read model in pages of 1000 and spools history rows to disk; " +
			"verify re-derives the plan and every spreadsheet row; the workbook is cut at 1,000,000 rows a sheet (the CSVs have all). " +
			"peak_rss_mb is the process's peak RSS during the phase alone (VmHWM reset before it), heap_peak_mb the Go heap sampled every 10 ms",
	}, nil
}

// measurePhase runs f and returns its seconds and memory peaks.
func measurePhase(f func() error) (map[string]any, error) {
	runtime.GC()
	debug.FreeOSMemory()
	reset := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	base := procStatusKB("VmRSS")
	var (
		mu       sync.Mutex
		heapPeak uint64
		rssPeak  int64
		stop     = make(chan struct{})
		done     = make(chan struct{})
	)
	sample := func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		metrics.Read(s)
		rss := procStatusKB("VmRSS")
		mu.Lock()
		heapPeak = max(heapPeak, s[0].Value.Uint64())
		rssPeak = max(rssPeak, rss)
		mu.Unlock()
	}
	go func() {
		defer close(done)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			sample()
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	cpu0 := cpuSeconds()
	start := time.Now()
	err := f()
	el := time.Since(start)
	cpu := cpuSeconds() - cpu0
	close(stop)
	<-done
	sample()
	out := map[string]any{
		"seconds":          round1(el.Seconds()),
		"cpu_seconds":      round1(cpu),
		"heap_peak_mb":     round1(float64(heapPeak) / (1 << 20)),
		"rss_at_start_mb":  round1(float64(base) / 1024),
		"rss_sampled_peak": round1(float64(rssPeak) / 1024),
	}
	if reset {
		out["peak_rss_mb"] = round1(float64(procStatusKB("VmHWM")) / 1024)
	} else {
		out["peak_rss_mb"] = out["rss_sampled_peak"]
		out["peak_rss_note"] = "VmHWM could not be reset: sampled every 10 ms"
	}
	return out, err
}

// loadAverage is the 1-minute load average ("" if unknown).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	return strings.Fields(string(b))[0]
}

// procStatusKB reads a "kB" line of /proc/self/status (0 if none).
func procStatusKB(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }
