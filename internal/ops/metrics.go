package ops

import (
	"crypto/subtle"
	"net"
	"net/http"
	"strconv"

	"vigie/internal/reqlog"
)

// Observe counts an answered request; the server hands it every request log line (reqlog). The
// labels are the route pattern and the status: a fixed, small set, whatever clients send.
func (o *Ops) Observe(l reqlog.Line) {
	o.requests.WithLabelValues(l.Route, strconv.Itoa(l.Status)).Inc()
	o.durations.WithLabelValues(l.Route).Observe(l.Duration.Seconds())
}

// serveMetrics answers the Prometheus scrape. With VIGIE_METRICS_TOKEN set it wants that bearer
// token, from anywhere; without one it answers only a client on the loopback that came through no
// proxy (a reverse proxy on the same machine connects from the loopback too, and marks what it
// forwards). The metrics hold no personal data, but they do describe the business and its backlog.
func (o *Ops) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if token := o.app.Config.MetricsToken; token != "" {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="vigie-metrics"`)
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "unauthorized",
				"message": "jeton de métriques manquant ou faux (Authorization: Bearer, VIGIE_METRICS_TOKEN)"})
			return
		}
	} else if !localAndDirect(r) {
		writeJSON(w, http.StatusForbidden, map[string]any{"error": "forbidden",
			"message": "métriques servies sur la boucle locale seulement ; définir VIGIE_METRICS_TOKEN pour les lire d'ailleurs"})
		return
	}
	o.metrics.ServeHTTP(w, r)
}

// localAndDirect reports whether a request comes from this machine and was not forwarded.
func localAndDirect(r *http.Request) bool {
	for _, h := range []string{"X-Forwarded-For", "Forwarded", "X-Real-Ip"} {
		if r.Header.Get(h) != "" {
			return false
		}
	}
	ip := net.ParseIP(reqlog.ClientAddress(r))
	return ip != nil && ip.IsLoopback()
}
