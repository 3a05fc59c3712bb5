// Package server puts Vigie's HTTP surfaces together — the JSON API and the staff web interface —
// behind the request log and the security headers every answer carries.
package server

import (
	"net/http"

	"vigie/internal/api"
	"vigie/internal/app"
	"vigie/internal/ops"
	"vigie/internal/reqlog"
)

// New returns the whole HTTP handler: /api/ to the API, the probes and the metrics (/healthz,
// /readyz, /metrics) to ops, everything else to web. Every request is logged and counted once.
func New(a *app.App, web http.Handler) http.Handler {
	apiHandler := api.New(a)
	operator := ops.New(a)
	mux := http.NewServeMux()
	mux.Handle("/api/", apiHandler)
	operator.Register(mux)
	mux.Handle("/", web)
	return realClient(a.Config.TrustedProxies, reqlog.Middleware(a.Log, securityHeaders(mux), operator.Observe))
}

// securityHeaders are set on every answer; pages may tighten them further.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}
