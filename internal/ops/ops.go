// Package ops is what an operator needs to run Vigie: a liveness probe (/healthz), a readiness
// probe (/readyz: the database answers and its schema is the code's), and Prometheus metrics
// (/metrics). None of them holds personal data: requests are counted by route pattern, never by
// path; the business gauges are counts (rights requests, lifecycle items, locked accounts); the
// audit trail's state is its sequence numbers and checkpoint ages.
package ops

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"vigie/internal/app"
)

// Ops serves the probes and the metrics of one app. Each has its own Prometheus registry: nothing
// is registered globally, so two servers in one process (tests) never share a series.
type Ops struct {
	app       *app.App
	registry  *prometheus.Registry
	requests  *prometheus.CounterVec
	durations *prometheus.HistogramVec
	metrics   http.Handler
}

// New builds the probes and the metrics of an app. Gauges that need a service (rights, lifecycle,
// audit, accounts) are only collected when the app is unlocked; the probes need only the database.
func New(a *app.App) *Ops {
	o := &Ops{app: a, registry: prometheus.NewRegistry()}
	o.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vigie_http_requests_total",
		Help: "HTTP requests answered, by route pattern (never the path) and status code.",
	}, []string{"route", "status"})
	o.durations = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "vigie_http_request_duration_seconds",
		Help:    "Time to answer an HTTP request, by route pattern (never the path).",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"route"})
	o.registry.MustRegister(o.requests, o.durations,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newCollector(a, sourcesOf(a)))
	o.metrics = promhttp.HandlerFor(o.registry, promhttp.HandlerOpts{Timeout: scrapeTimeout})
	return o
}

// scrapeTimeout bounds a whole scrape; each source waits far less (sourceWait).
const scrapeTimeout = 10 * time.Second

// Register adds the operator's routes to the server's mux: its route table.
func (o *Ops) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", o.healthz)
	mux.HandleFunc("GET /readyz", o.readyz)
	mux.HandleFunc("GET /metrics", o.serveMetrics)
}
