package server

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"vigie/internal/app"
)

// ParseTrustedProxies reads a comma-separated list of addresses or CIDR prefixes
// ("10.0.0.0/8, 127.0.0.1"), the reverse proxies whose X-Forwarded-For Vigie believes.
func ParseTrustedProxies(list string) ([]netip.Prefix, error) {
	return app.ParseTrustedProxies(list) // the rule of VIGIE_TRUSTED_PROXIES, in the settings table
}

// realClient makes r.RemoteAddr the client's address when the request comes through a trusted
// reverse proxy, so that throttling by source address (R15) counts clients, not the proxy. The
// client is the right-most X-Forwarded-For address that is not itself a trusted proxy: the
// addresses to its left were written by the client and prove nothing. A request from anyone else,
// or with a malformed header, keeps its peer address.
func realClient(trusted []netip.Prefix, next http.Handler) http.Handler {
	if len(trusted) == 0 {
		return next
	}
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a.Unmap()) {
				return true
			}
		}
		return false
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, err := netip.ParseAddrPort(r.RemoteAddr)
		forwarded := r.Header.Values("X-Forwarded-For")
		if err == nil && isTrusted(peer.Addr()) && len(forwarded) > 0 {
			hops := strings.Split(strings.Join(forwarded, ","), ",")
			for i := len(hops) - 1; i >= 0; i-- {
				a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
				if err != nil {
					break
				}
				if !isTrusted(a) {
					r2 := r.Clone(r.Context())
					r2.RemoteAddr = net.JoinHostPort(a.Unmap().String(), "0")
					r = r2
					break
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}
