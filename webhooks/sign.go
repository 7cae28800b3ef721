package webhooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Signing follows the Standard Webhooks specification
// (https://www.standardwebhooks.com): each delivery carries
//
//	webhook-id:        the event's id (the same on every retry: de-duplicate on it)
//	webhook-timestamp: Unix seconds when this attempt was signed
//	webhook-signature: "v1,<base64 HMAC-SHA256 of id.timestamp.body>"
//
// keyed with the secret's bytes: the base64 after "whsec_".

// SecretPrefix starts every signing secret.
const SecretPrefix = "whsec_"

// NewSecret returns a new signing secret: "whsec_" and the base64 of 32
// random bytes.
func NewSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("webhooks: secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b[:]), nil
}

func secretKey(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || len(key) < 24 {
		return nil, errors.New("webhooks: the secret is not whsec_ and the base64 of at least 24 bytes")
	}
	return key, nil
}

// Sign returns the webhook-signature header value for a delivery.
func Sign(secret, id string, ts time.Time, body []byte) (string, error) {
	key, err := secretKey(secret)
	if err != nil {
		return "", err
	}
	return "v1," + signature(key, id, ts.Unix(), body), nil
}

func signature(key []byte, id string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%d.", id, ts)
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Verify checks a delivery as a receiver should: the signature (any of the
// space-separated v1 signatures, compared in constant time) and a
// timestamp within tolerance of now (replay protection; 5 minutes is the
// specification's suggestion). It returns the webhook-id to de-duplicate
// on.
func Verify(secret string, h http.Header, body []byte, tolerance time.Duration, now time.Time) (string, error) {
	key, err := secretKey(secret)
	if err != nil {
		return "", err
	}
	id, tsText, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || tsText == "" || sigs == "" {
		return "", errors.New("webhooks: missing webhook-id, webhook-timestamp or webhook-signature")
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return "", errors.New("webhooks: webhook-timestamp is not Unix seconds")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return "", fmt.Errorf("webhooks: webhook-timestamp is %s away from now", d.Round(time.Second))
	}
	want := []byte(signature(key, id, ts, body))
	for _, s := range strings.Fields(sigs) {
		v, sig, ok := strings.Cut(s, ",")
		if ok && v == "v1" && hmac.Equal([]byte(sig), want) {
			return id, nil
		}
	}
	return "", errors.New("webhooks: no valid v1 signature")
}
