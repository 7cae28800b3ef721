package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path/filepath"
	"strings"

	"connectrpc.com/connect"

	"github.com/sendtrail/sendtrail/evidence"
	pb "github.com/sendtrail/sendtrail/gen/sendtrail/v1"
	"github.com/sendtrail/sendtrail/gen/sendtrail/v1/sendtrailv1connect"
	"github.com/sendtrail/sendtrail/projections"
)

// The evidence signing key: the Ed25519 key that signs each plan's
// checkpoints (kept in the read model) and every evidence bundle. It is
// generated on first start in DATA/signing-key.pem (mode 0600) unless
// --signing-key names one; `sendtrail key show` prints its public half for
// the plan owner to publish.

func init() {
	register("key", "show the evidence signing key's public half (to publish), fingerprint included", runKey)
}

// signing is Main's evidence signing key.
type signing struct {
	SigningKeyFile string // --signing-key; "" = DATA/signing-key.pem, generated if missing
	SigningKey     *evidence.Key
}

func (s *signing) signingFlags(fs *flag.FlagSet) {
	fs.StringVar(&s.SigningKeyFile, "signing-key", envOr("SENDTRAIL_SIGNING_KEY", ""),
		"Ed25519 private key (PKCS#8 PEM, mode 0600) that signs checkpoints and evidence bundles (default: DATA/signing-key.pem, generated on first start)")
}

// signingKeyPath is where the key is read from.
func (m *Main) signingKeyPath() string {
	if m.SigningKeyFile != "" {
		return m.SigningKeyFile
	}
	return filepath.Join(m.DataDir, evidence.DefaultKeyFile)
}

// loadSigningKey reads the signing key, generating DATA/signing-key.pem on
// first start. A key named with --signing-key must exist.
func (m *Main) loadSigningKey() error {
	if m.SigningKey != nil {
		return nil
	}
	if m.SigningKeyFile != "" {
		k, err := evidence.LoadKey(m.SigningKeyFile)
		if err != nil {
			return fmt.Errorf("--signing-key: %w", err)
		}
		m.SigningKey = k
		return nil
	}
	k, created, err := evidence.LoadOrCreateKey(m.signingKeyPath())
	if err != nil {
		return err
	}
	m.SigningKey = k
	if created {
		fmt.Fprintf(m.Stdout, "sendtrail: generated the evidence signing key %s (fingerprint %s); publish its public half: sendtrail key show --data %s\n",
			m.signingKeyPath(), k.Fingerprint(), m.DataDir)
	}
	return nil
}

// readModelOptions are the read model's extensions: the evidence trees,
// signed with the signing key (loaded first). serve and rebuild use the
// same, so a rebuilt read model is identical.
func (m *Main) readModelOptions() []projections.Option {
	return []projections.Option{projections.WithExtension(evidence.NewExtension(m.SigningKey))}
}

func runKey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	m := NewMain(stdout, stderr)
	var c clientFlags
	var plan string
	var pemOnly bool
	flags := newFlagSet("key", "key show [--data DIR | --signing-key FILE] [--pem]  |  key show --plan SLUG [--server URL] [--token-file FILE]",
		"sendtrail key show --data ./sendtrail-data\nsendtrail key show --pem > bcp-signing-key.pem\nsendtrail key show --plan bcp-2023-26 --server https://sendtrail.example.org", stderr)
	flags.StringVar(&m.DataDir, "data", m.DataDir, "data directory holding signing-key.pem")
	m.signingFlags(flags)
	flags.BoolVar(&pemOnly, "pem", false, "print only the PEM public key (to save and publish)")
	flags.StringVar(&plan, "plan", "", "ask the server for the key that signs this plan's bundles, instead of reading the local key")
	c.register(flags)
	pos, err := parse(flags, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 || (len(pos) == 1 && pos[0] != "show") {
		return usagef("usage: sendtrail key show [--data DIR | --signing-key FILE] [--pem] | sendtrail key show --plan SLUG [--server URL]")
	}
	var pub evidence.Public
	source := ""
	if plan != "" {
		opts, err := c.options()
		if err != nil {
			return err
		}
		client := sendtrailv1connect.NewAuditServiceClient(&http.Client{Timeout: c.timeout}, strings.TrimRight(c.server, "/"), opts...)
		res, err := client.GetPublicKey(ctx, connect.NewRequest(&pb.GetPublicKeyRequest{Plan: plan}))
		if err != nil {
			return describeConnErr(c.server, err)
		}
		if pub, err = evidence.ParsePublic([]byte(res.Msg.GetPublicKeyPem())); err != nil {
			return err
		}
		if pub.Fingerprint() != res.Msg.GetFingerprint() {
			return fmt.Errorf("the server's fingerprint %s is not its key's %s", res.Msg.GetFingerprint(), pub.Fingerprint())
		}
		source = c.server + " (plan " + plan + ")"
	} else {
		k, err := evidence.LoadKey(m.signingKeyPath())
		if errors.Is(err, fs.ErrNotExist) {
			return usagef("no signing key at %s: start the server once (it generates one) or pass --signing-key FILE", m.signingKeyPath())
		}
		if err != nil {
			return err
		}
		pub, source = k.Public, m.signingKeyPath()
	}
	if pemOnly {
		_, err := stdout.Write(pub.PEM())
		return err
	}
	fmt.Fprintf(stdout, "Evidence signing key (%s)\n\n", source)
	fmt.Fprintf(stdout, "Fingerprint (SHA-256 of the public key): %s\n", pub.Fingerprint())
	fmt.Fprintf(stdout, "Signed-note verifier key:                %s\n\n", pub.VerifierKey())
	fmt.Fprintf(stdout, "%s\n", strings.TrimSpace(string(pub.PEM())))
	fmt.Fprintf(stdout, "\nPublish the PEM and the fingerprint where inspectors can find them (the plan's web page, the board papers).\n")
	fmt.Fprintf(stdout, "They verify a bundle against it with: sendtrail verify BUNDLE.zip --key KEY.pem\n")
	fmt.Fprintf(stdout, "or check the fingerprint with: openssl pkey -pubin -in KEY.pem -outform DER | sha256sum\n")
	return nil
}
