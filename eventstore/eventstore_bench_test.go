package eventstore

import (
	"bytes"
	"context"
	"strconv"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Run with e.g.
//
//	go test -run '^$' -bench . -benchtime=2000x ./eventstore/
//
// Each benchmark runs twice: with the embedded server's setting (every ack
// means fsynced) and with nats-server's default (fsync every 2 minutes), to
// show what durability costs.
var syncModes = []struct {
	name   string
	always bool
}{
	{"fsync=always", true},
	{"fsync=interval", false},
}

// payload is about the size of a protobuf event envelope.
var payload = bytes.Repeat([]byte("x"), 300)

func benchStore(b *testing.B, syncAlways bool) *Store {
	b.Helper()
	e, err := startEmbedded(EmbeddedConfig{Dir: b.TempDir()}, func(o *server.Options) { o.SyncAlways = syncAlways })
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(e.Shutdown)
	return openStore(b, connect(b, e))
}

// BenchmarkAppend is Store.Append, one at a time, each waiting for its ack:
// "hot" chains events on one aggregate, "spread" round-robins over 1000
// aggregates (the expectation then looks up a wildcard filter among many
// subjects).
func BenchmarkAppend(b *testing.B) {
	for _, mode := range syncModes {
		for _, aggs := range []int{1, 1000} {
			name := mode.name + "/hot"
			if aggs > 1 {
				name = mode.name + "/spread"
			}
			b.Run(name, func(b *testing.B) {
				st := benchStore(b, mode.always)
				ctx := context.Background()
				last := make([]uint64, aggs)
				i := 0
				for b.Loop() {
					agg := "agg" + strconv.Itoa(i%aggs)
					a, err := st.Append(ctx,
						Message{Subject: subject(agg, "kpi_value_recorded"), MsgID: "cmd-" + strconv.Itoa(i), Data: payload},
						Expect{Filter: filter(agg), Sequence: last[i%aggs]})
					if err != nil {
						b.Fatal(err)
					}
					last[i%aggs] = a.Sequence
					i++
				}
			})
		}
	}
}

// BenchmarkRawPublish is the raw limit under Append: a synchronous JetStream
// publish with the same headers (Nats-Msg-Id and the expected last sequence
// for the aggregate's filter), on one aggregate.
func BenchmarkRawPublish(b *testing.B) {
	for _, mode := range syncModes {
		b.Run(mode.name, func(b *testing.B) {
			st := benchStore(b, mode.always)
			js, err := jetstream.New(st.nc)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			var last uint64
			i := 0
			for b.Loop() {
				ack, err := js.PublishMsg(ctx,
					&nats.Msg{Subject: subject("raw", "kpi_value_recorded"), Data: payload},
					jetstream.WithMsgID("cmd-"+strconv.Itoa(i)),
					jetstream.WithExpectLastSequenceForSubject(last, filter("raw")))
				if err != nil {
					b.Fatal(err)
				}
				last = ack.Sequence
				i++
			}
		})
	}
}

// BenchmarkAppendAll is the bulk import path: b.N messages over 100
// aggregates in one call, in atomic batches of 1000 or pipelined; ns/op is
// per message.
func BenchmarkAppendAll(b *testing.B) {
	for _, mode := range syncModes {
		for _, atomic := range []bool{true, false} {
			name := mode.name + "/atomic"
			if !atomic {
				name = mode.name + "/pipelined"
			}
			b.Run(name, func(b *testing.B) {
				st := benchStore(b, mode.always)
				st.atomic = atomic
				msgs := make([]Message, b.N)
				exps := make([]Expect, b.N)
				for i := range msgs {
					agg := "agg" + strconv.Itoa(i%100)
					msgs[i] = Message{Subject: subject(agg, "kpi_value_recorded"), MsgID: "cmd-" + strconv.Itoa(i), Data: payload}
					exps[i] = Expect{Filter: filter(agg)}
				}
				b.ResetTimer()
				if _, err := st.AppendAll(context.Background(), msgs, exps); err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}

// BenchmarkLoad reads one aggregate's 10 events (what a command handler
// does before deciding) from streams where 1000 aggregates' events are
// interleaved, and the last event of one (what Append does on a refusal).
// JetStream indexes only the first and last message of each subject, so a
// filtered read walks the stream between an aggregate's first and last
// event: the cost grows with the stream, not with the aggregate.
func BenchmarkLoad(b *testing.B) {
	for _, perAgg := range []int{10, 50} {
		st := benchStore(b, false)
		msgs, exps := batch(1000, perAgg, "")
		if _, err := st.AppendAll(context.Background(), msgs, exps); err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		b.Run(idf("stream=%d/load", len(msgs)), func(b *testing.B) {
			i := 0
			for b.Loop() {
				got, err := st.Load(ctx, filter(idf("agg%03d", i%1000)), 0)
				if err != nil || len(got) != perAgg {
					b.Fatalf("Load: %d, %v", len(got), err)
				}
				i++
			}
		})
		b.Run(idf("stream=%d/last", len(msgs)), func(b *testing.B) {
			i := 0
			for b.Loop() {
				if _, err := st.Last(ctx, filter(idf("agg%03d", i%1000))); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
