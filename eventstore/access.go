package eventstore

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Access for other services: NATS users of the embedded server that may
// read some subjects and some streams and nothing else, and read-only
// streams holding a subset of the event stream (one plan's events), so
// that a service can be given one plan without the others.

// ReadUser is a NATS user that may subscribe to Subjects and read Streams
// (consumers, direct gets, stream info), and do nothing else: it cannot
// publish events, touch other streams, key-value buckets or other users'
// inboxes. Its request inboxes must start with InboxPrefix (nats CLI:
// --inbox-prefix; nats.go: nats.CustomInboxPrefix).
type ReadUser struct {
	Name     string   // letters, digits, '-' and '_'
	Password string   // plain or a bcrypt hash ("$2a$…"), as nats-server takes it
	Subjects []string // core NATS subjects it may subscribe to, e.g. sendtrail.bcp-2023-26.>
	Streams  []string // streams it may read, e.g. SENDTRAIL_BCP-2023-26
}

var (
	userNameRE   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	streamNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,200}$`)
)

// InboxPrefix is the inbox prefix a read user's requests must use.
func (u ReadUser) InboxPrefix() string { return "_INBOX_" + u.Name }

// permissions are the user's allow-lists (everything else is denied).
func (u ReadUser) permissions() *server.Permissions {
	pub := []string{"$JS.API.INFO"}
	for _, s := range u.Streams {
		pub = append(pub,
			"$JS.API.STREAM.INFO."+s,
			"$JS.API.STREAM.MSG.GET."+s,
			"$JS.API.DIRECT.GET."+s, "$JS.API.DIRECT.GET."+s+".>",
			"$JS.API.CONSUMER.CREATE."+s, "$JS.API.CONSUMER.CREATE."+s+".>",
			"$JS.API.CONSUMER.DURABLE.CREATE."+s+".>",
			"$JS.API.CONSUMER.INFO."+s+".>",
			"$JS.API.CONSUMER.DELETE."+s+".>",
			"$JS.API.CONSUMER.LIST."+s, "$JS.API.CONSUMER.NAMES."+s,
			"$JS.API.CONSUMER.MSG.NEXT."+s+".>",
			"$JS.ACK."+s+".>", "$JS.FC."+s+".>",
		)
	}
	sub := append(slices.Clone(u.Subjects), u.InboxPrefix()+".>")
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: pub},
		Subscribe: &server.SubjectPermission{Allow: sub},
	}
}

func (u ReadUser) validate() error {
	if !userNameRE.MatchString(u.Name) {
		return fmt.Errorf("%w: NATS user name %q (want 1–64 letters, digits, - and _)", ErrInvalid, u.Name)
	}
	if u.Password == "" {
		return fmt.Errorf("%w: NATS user %s has no password", ErrInvalid, u.Name)
	}
	if err := validFilters(u.Subjects); err != nil {
		return err
	}
	for _, s := range u.Streams {
		if !streamNameRE.MatchString(s) {
			return fmt.Errorf("%w: stream name %q", ErrInvalid, s)
		}
	}
	return nil
}

// InternalUser is the user sendtrail itself connects as when the embedded
// server requires authentication.
const InternalUser = "sendtrail"

// StartEmbeddedWithUsers starts the embedded server like StartEmbedded but
// requiring authentication: users may only read what they are given, and
// sendtrail itself connects as InternalUser with a password made for this
// run; pass the returned option to Connect. A server without a network
// listener needs no users (in-process connections only).
// Errors: ErrInvalid for a bad user or a duplicate name; StartEmbedded's.
func StartEmbeddedWithUsers(cfg EmbeddedConfig, users []ReadUser) (*Embedded, nats.Option, error) {
	var pw [24]byte
	if _, err := rand.Read(pw[:]); err != nil {
		return nil, nil, fmt.Errorf("eventstore: internal password: %w", err)
	}
	internal := base64.RawURLEncoding.EncodeToString(pw[:])
	seen := map[string]bool{InternalUser: true}
	su := []*server.User{{Username: InternalUser, Password: internal}}
	for _, u := range users {
		if err := u.validate(); err != nil {
			return nil, nil, err
		}
		if seen[u.Name] {
			return nil, nil, fmt.Errorf("%w: NATS user %s is given twice (or is reserved)", ErrInvalid, u.Name)
		}
		seen[u.Name] = true
		su = append(su, &server.User{Username: u.Name, Password: u.Password, Permissions: u.permissions()})
	}
	e, err := startEmbedded(cfg, func(o *server.Options) { o.Users = su })
	if err != nil {
		return nil, nil, err
	}
	return e, nats.UserInfo(InternalUser, internal), nil
}

// EnsureSubsetStream creates or updates a read-only stream name that
// sources the event stream's messages on filter (e.g. one plan's,
// sendtrail.bcp-2023-26.>), so that a user can be given that stream and
// not the whole log. Like the event stream it has file storage, no limits,
// and denies deletes and purges. Its sequences are its own; each message
// carries the event stream's sequence in its Nats-Stream-Source header.
// Errors: ErrInvalid for a bad name or filter; ErrUnavailable.
func (s *Store) EnsureSubsetStream(ctx context.Context, name, filter string) error {
	if !streamNameRE.MatchString(name) || name == s.name {
		return fmt.Errorf("%w: stream name %q", ErrInvalid, name)
	}
	if err := validFilters([]string{filter}); err != nil {
		return err
	}
	cfg := jetstream.StreamConfig{
		Name:              name,
		Description:       fmt.Sprintf("sendtrail events on %s, read-only, sourced from %s", filter, s.name),
		Sources:           []*jetstream.StreamSource{{Name: s.name, FilterSubject: filter}},
		Retention:         jetstream.LimitsPolicy,
		MaxConsumers:      -1,
		MaxMsgs:           -1,
		MaxBytes:          -1,
		MaxMsgsPerSubject: -1,
		MaxMsgSize:        -1,
		Discard:           jetstream.DiscardNew,
		Storage:           jetstream.FileStorage,
		Replicas:          s.stream.CachedInfo().Config.Replicas,
		DenyDelete:        true,
		DenyPurge:         true,
		AllowDirect:       true,
	}
	if _, err := s.js.CreateOrUpdateStream(ctx, cfg); err != nil {
		return wrap("subset stream "+name, err)
	}
	return nil
}
