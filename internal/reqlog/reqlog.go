// Package reqlog writes one log line per HTTP request: method, route pattern, status, duration
// and the caller's department. It never logs the URL's path or query, headers or bodies, where
// personal data travels (an id in a path, a search term that is an email address). The same line,
// as a Line, is handed to observers such as the Prometheus metrics (package ops).
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

// Line is what is known of an answered request once it is logged: nothing a client typed but the
// method, and that only when it is a standard one.
type Line struct {
	Method     string // a standard HTTP method, else "OTHER"
	Route      string // the mux pattern that matched, else "unmatched"
	Status     int
	Duration   time.Duration
	Department string // of the signed-in staff member, "portail" for the portal, else empty
}

// Middleware logs each request once it is answered, then hands its Line to each observer. The
// route is the mux pattern that matched ("GET /api/v1/persons/{id}"), not the path, so ids and
// search terms stay out of the logs and out of the metrics.
func Middleware(log *slog.Logger, next http.Handler, observers ...func(Line)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		i := &info{}
		rec := &recorder{ResponseWriter: w}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, i))
		next.ServeHTTP(rec, r)
		l := Line{Method: Method(r.Method), Route: r.Pattern, Status: rec.status, Duration: time.Since(start), Department: i.department}
		if l.Route == "" {
			l.Route = "unmatched"
		}
		if l.Status == 0 {
			l.Status = http.StatusOK // the handler wrote nothing: net/http answers 200
		}
		log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", l.Method), slog.String("route", l.Route), slog.Int("status", l.Status),
			slog.Duration("duration", l.Duration), slog.String("department", l.Department))
		for _, observe := range observers {
			observe(l)
		}
	})
}

// Method returns a standard HTTP method as it is, and "OTHER" for anything else a client may send,
// so that a log or a metric label never holds arbitrary client text.
func Method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
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
