package evidence

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/sendtrail/sendtrail/domain"
	"github.com/sendtrail/sendtrail/eventpb"
	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
)

// eventLine is one line of events.jsonl: the leaf's position, the exact
// stored bytes (raw, base64: what the Merkle tree hashes) and, for
// reading, the same event's fields decoded. The verifier decodes raw
// itself and checks the decoded fields say the same.
type eventLine struct {
	Leaf          uint64          `json:"leaf"`
	Sequence      uint64          `json:"sequence"`
	EventID       string          `json:"event_id"`
	Type          string          `json:"type"`
	Plan          string          `json:"plan"`
	AggregateType string          `json:"aggregate_type"`
	AggregateID   string          `json:"aggregate_id"`
	OccurredAt    string          `json:"occurred_at"`
	RecordedAt    string          `json:"recorded_at"`
	Actor         lineActor       `json:"actor"`
	CorrelationID string          `json:"correlation_id"`
	SchemaVersion uint32          `json:"schema_version"`
	Data          json.RawMessage `json:"data"`
	Raw           string          `json:"raw"`
}

type lineActor struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
}

var payloadJSON = protojson.MarshalOptions{UseProtoNames: true}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// decoder turns stored bytes into the domain envelope and the
// events.jsonl line, reusing its buffers.
type decoder struct {
	m   pb.Envelope
	buf bytes.Buffer
	enc *json.Encoder
}

func newDecoder() *decoder {
	d := &decoder{}
	d.enc = json.NewEncoder(&d.buf)
	d.enc.SetEscapeHTML(false)
	return d
}

// decode returns the event at leaf and its events.jsonl line (ending in
// "\n"; valid until the next call).
func (d *decoder) decode(leaf, seq uint64, raw []byte) (domain.Envelope, []byte, error) {
	d.m.Reset()
	if err := proto.Unmarshal(raw, &d.m); err != nil {
		return domain.Envelope{}, nil, fmt.Errorf("event at sequence %d: %w", seq, err)
	}
	env, err := eventpb.FromProto(&d.m)
	if err != nil {
		return domain.Envelope{}, nil, fmt.Errorf("event at sequence %d: %w", seq, err)
	}
	env.Sequence = seq
	data := json.RawMessage("null")
	if of := d.m.ProtoReflect().Descriptor().Oneofs().ByName("payload"); of != nil {
		if fd := d.m.ProtoReflect().WhichOneof(of); fd != nil {
			b, err := payloadJSON.Marshal(d.m.ProtoReflect().Get(fd).Message().Interface())
			if err != nil {
				return domain.Envelope{}, nil, fmt.Errorf("event at sequence %d: %w", seq, err)
			}
			var c bytes.Buffer
			if err := json.Compact(&c, b); err != nil { // protojson's spacing varies on purpose
				return domain.Envelope{}, nil, err
			}
			data = c.Bytes()
		}
	}
	line := eventLine{
		Leaf: leaf, Sequence: seq, EventID: d.m.GetEventId(), Type: d.m.GetType(), Plan: d.m.GetPlan(),
		AggregateType: d.m.GetAggregateType(), AggregateID: d.m.GetAggregateId(),
		OccurredAt: rfc3339(env.OccurredAt), RecordedAt: rfc3339(env.RecordedAt),
		Actor:         lineActor{ID: env.Actor.ID, Name: env.Actor.DisplayName, Role: string(env.Actor.Role)},
		CorrelationID: d.m.GetCorrelationId(), SchemaVersion: d.m.GetSchemaVersion(), Data: data,
		Raw: base64.StdEncoding.EncodeToString(raw),
	}
	d.buf.Reset()
	if err := d.enc.Encode(&line); err != nil {
		return domain.Envelope{}, nil, err
	}
	return env, d.buf.Bytes(), nil
}
