package server

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/moat-mcp/moat/host/internal/plugin"
	"github.com/moat-mcp/moat/host/observe"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// Admin serves the operator's endpoints on their own listener, apart from
// /mcp: /metrics for Prometheus, /healthz (liveness), /readyz (readiness)
// and /health (a JSON report). It starts before the plugins load, so that
// probes see "not ready" rather than nothing.
type Admin struct {
	metrics *observe.Metrics
	version string
	started time.Time
	log     hclog.Logger

	secrets  atomic.Pointer[observe.Secrets]
	registry atomic.Pointer[plugin.Registry]
	failed   atomic.Int64 // plugins that did not load
	ready    atomic.Bool
	draining atomic.Bool
	// store reports the shared store; nil reports the embedded one.
	store atomic.Pointer[func(context.Context) StoreHealth]
}

// StoreHealth is the store in /health: engine embedded or redis, status
// ok or degraded (with the error).
type StoreHealth struct {
	Engine string `json:"engine"`
	Name   string `json:"name,omitempty"`
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// SetStore makes /health report the shared store by asking fn. A degraded
// store makes the report degraded, never unhealthy: moat serves what does
// not need the store, so /readyz stays ready.
func (a *Admin) SetStore(fn func(context.Context) StoreHealth) { a.store.Store(&fn) }

// NewAdmin returns the admin endpoints over metrics.
func NewAdmin(metrics *observe.Metrics, version string, log hclog.Logger) *Admin {
	return &Admin{metrics: metrics, version: version, started: time.Now(), log: log}
}

// SetScrubber makes the admin endpoints redact secrets from all they
// serve: /health carries faults whose messages hold text a plugin chose,
// and /metrics labels carry names plugins described. The admin port takes
// no credentials, so what it serves must be fit for anyone who reaches it.
// Call it before ServeAdmin; without it nothing is redacted.
func (a *Admin) SetScrubber(s *observe.Secrets) { a.secrets.Store(s) }

// Loaded records the registry once plugins are loaded, and how many failed.
func (a *Admin) Loaded(reg *plugin.Registry, failed int) {
	a.registry.Store(reg)
	a.failed.Store(int64(failed))
	if a.metrics != nil {
		a.metrics.PluginsLoaded.Set(float64(len(reg.Plugins())))
	}
}

// SetReady marks the host ready once it listens; Drain marks it draining,
// which /readyz reports at once.
func (a *Admin) SetReady() { a.ready.Store(true) }

// Drain makes /readyz answer 503 from now on.
func (a *Admin) Drain() { a.draining.Store(true) }

// Pools reports every loaded plugin's pool, for the instance gauges.
func (a *Admin) Pools() []observe.PoolStats {
	reg := a.registry.Load()
	if reg == nil {
		return nil
	}
	var out []observe.PoolStats
	for _, p := range reg.Plugins() {
		st := p.Sandbox().Stats()
		out = append(out, observe.PoolStats{Plugin: p.Name, Idle: st.Instances - st.Busy, Busy: st.Busy, MemoryBytes: st.MemoryBytes})
	}
	return out
}

// Handler serves the admin endpoints.
func (a *Admin) Handler() http.Handler {
	mux := http.NewServeMux()
	if a.metrics != nil {
		gather := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
			families, err := a.metrics.Registry.Gather()
			scrubLabels(a.secrets.Load(), families)
			return families, err
		})
		mux.Handle("/metrics", promhttp.HandlerFor(gather, promhttp.HandlerOpts{ErrorLog: a.log.StandardLogger(nil)}))
	}
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		switch {
		case a.draining.Load():
			http.Error(w, "draining", http.StatusServiceUnavailable)
		case !a.ready.Load():
			http.Error(w, "starting", http.StatusServiceUnavailable)
		default:
			w.Write([]byte("ready\n"))
		}
	})
	mux.HandleFunc("/health", a.health)
	return mux
}

