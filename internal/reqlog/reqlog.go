// Package reqlog writes one log line per HTTP request: method, route pattern, status, duration
// and the caller's department. It never logs the URL's query, headers or bodies, where personal
// data travels (a search term is an email address).
package reqlog

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"
)

type info struct{ department string }

type ctxKey struct{}

// SetDepartment records, for the request's log line, which department made the request.
func SetDepartment(ctx context.Context, department string) {
	if i, ok := ctx.Value(ctxKey{}).(*info); ok {
		i.department = department
	}
}

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Middleware logs each request once it is answered. The route is the mux pattern that matched
// ("GET /api/v1/persons/{id}"), not the path, so ids and search terms stay out of the logs.
func Middleware(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		i := &info{}
		rec := &recorder{ResponseWriter: w}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, i))
		next.ServeHTTP(rec, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method), slog.String("route", route), slog.Int("status", rec.status),
			slog.Duration("duration", time.Since(start)), slog.String("department", i.department))
	})
}

// ClientAddress is the address a request came from, without its port: what failures are
// throttled by (R15). Behind a trusted reverse proxy the server has already put the client's
// address in RemoteAddr (server.realClient).
func ClientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
