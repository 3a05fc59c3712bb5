package server_test

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"vigie/internal/app/apptest"
	"vigie/internal/server"
)

// TestR11_TrafficIsEncryptedWithModernTLS: over TLS the server answers with HSTS and at least
// TLS 1.2; a client limited to TLS 1.1, or offering only CBC suites, is refused.
func TestR11_TrafficIsEncryptedWithModernTLS(t *testing.T) {
	a := apptest.New(t, "sqlite")
	cert, fingerprint, err := server.SelfSigned("127.0.0.1", time.Now())
	if err != nil || len(fingerprint) != 64 {
		t.Fatalf("self-signed: %v", err)
	}
	srv := httptest.NewUnstartedServer(server.New(a, http.NotFoundHandler()))
	srv.TLS = server.TLSConfig(cert)
	srv.StartTLS()
	defer srv.Close()
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	client := func(c *tls.Config) *http.Client {
		c.RootCAs = roots
		return &http.Client{Transport: &http.Transport{TLSClientConfig: c}}
	}
	resp, err := client(&tls.Config{}).Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatalf("TLS request: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Fatalf("status %d, TLS %v", resp.StatusCode, resp.TLS)
	}
	if hsts := resp.Header.Get("Strict-Transport-Security"); hsts == "" {
		t.Error("no HSTS header over TLS")
	}
	for _, h := range []string{"X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("no %s header", h)
		}
	}
	refused := []struct {
		name string
		conf *tls.Config
	}{
		{"TLS 1.1", &tls.Config{MaxVersion: tls.VersionTLS11}},
		{"TLS 1.2 with CBC suites only", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}}},
	}
	for _, c := range refused {
		if resp, err := client(c.conf).Get(srv.URL + "/healthz"); err == nil {
			resp.Body.Close()
			t.Errorf("%s: accepted", c.name)
		}
	}
	plain, err := http.Get("http://" + srv.Listener.Addr().String() + "/healthz")
	if err == nil {
		if plain.StatusCode == 200 {
			t.Error("plain HTTP answered on the TLS port")
		}
		plain.Body.Close()
	}
}
