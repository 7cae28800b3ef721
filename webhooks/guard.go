package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"

	"github.com/sendtrail/sendtrail/domain"
)

// The SSRF guard: a webhook must not make sendtrail call into its own
// network (the loopback, private ranges, link-local such as the cloud
// metadata address 169.254.169.254). URLs are checked when registered and
// every connection is checked again when it is made (DNS can change in
// between): the dialer refuses an address in those ranges after
// resolution, so neither DNS rebinding nor a redirect (never followed)
// gets through. Operators who deliver inside their own network start the
// server with --allow-private-webhooks.

// MaxURL bounds a webhook URL.
const MaxURL = 2048

var blockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, broadcast
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64: reaches IPv4 behind it
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("2002::/16"),       // 6to4: embeds any IPv4
	netip.MustParsePrefix("fec0::/10"),       // deprecated site-local
	netip.MustParsePrefix("::ffff:0:0/96"),   // IPv4-mapped (checked unmapped too)
	netip.MustParsePrefix("::/128"),          // unspecified
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
}

// Blocked reports whether ip is an address a webhook may not reach without
// --allow-private-webhooks: loopback, private, link-local, multicast,
// unspecified or otherwise not public.
func Blocked(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return true
	}
	for _, p := range blockedPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// errBlocked is a connection the guard refused.
var errBlocked = errors.New("refused: the address is private, loopback or link-local (start the server with --allow-private-webhooks to allow it)")

// Resolver looks host names up; net.DefaultResolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// CheckURL checks a webhook URL when it is registered: http or https, a
// host, no credentials, and unless allowPrivate every address the host
// resolves to is public.
// Errors: EINVALID naming the field "url".
func CheckURL(ctx context.Context, raw string, allowPrivate bool, r Resolver) error {
	bad := func(format string, args ...any) error { return domain.Invalid("url", format, args...) }
	if len(raw) > MaxURL {
		return bad("is longer than %d characters", MaxURL)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("%q is not a URL", raw)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return bad("%q: only http:// and https:// URLs can receive webhooks", raw)
	}
	if u.Hostname() == "" {
		return bad("%q has no host", raw)
	}
	if u.User != nil {
		return bad("must not carry credentials (they would be kept in the audit log); authenticate deliveries by their signature")
	}
	if u.Fragment != "" {
		return bad("must not have a #fragment")
	}
	if allowPrivate {
		return nil
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		if Blocked(ip) {
			return bad("%s: %s", host, errBlocked.Error())
		}
		return nil
	}
	if r == nil {
		r = net.DefaultResolver
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ips, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		return bad("cannot resolve %s: %v", host, err)
	}
	for _, ip := range ips {
		if Blocked(ip) {
			return bad("%s resolves to %s: %s", host, ip, errBlocked.Error())
		}
	}
	return nil
}

// guardedClient returns the HTTP client deliveries use: no proxy from the
// environment, no redirects followed, and unless allowPrivate a dialer that
// refuses blocked addresses after resolution.
func guardedClient(allowPrivate bool, timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("webhooks: dial %s: %w", address, err)
			}
			if Blocked(ap.Addr()) {
				return fmt.Errorf("webhooks: dial %s: %w", address, errBlocked)
			}
			return nil
		}
	}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
