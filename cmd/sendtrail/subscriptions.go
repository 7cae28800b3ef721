package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/sendtrail/sendtrail/domain"
	"github.com/sendtrail/sendtrail/eventpb"
	"github.com/sendtrail/sendtrail/eventstore"
	"github.com/sendtrail/sendtrail/webhooks"
)

// What `serve` does for subscribers: NATS for other services (a network
// listener with users who may read only their plans), webhook delivery,
// and ending Watch streams at shutdown.

// subscriptions are Main's settings and parts for subscribers.
type subscriptions struct {
	NatsListen           string         // host:port of the embedded server's listener for other services; "" none
	NatsUsersFile        string         // JSON file of NATS users (see natsUsersFile)
	AllowPrivateWebhooks bool           // deliver webhooks to private, loopback and link-local addresses
	WebhookRetry         webhooks.Retry // the delivery schedule

	Webhooks      *webhooks.Service
	NatsUsers     []eventstore.ReadUser
	streams       context.Context // ends Watch streams at shutdown
	streamsCancel context.CancelFunc
}

func (m *Main) subscriptionFlags(fs *flag.FlagSet) {
	fs.StringVar(&m.NatsListen, "nats-listen", m.NatsListen, "let other services reach the embedded NATS server on HOST:PORT (needs --nats-users; default: no listener)")
	fs.StringVar(&m.NatsUsersFile, "nats-users", m.NatsUsersFile, "JSON file of NATS users for --nats-listen, each allowed to read only its plans (docs/subscribing.md)")
	fs.BoolVar(&m.AllowPrivateWebhooks, "allow-private-webhooks", m.AllowPrivateWebhooks, "allow webhook URLs on private, loopback and link-local addresses (refused by default)")
	fs.DurationVar(&m.WebhookRetry.Base, "webhook-retry-base", webhooks.DefaultRetry.Base, "webhook retries: the first retry waits up to this long, doubling each time")
	fs.DurationVar(&m.WebhookRetry.Max, "webhook-retry-max", webhooks.DefaultRetry.Max, "webhook retries: the longest wait between two attempts")
	fs.DurationVar(&m.WebhookRetry.For, "webhook-retry-for", webhooks.DefaultRetry.For, "webhook retries: how long a failing delivery is retried before its webhook is parked")
}

// checkSubscriptionFlags refuses combinations that make no sense or are
// not safe: a listener anyone could use with full rights.
func (m *Main) checkSubscriptionFlags() error {
	if m.NatsURL != "" && (m.NatsListen != "" || m.NatsUsersFile != "") {
		return usagef("--nats-listen and --nats-users configure the embedded NATS server; with --nats-url, configure your cluster's users (docs/subscribing.md)")
	}
	if m.NatsListen != "" {
		if m.NatsUsersFile == "" {
			return usagef("--nats-listen needs --nats-users FILE: clients of the NATS listener must authenticate")
		}
		if _, _, err := splitHostPort(m.NatsListen); err != nil {
			return usagef("--nats-listen %q: %v", m.NatsListen, err)
		}
	}
	if m.NatsUsersFile != "" && m.NatsListen == "" {
		return usagef("--nats-users needs --nats-listen HOST:PORT")
	}
	return nil
}

func splitHostPort(hp string) (string, int, error) {
	host, p, err := net.SplitHostPort(hp)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("port %q", p)
	}
	return host, port, nil
}

// natsUsersFile is the --nats-users file:
//
//	{"users": [{"user": "casework", "password": "…", "plans": ["bcp-2023-26"]}]}
//
// A password may be a bcrypt hash ("$2a$…", e.g. from `nats server
// passwd`). A user may subscribe to sendtrail.<plan>.> of each of its
// plans and read the stream SENDTRAIL_<PLAN> (one plan's events); "*" for
// every plan gives sendtrail.> and the stream SENDTRAIL. Nobody but
// sendtrail itself may publish events or read webhook secrets.
type natsUsersFile struct {
	Users []struct {
		User     string   `json:"user"`
		Password string   `json:"password"`
		Plans    []string `json:"plans"`
	} `json:"users"`
}

// PlanStreamName is the read-only stream of one plan's events:
// SENDTRAIL_<PLAN> ("SENDTRAIL_BCP-2023-26").
func PlanStreamName(plan string) string { return "SENDTRAIL_" + strings.ToUpper(plan) }

