package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestR15_ThrottledAddressBehindAProxy: behind a trusted reverse proxy, the address failures are
// throttled by is the client's, read from the right-most X-Forwarded-For entry that is not a
// trusted proxy; a client cannot choose it by sending the header itself.
func TestR15_ThrottledAddressBehindAProxy(t *testing.T) {
	trusted, err := ParseTrustedProxies("10.0.0.0/8, 192.168.1.1")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, peer string
		forwarded  []string
		want       string
	}{
		{"direct client, no header", "203.0.113.7:5555", nil, "203.0.113.7:5555"},
		{"direct client forging the header", "203.0.113.7:5555", []string{"198.51.100.1"}, "203.0.113.7:5555"},
		{"through the proxy", "10.1.2.3:443", []string{"198.51.100.1"}, "198.51.100.1:0"},
		{"through two proxies", "192.168.1.1:443", []string{"198.51.100.1, 10.9.9.9"}, "198.51.100.1:0"},
		{"client prepending a forged hop", "10.1.2.3:443", []string{"1.1.1.1, 198.51.100.1"}, "198.51.100.1:0"},
		{"header split over two lines", "10.1.2.3:443", []string{"1.1.1.1", "198.51.100.1"}, "198.51.100.1:0"},
		{"malformed hop", "10.1.2.3:443", []string{"198.51.100.1, not-an-ip"}, "10.1.2.3:443"},
		{"IPv6 client", "10.1.2.3:443", []string{"2001:db8::1"}, "[2001:db8::1]:0"},
		{"only proxies", "10.1.2.3:443", []string{"10.4.4.4"}, "10.1.2.3:443"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got string
			h := realClient(trusted, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.RemoteAddr }))
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = c.peer
			for _, v := range c.forwarded {
				req.Header.Add("X-Forwarded-For", v)
			}
			h.ServeHTTP(httptest.NewRecorder(), req)
			if got != c.want {
				t.Errorf("client address %q, want %q", got, c.want)
			}
		})
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.local", "10.0.0.1/8/1"} {
		if _, err := ParseTrustedProxies(bad); err == nil {
			t.Errorf("ParseTrustedProxies(%q) accepted", bad)
		}
	}
}
