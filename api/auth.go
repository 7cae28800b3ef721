package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/sendtrail/sendtrail/domain"
)

// Principal is an authenticated caller.
type Principal struct {
	TokenID  string
	ID       string
	Name     string
	Role     domain.Role
	Plan     string // "*" for every plan
	LeadName string
}

// Actor returns the principal as an event's actor.
func (p Principal) Actor() domain.Actor {
	return domain.Actor{ID: p.ID, DisplayName: p.Name, Role: p.Role}
}

// StoredToken is a token as the read model keeps it.
type StoredToken struct {
	ID, Principal, Name string
	Role                domain.Role
	Plan, LeadName      string
	Hash                string
	ExpiresAt           time.Time
	Revoked             bool
}

// TokenLookup finds a token by id; it returns an ENOTFOUND error when there
// is none.
type TokenLookup interface {
	Token(ctx context.Context, id string) (StoredToken, error)
}

// NewSecret returns a new bearer token and what is stored of it: its id and
// the hex SHA-256 of its secret. The token is "st_<id>_<secret>".
func NewSecret() (token, id, hash string, err error) {
	var idb [8]byte
	var sec [32]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return "", "", "", fmt.Errorf("token id: %w", err)
	}
	if _, err := rand.Read(sec[:]); err != nil {
		return "", "", "", fmt.Errorf("token secret: %w", err)
	}
	id = hex.EncodeToString(idb[:])
	secret := base64.RawURLEncoding.EncodeToString(sec[:])
	return "st_" + id + "_" + secret, id, hashSecret(secret), nil
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// parseToken splits "st_<16 hex>_<secret>".
func parseToken(tok string) (id, secret string, ok bool) {
	if len(tok) < 3+16+1+20 || len(tok) > 200 || !strings.HasPrefix(tok, "st_") || tok[19] != '_' {
		return "", "", false
	}
	id, secret = tok[3:19], tok[20:]
	if _, err := hex.DecodeString(id); err != nil {
		return "", "", false
	}
	return id, secret, true
}

var errUnauthenticated = &domain.Error{Code: domain.EUNAUTHENTICATED, Message: "a valid bearer token is required (Authorization: Bearer st_…)"}

// authenticate checks a bearer token. Every failure gives the same message,
// so a caller learns nothing of which tokens exist.
func authenticate(ctx context.Context, tokens TokenLookup, header string, now time.Time) (Principal, error) {
	raw, ok := strings.CutPrefix(header, "Bearer ")
	if !ok {
		return Principal{}, errUnauthenticated
	}
	id, secret, ok := parseToken(strings.TrimSpace(raw))
	if !ok {
		return Principal{}, errUnauthenticated
	}
	t, err := tokens.Token(ctx, id)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		// Compare anyway so an unknown id costs what a known one does.
		subtle.ConstantTimeCompare([]byte(hashSecret(secret)), []byte(strings.Repeat("0", 64)))
		return Principal{}, errUnauthenticated
	}
	if err != nil {
		return Principal{}, err
	}
	if subtle.ConstantTimeCompare([]byte(hashSecret(secret)), []byte(t.Hash)) != 1 {
		return Principal{}, errUnauthenticated
	}
	if t.Revoked {
		return Principal{}, &domain.Error{Code: domain.EUNAUTHENTICATED, Message: "this token has been revoked"}
	}
	if !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) {
		return Principal{}, &domain.Error{Code: domain.EUNAUTHENTICATED, Message: "this token has expired"}
	}
	return Principal{TokenID: t.ID, ID: t.Principal, Name: t.Name, Role: t.Role, Plan: t.Plan, LeadName: t.LeadName}, nil
}

type principalKey struct{}

func withPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the authenticated caller.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