// PluginHealth is one plugin in /health.
type PluginHealth struct {
	Name        string     `json:"name"`
	Status      string     `json:"status"` // serving, on_trial, quarantined
	Breaker     string     `json:"breaker"`
	Instances   int        `json:"instances"`
	Busy        int        `json:"busy"`
	Faults      uint64     `json:"faults"`
	LastFault   string     `json:"last_fault,omitempty"`
	LastFaultAt *time.Time `json:"last_fault_at,omitempty"`
	CheckMS     float64    `json:"check_ms"`
}

// HealthReport is the body of /health.
type HealthReport struct {
	Status        string         `json:"status"` // healthy, degraded, unhealthy
	Ready         bool           `json:"ready"`
	Version       string         `json:"version"`
	UptimeSeconds float64        `json:"uptime_seconds"`
	Plugins       []PluginHealth `json:"plugins"`
	FailedToLoad  int64          `json:"failed_to_load"`
	Store         StoreHealth    `json:"store"`
	CheckMS       float64        `json:"check_ms"`
}

// health reports healthy when every plugin serves, degraded when some are
// quarantined or failed to load or the shared store does not answer, and
// unhealthy when none serves or the host is starting or draining (503).
func (a *Admin) health(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rep := HealthReport{
		Ready:         a.ready.Load() && !a.draining.Load(),
		Version:       a.version,
		UptimeSeconds: time.Since(a.started).Seconds(),
		FailedToLoad:  a.failed.Load(),
		Plugins:       []PluginHealth{},
	}
	serving := 0
	if reg := a.registry.Load(); reg != nil {
		for _, p := range reg.Plugins() {
			t0 := time.Now()
			h, st := p.Health(), p.Sandbox().Stats()
			ph := PluginHealth{Name: p.Name, Breaker: h.Breaker, Instances: st.Instances, Busy: st.Busy, Faults: h.Faults, LastFault: h.LastFault}
			if !h.LastAt.IsZero() {
				at := h.LastAt.UTC()
				ph.LastFaultAt = &at
			}
			switch h.Breaker {
			case "open":
				ph.Status = "quarantined"
			case "half-open":
				ph.Status = "on_trial"
			default:
				ph.Status = "serving"
				serving++
			}
			ph.CheckMS = float64(time.Since(t0).Microseconds()) / 1000
			rep.Plugins = append(rep.Plugins, ph)
		}
	}
	rep.Store = StoreHealth{Engine: "embedded", Status: "ok"}
	if fn := a.store.Load(); fn != nil {
		rep.Store = (*fn)(r.Context())
	}
	switch {
	case !rep.Ready || (len(rep.Plugins) > 0 && serving == 0):
		rep.Status = "unhealthy"
	case serving < len(rep.Plugins) || rep.FailedToLoad > 0 || rep.Store.Status != "ok":
		rep.Status = "degraded"
	default:
		rep.Status = "healthy"
	}
	rep.CheckMS = float64(time.Since(start).Microseconds()) / 1000
	body, _ := json.MarshalIndent(rep, "", "  ") // plain data: it always encodes
	w.Header().Set("Content-Type", "application/json")
	if rep.Status == "unhealthy" {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	// The whole document, not chosen fields: any string in it may one day
	// hold a plugin's text.
	w.Write(append(a.secrets.Load().ScrubJSON(body), '\n'))
}

// scrubLabels redacts secrets from the label values of families. A Gather
// builds each metric afresh for its scrape, but its label pairs are the
// live metric's own, shared by every scrape: a pair to redact is replaced
// in a copy of the list, never changed in place.
func scrubLabels(s *observe.Secrets, families []*dto.MetricFamily) {
	if s.Len() == 0 {
		return
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			copied := false
			for i, l := range m.GetLabel() {
				v := l.GetValue()
				scrubbed := s.Scrub(v)
				if scrubbed == v {
					continue
				}
				if !copied {
					m.Label, copied = slices.Clone(m.Label), true
				}
				m.Label[i] = &dto.LabelPair{Name: l.Name, Value: &scrubbed}
			}
		}
	}
}

// ServeAdmin serves the admin endpoints on ln until stop is called.
func (a *Admin) ServeAdmin(ln net.Listener) (stop func()) {
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("admin listener failed", "error", err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	}
}