func readNatsUsers(path string) ([]eventstore.ReadUser, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, usagef("--nats-users: %v", err)
	}
	var f natsUsersFile
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, usagef("--nats-users %s: %v", path, err)
	}
	var out []eventstore.ReadUser
	for _, u := range f.Users {
		if len(u.Plans) == 0 {
			return nil, usagef("--nats-users %s: user %q has no plans", path, u.User)
		}
		ru := eventstore.ReadUser{Name: u.User, Password: u.Password}
		for _, p := range u.Plans {
			if p == "*" {
				ru.Subjects = append(ru.Subjects, "sendtrail.>")
				ru.Streams = append(ru.Streams, "SENDTRAIL")
				continue
			}
			if err := domain.ValidateSlug(p); err != nil {
				return nil, usagef("--nats-users %s: user %q: %s", path, u.User, domain.ErrorMessage(err))
			}
			ru.Subjects = append(ru.Subjects, eventpb.PlanFilter(p))
			ru.Streams = append(ru.Streams, PlanStreamName(p))
		}
		out = append(out, ru)
	}
	return out, nil
}

// startEmbedded starts the embedded NATS server: in-process only by
// default; with --nats-listen, also on the network for the users of
// --nats-users. It returns the options sendtrail connects with.
func (m *Main) startEmbedded() ([]nats.Option, error) {
	cfg := eventstore.EmbeddedConfig{Dir: filepath.Join(m.DataDir, "nats")}
	if m.NatsListen == "" {
		e, err := eventstore.StartEmbedded(cfg)
		m.embedded = e
		return nil, err
	}
	users, err := readNatsUsers(m.NatsUsersFile)
	if err != nil {
		return nil, err
	}
	host, port, err := splitHostPort(m.NatsListen)
	if err != nil {
		return nil, usagef("--nats-listen %q: %v", m.NatsListen, err)
	}
	cfg.ListenHost, cfg.Port = host, port
	if cfg.ListenHost == "" {
		cfg.ListenHost = "0.0.0.0"
	}
	e, auth, err := eventstore.StartEmbeddedWithUsers(cfg, users)
	if err != nil {
		return nil, err
	}
	m.embedded, m.NatsUsers = e, users
	return []nats.Option{auth}, nil
}

// NatsClientURL is where other services reach the embedded NATS server,
// "" without --nats-listen.
func (m *Main) NatsClientURL() string {
	if m.embedded == nil {
		return ""
	}
	return m.embedded.ClientURL()
}

// openSubscriptions creates each NATS user's plan streams and the webhook
// service.
func (m *Main) openSubscriptions(ctx context.Context) error {
	var made []string
	for _, u := range m.NatsUsers {
		for i, s := range u.Streams {
			if s == m.Store.StreamName() || slices.Contains(made, s) {
				continue
			}
			if err := m.Store.EnsureSubsetStream(ctx, s, u.Subjects[i]); err != nil {
				return fmt.Errorf("plan stream %s: %w", s, err)
			}
			made = append(made, s)
		}
	}
	hooks, err := webhooks.New(ctx, webhooks.Config{
		Store: m.Store, Commands: m.Commands, AllowPrivate: m.AllowPrivateWebhooks, Retry: m.WebhookRetry, Log: m.Log,
	})
	if err != nil {
		return err
	}
	m.Webhooks = hooks
	m.streams, m.streamsCancel = context.WithCancel(context.Background())
	if u := m.NatsClientURL(); u != "" {
		fmt.Fprintf(m.Stdout, "sendtrail: NATS for services on %s (%d users; plan streams %s)\n", u, len(m.NatsUsers), strings.Join(made, ", "))
	}
	return nil
}

// runWebhooks delivers webhooks until bg ends, restarting the service
// after a failure.
func (m *Main) runWebhooks(bg context.Context) {
	m.wg.Go(func() {
		for {
			err := m.Webhooks.Run(bg)
			if bg.Err() != nil {
				return
			}
			m.Log.Error("webhook delivery stopped; restarting in 1s", "err", err)
			select {
			case <-bg.Done():
				return
			case <-time.After(time.Second):
			}
		}
	})
}

// stopStreams ends every Watch stream (at shutdown: clients resume
// elsewhere or later from their last sequence).
func (m *Main) stopStreams() {
	if m.streamsCancel != nil {
		m.streamsCancel()
	}
}
