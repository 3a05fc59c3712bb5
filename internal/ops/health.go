package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// probeTimeout bounds what the readiness probe waits for the database.
const probeTimeout = 2 * time.Second

// healthz answers 200 as long as the process serves HTTP: a liveness probe, which restarting the
// process would fix. It touches nothing else, so that a database outage never gets Vigie killed.
func (o *Ops) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
}

// readyz answers 200 when Vigie can serve: the database answers and every migration this binary
// knows is applied. Otherwise 503 with the reason, for a load balancer to send traffic elsewhere
// (and an operator to read); the database's own error stays in the log, since it may name hosts.
func (o *Ops) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), probeTimeout)
	defer cancel()
	if err := o.app.DB.PingContext(ctx); err != nil {
		o.app.Log.Warn("readyz: database unreachable", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "reason": "database_unreachable",
			"message": "base de données injoignable"})
		return
	}
	pending, err := o.app.DB.Pending(ctx)
	if err != nil {
		o.app.Log.Warn("readyz: cannot read the applied migrations", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "reason": "migrations_unreadable",
			"message": "migrations appliquées illisibles"})
		return
	}
	if len(pending) > 0 {
		names := make([]string, len(pending))
		for i, m := range pending {
			names[i] = fmt.Sprintf("%04d_%s", m.Version, m.Name)
		}
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "reason": "migrations_pending",
			"message": "migrations en attente : lancer « vigie migrate »", "pending": names})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
