package evidence

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// KeyName is the name of sendtrail's signing key in signed notes (the
// checkpoint's signature line, "— sendtrail <base64>").
const KeyName = "sendtrail"

// DefaultKeyFile is the signing key's file in the data directory.
const DefaultKeyFile = "signing-key.pem"

// Key is the Ed25519 key that signs checkpoints and bundles.
type Key struct {
	priv ed25519.PrivateKey
	Public
}

// Public is an Ed25519 public key as sendtrail shows and pins it.
type Public struct {
	key ed25519.PublicKey
}

// GenerateKey returns a new signing key.
func GenerateKey() (*Key, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("evidence: generate key: %w", err)
	}
	return newKey(priv), nil
}

func newKey(priv ed25519.PrivateKey) *Key {
	return &Key{priv: priv, Public: Public{key: priv.Public().(ed25519.PublicKey)}}
}

// LoadOrCreateKey reads the signing key at path (PKCS#8 PEM, as
// "openssl genpkey -algorithm ed25519" writes it), or generates one and
// writes it there with mode 0600 if there is no file. created reports
// whether it did.
func LoadOrCreateKey(path string) (k *Key, created bool, err error) {
	k, err = LoadKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, false, err
	}
	k, err = GenerateKey()
	if err != nil {
		return nil, false, err
	}
	b, err := k.PrivatePEM()
	if err != nil {
		return nil, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("evidence: write key: %w", err)
	}
	// O_EXCL: two processes starting at once never overwrite each other's key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		k, err = LoadKey(path)
		return k, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("evidence: write key: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(path)
		return nil, false, fmt.Errorf("evidence: write key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("evidence: write key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, false, fmt.Errorf("evidence: write key: %w", err)
	}
	return k, true, nil
}

// LoadKey reads a PKCS#8 PEM Ed25519 private key. A key file readable by
// group or others is refused.
func LoadKey(path string) (*Key, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("evidence: signing key: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("evidence: signing key %s is readable by others (mode %04o): chmod 600 it", path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("evidence: signing key: %w", err)
	}
	k, err := ParseKey(b)
	if err != nil {
		return nil, fmt.Errorf("evidence: signing key %s: %w", path, err)
	}
	return k, nil
}

// ParseKey parses a PKCS#8 PEM Ed25519 private key.
func ParseKey(b []byte) (*Key, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, errors.New("not a PEM \"PRIVATE KEY\" (PKCS#8): generate one with openssl genpkey -algorithm ed25519")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("a %T, not an Ed25519 key", k)
	}
	return newKey(priv), nil
}

// PrivatePEM returns the private key as PKCS#8 PEM.
func (k *Key) PrivatePEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k.priv)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// Sign signs msg (Ed25519, deterministic).
func (k *Key) Sign(msg []byte) []byte { return ed25519.Sign(k.priv, msg) }

// signer is the key as a signed-note signer.
func (k *Key) signer() note.Signer {
	v, err := k.verifier()
	if err != nil {
		panic(err) // a 32-byte key and a valid name: cannot fail
	}
	return noteSigner{Verifier: v, k: k}
}

type noteSigner struct {
	note.Verifier
	k *Key
}

func (s noteSigner) Sign(msg []byte) ([]byte, error) { return s.k.Sign(msg), nil }

// ParsePublic reads a public key: SubjectPublicKeyInfo PEM ("PUBLIC KEY",
// as openssl and "sendtrail key show" print it), a signed-note verifier
// key ("sendtrail+1a2b3c4d+AQ…"), or a file holding either.
func ParsePublic(b []byte) (Public, error) {
	s := strings.TrimSpace(string(b))
	if strings.Contains(s, "-----BEGIN") {
		rest := []byte(s)
		for {
			var blk *pem.Block
			blk, rest = pem.Decode(rest)
			if blk == nil {
				return Public{}, errors.New("no \"PUBLIC KEY\" PEM block")
			}
			if blk.Type != "PUBLIC KEY" {
				continue
			}
			k, err := x509.ParsePKIXPublicKey(blk.Bytes)
			if err != nil {
				return Public{}, err
			}
			pub, ok := k.(ed25519.PublicKey)
			if !ok {
				return Public{}, fmt.Errorf("a %T, not an Ed25519 key", k)
			}
			return Public{key: pub}, nil
		}
	}
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if _, err := note.NewVerifier(line); err != nil {
			return Public{}, fmt.Errorf("not a PEM public key nor a verifier key (name+hash+key): %w", err)
		}
		_, rest, _ := strings.Cut(line, "+")
		_, key64, _ := strings.Cut(rest, "+")
		raw, err := decodeB64(key64)
		if err != nil || len(raw) != 1+ed25519.PublicKeySize || raw[0] != 1 {
			return Public{}, errors.New("verifier key is not an Ed25519 key")
		}
		return Public{key: ed25519.PublicKey(raw[1:])}, nil
	}
	return Public{}, errors.New("empty public key")
}

// LoadPublic reads a public key from a file (see ParsePublic).
func LoadPublic(path string) (Public, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Public{}, err
	}
	p, err := ParsePublic(b)
	if err != nil {
		return Public{}, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// IsZero reports whether p holds no key.
func (p Public) IsZero() bool { return len(p.key) == 0 }

// Equal reports whether p and q are the same key.
func (p Public) Equal(q Public) bool { return bytes.Equal(p.key, q.key) }

// Verify reports whether sig is p's Ed25519 signature of msg.
func (p Public) Verify(msg, sig []byte) bool {
	return len(p.key) == ed25519.PublicKeySize && ed25519.Verify(p.key, msg, sig)
}

// PEM returns the key as SubjectPublicKeyInfo PEM, for openssl.
func (p Public) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: p.der()})
}

func (p Public) der() []byte {
	der, err := x509.MarshalPKIXPublicKey(p.key)
	if err != nil {
		panic(err) // an Ed25519 key always marshals
	}
	return der
}

// Fingerprint is the SHA-256 of the key's DER SubjectPublicKeyInfo, in
// hex: what "openssl pkey -pubin -in key.pem -outform DER | sha256sum"
// prints.
func (p Public) Fingerprint() string {
	sum := sha256.Sum256(p.der())
	return hex.EncodeToString(sum[:])
}

// ShortFingerprint is the fingerprint's first 16 hex digits.
func (p Public) ShortFingerprint() string { return p.Fingerprint()[:16] }

// VerifierKey is the key as a signed-note verifier key
// ("sendtrail+<hash>+<base64>"), as Go's sumdb/note and C2SP tools take it.
func (p Public) VerifierKey() string {
	v, err := note.NewEd25519VerifierKey(KeyName, p.key)
	if err != nil {
		panic(err)
	}
	return v
}

func (p Public) verifier() (note.Verifier, error) {
	if p.IsZero() {
		return nil, errors.New("no public key")
	}
	return note.NewVerifier(p.VerifierKey())
}
