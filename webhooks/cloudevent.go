package webhooks

import (
	"time"

	"github.com/sendtrail/sendtrail/feed"
)

// CloudEvent is a delivery's body: a CloudEvents 1.0 event in structured
// JSON mode (Content-Type: application/cloudevents+json), carrying the
// whole change, not a ping to come back for it.
type CloudEvent struct {
	SpecVersion     string      `json:"specversion"`     // "1.0"
	ID              string      `json:"id"`              // the event's id (UUIDv7), also webhook-id
	Source          string      `json:"source"`          // "/sendtrail/<plan>"
	Type            string      `json:"type"`            // "org.sendtrail.<event type>", e.g. org.sendtrail.rag_changed
	Subject         string      `json:"subject"`         // the action's ref or the indicator's name, else "<aggregate type>/<id>"
	Time            time.Time   `json:"time"`            // when sendtrail recorded it
	DataContentType string      `json:"datacontenttype"` // "application/json"
	Data            feed.Record `json:"data"`            // the change: before, after, reason, actor, times, sequence
}

// TypePrefix starts every CloudEvent type.
const TypePrefix = "org.sendtrail."

// NewCloudEvent returns the CloudEvent of a described event.
func NewCloudEvent(ev feed.Event) CloudEvent {
	plan := ev.Proto.GetPlan()
	rec := feed.RecordOf(plan, ev.Subject, ev.Entry)
	subject := rec.Ref
	if subject == "" {
		subject = rec.AggregateType + "/" + rec.AggregateID
	}
	return CloudEvent{
		SpecVersion:     "1.0",
		ID:              rec.EventID,
		Source:          "/sendtrail/" + plan,
		Type:            TypePrefix + rec.Type,
		Subject:         subject,
		Time:            rec.RecordedAt,
		DataContentType: "application/json",
		Data:            rec,
	}
}
