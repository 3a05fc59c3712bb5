package ops

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"vigie/internal/app"
)

// A source computes a group of gauges from the database. The scrape never waits on it for long: a
// source is refreshed when its values are older than its ttl, in the background, and the scrape
// waits at most sourceWait for the refresh before it serves the values it has. The counts of the
// retention lifecycle take seconds on a million persons, so they are kept five minutes; the others
// are cheap, indexed reads.
type source struct {
	name    string
	ttl     time.Duration
	timeout time.Duration
	read    func(ctx context.Context, now time.Time, emit func(prometheus.Metric)) error

	mu         sync.Mutex
	values     []prometheus.Metric
	at         time.Time // when values were read (zero: never)
	attempted  time.Time
	ok         bool
	refreshing chan struct{}
}

// sourceWait is how long a scrape waits for a source being refreshed.
const sourceWait = 2 * time.Second

var (
	sourceUp = prometheus.NewDesc("vigie_metrics_source_up",
		"1 when the last reading of a group of database gauges succeeded, 0 when it failed or timed out (the previous values are served).",
		[]string{"source"}, nil)
	sourceAge = prometheus.NewDesc("vigie_metrics_source_age_seconds",
		"Age of the values served for a group of database gauges.", []string{"source"}, nil)
)

// collector is the prometheus.Collector of the database gauges and of the services' counters.
type collector struct {
	app     *app.App
	sources []*source
}

func newCollector(a *app.App, sources []*source) *collector {
	return &collector{app: a, sources: sources}
}

// Describe sends nothing: the collector is unchecked, since which series exist depends on the
// data (a breach, a rule) and on whether the app is unlocked.
func (c *collector) Describe(chan<- *prometheus.Desc) {}

// Collect serves each source's latest values, refreshing the stale ones first within sourceWait.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	var wg sync.WaitGroup
	for _, s := range c.sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.collect(c.app, ch)
		}()
	}
	wg.Wait()
	c.live(ch)
}

func (s *source) collect(a *app.App, ch chan<- prometheus.Metric) {
	s.mu.Lock()
	if s.refreshing == nil && time.Since(s.attempted) >= s.ttl {
		s.refreshing = make(chan struct{})
		go s.refresh(a)
	}
	done := s.refreshing
	s.mu.Unlock()
	if done != nil {
		timer := time.NewTimer(sourceWait)
		select {
		case <-done:
		case <-timer.C:
		}
		timer.Stop()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.values {
		ch <- m
	}
	up := 0.0
	if s.ok {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(sourceUp, prometheus.GaugeValue, up, s.name)
	if !s.at.IsZero() {
		ch <- prometheus.MustNewConstMetric(sourceAge, prometheus.GaugeValue, time.Since(s.at).Seconds(), s.name)
	}
}

// refresh reads the source with its own deadline, detached from the scrape that started it.
func (s *source) refresh(a *app.App) {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	var values []prometheus.Metric
	err := s.read(ctx, a.Now(), func(m prometheus.Metric) { values = append(values, m) })
	if err != nil {
		a.Log.Warn("metrics: cannot read a source", "source", s.name, "err", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempted, s.ok = time.Now(), err == nil
	if err == nil {
		s.values, s.at = values, time.Now()
	}
	close(s.refreshing)
	s.refreshing = nil
}
