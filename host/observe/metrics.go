package observe

import (
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are moat's Prometheus metrics, on a registry of their own. Every
// label value comes from the host (method names from a fixed set, plugin
// and tool names from loaded plugins, reasons from fixed lists), never
// from what a client sent, so the series stay bounded.
type Metrics struct {
	Registry *prometheus.Registry

	Requests         *prometheus.CounterVec   // method, outcome
	RequestDuration  *prometheus.HistogramVec // method
	ToolCalls        *prometheus.CounterVec   // plugin, tool, outcome
	ToolCallDuration *prometheus.HistogramVec // plugin, tool
	PluginFaults     *prometheus.CounterVec   // plugin, kind
	BreakerState     *prometheus.GaugeVec     // plugin: 0 closed, 1 half-open, 2 open
	QueueWait        *prometheus.HistogramVec // plugin
	Inflight         prometheus.Gauge
	Rejected         *prometheus.CounterVec // reason: max_inflight, draining, invalid_request, max_sessions, max_streams
	RateLimited      *prometheus.CounterVec // scope
	AuthFailures     *prometheus.CounterVec // reason
	PluginsLoaded    prometheus.Gauge
	AuditDropped     prometheus.CounterFunc
	Open             *prometheus.GaugeVec // kind: sessions, streams
	// PluginRequests counts what plugins serve beside tool calls:
	// resources/read, prompts/get and completion/complete.
	PluginRequests *prometheus.CounterVec // plugin, method, outcome
	// ToolCache counts the lookups of the result cache, for the tools it
	// may serve: l1_hit (in process), l2_hit (Redis) or miss.
	ToolCache *prometheus.CounterVec // plugin, tool, result
	// DeadlineOvershoot is how late a timed-out call's plugin code was
	// stopped, past its deadline.
	DeadlineOvershoot *prometheus.HistogramVec // plugin
}

// PoolStats is one plugin's pool as the instance and memory gauges show it.
type PoolStats struct {
	Plugin      string
	Idle, Busy  int
	MemoryBytes uint64
}

// NewMetrics registers every metric, the Go and process collectors, and
// moat_build_info. pools is called at each scrape for the instance and
// memory gauges; audit may be nil.
func NewMetrics(version string, pools func() []PoolStats, audit *Audit) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{Registry: reg}
	latency := []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
	m.Requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "moat_requests_total",
		Help: "MCP requests by method and outcome (ok, error)."}, []string{"method", "outcome"})
	m.RequestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "moat_request_duration_seconds",
		Help: "Time to answer an MCP request.", Buckets: latency}, []string{"method"})
	m.ToolCalls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "moat_tool_calls_total",
		Help: "Tool calls by plugin, tool and outcome (ok, tool_error, invalid_arguments, fault:KIND, quarantined, rejected)."}, []string{"plugin", "tool", "outcome"})
	m.ToolCallDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "moat_tool_call_duration_seconds",
		Help: "Time a tool call spent in its plugin, queue included.", Buckets: latency}, []string{"plugin", "tool"})
	m.PluginFaults = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "moat_plugin_faults_total",
		Help: "Plugin faults by kind (timeout, out_of_memory, trap, bad_output, exit, busy)."}, []string{"plugin", "kind"})
	m.BreakerState = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "moat_breaker_state",
		Help: "Circuit breaker of each plugin: 0 closed, 1 half-open, 2 open."}, []string{"plugin"})
	m.QueueWait = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "moat_plugin_queue_wait_seconds",
		Help: "Time a call waited for a free instance.", Buckets: []float64{0, .0001, .001, .01, .05, .1, .25, .5, 1, 2.5, 5}}, []string{"plugin"})
	m.Inflight = prometheus.NewGauge(prometheus.GaugeOpts{Name: "moat_inflight_calls", Help: "Tool calls running now."})
	m.Rejected = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "moat_rejected_calls_total",
		Help: "Requests refused at once: a call past max_inflight or during a drain, a body the edge refused (invalid_request), a session or stream past its cap (max_sessions, max_streams)."}, []string{"reason"})
	m.RateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "moat_rate_limited_total",
		Help: "Requests refused by a rate limit, by bucket scope."}, []string{"scope"})
	m.AuthFailures = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "moat_auth_failures_total",
		Help: "Requests refused by authentication, by reason."}, []string{"reason"})
	m.PluginRequests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "moat_plugin_requests_total",
		Help: "Requests served by plugins beside tool calls (resources/read, prompts/get, completion/complete), by plugin, method and outcome."}, []string{"plugin", "method", "outcome"})
	m.ToolCache = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "moat_tool_cache_total",
		Help: "Result cache lookups of the tools it may serve, by plugin, tool and result (l1_hit in process, l2_hit from Redis, miss)."}, []string{"plugin", "tool", "result"})
	m.PluginsLoaded = prometheus.NewGauge(prometheus.GaugeOpts{Name: "moat_plugins_loaded", Help: "Plugins loaded and serving."})
	m.Open = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "moat_http_open",
		Help: "What HTTP clients hold open now: sessions (2025-11-25) and event streams."}, []string{"kind"})
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "moat_build_info",
		Help: "Always 1; the labels say which moat this is."}, []string{"version", "goversion"})
	buildInfo.WithLabelValues(version, runtime.Version()).Set(1)
	m.DeadlineOvershoot = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "moat_deadline_overshoot_seconds",
		Help:    "How long after its deadline a timed-out plugin call was stopped: the timer's delay and the time to the plugin's next check.",
		Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1}}, []string{"plugin"})
	reg.MustRegister(m.PluginRequests, m.ToolCache, m.DeadlineOvershoot)
	reg.MustRegister(m.Requests, m.RequestDuration, m.ToolCalls, m.ToolCallDuration, m.PluginFaults, m.BreakerState,
		m.QueueWait, m.Inflight, m.Rejected, m.RateLimited, m.AuthFailures, m.PluginsLoaded, m.Open, buildInfo,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if audit != nil {
		m.AuditDropped = prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "moat_audit_dropped_total",
			Help: "Audit records dropped because the audit writer fell behind."}, func() float64 { return float64(audit.Dropped()) })
		reg.MustRegister(m.AuditDropped)
	}
	if pools != nil {
		reg.MustRegister(&poolCollector{pools: pools})
	}
	return m
}

var (
	instancesDesc = prometheus.NewDesc("moat_plugin_instances", "Instances of each plugin, idle or busy.", []string{"plugin", "state"}, nil)
	memoryDesc    = prometheus.NewDesc("moat_plugin_memory_bytes", "Linear memory of each plugin's idle instances.", []string{"plugin"}, nil)
)

// poolCollector reads the pools at scrape time.
type poolCollector struct{ pools func() []PoolStats }

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- instancesDesc
	ch <- memoryDesc
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.pools() {
		ch <- prometheus.MustNewConstMetric(instancesDesc, prometheus.GaugeValue, float64(s.Idle), s.Plugin, "idle")
		ch <- prometheus.MustNewConstMetric(instancesDesc, prometheus.GaugeValue, float64(s.Busy), s.Plugin, "busy")
		ch <- prometheus.MustNewConstMetric(memoryDesc, prometheus.GaugeValue, float64(s.MemoryBytes), s.Plugin)
	}
}

// nil-safe helpers, so the host can run without metrics in tests and tools.

// ObservePluginRequest counts one request a plugin served beside a tool
// call.
func (m *Metrics) ObservePluginRequest(plugin, method, outcome string) {
	if m == nil {
		return
	}
	m.PluginRequests.WithLabelValues(plugin, method, outcome).Inc()
}

// ObserveToolCall counts one tool call and its duration.
func (m *Metrics) ObserveToolCall(plugin, tool, outcome string, seconds float64) {
	if m == nil {
		return
	}
	m.ToolCalls.WithLabelValues(plugin, tool, outcome).Inc()
	m.ToolCallDuration.WithLabelValues(plugin, tool).Observe(seconds)
}

// ObserveCacheHit counts a tool call answered from the result cache,
// result l1_hit or l2_hit: a call whose outcome is ok, and which spent no
// time in its plugin (the duration histogram is not observed).
func (m *Metrics) ObserveCacheHit(plugin, tool, result string) {
	if m == nil {
		return
	}
	m.ToolCalls.WithLabelValues(plugin, tool, "ok").Inc()
	m.ToolCache.WithLabelValues(plugin, tool, result).Inc()
}

// ObserveCacheMiss counts a lookup of the result cache that found nothing.
func (m *Metrics) ObserveCacheMiss(plugin, tool string) {
	if m == nil {
		return
	}
	m.ToolCache.WithLabelValues(plugin, tool, "miss").Inc()
}

// Fault counts one plugin fault.
func (m *Metrics) Fault(plugin, kind string) {
	if m == nil {
		return
	}
	m.PluginFaults.WithLabelValues(plugin, kind).Inc()
}

// Overshoot observes how late past its deadline a plugin's call was
// stopped.
func (m *Metrics) Overshoot(plugin string, late time.Duration) {
	if m == nil {
		return
	}
	m.DeadlineOvershoot.WithLabelValues(plugin).Observe(late.Seconds())
}

// Breaker sets a plugin's breaker state gauge.
func (m *Metrics) Breaker(plugin string, state int) {
	if m == nil {
		return
	}
	m.BreakerState.WithLabelValues(plugin).Set(float64(state))
}

// Wait observes a call's wait for an instance.
func (m *Metrics) Wait(plugin string, seconds float64) {
	if m == nil {
		return
	}
	m.QueueWait.WithLabelValues(plugin).Observe(seconds)
}

// Reject counts a call refused at once.
func (m *Metrics) Reject(reason string) {
	if m == nil {
		return
	}
	m.Rejected.WithLabelValues(reason).Inc()
}

// Limited counts a request refused by a rate limit.
func (m *Metrics) Limited(scope string) {
	if m == nil {
		return
	}
	m.RateLimited.WithLabelValues(scope).Inc()
}

// AuthFailed counts a request refused by authentication.
func (m *Metrics) AuthFailed(reason string) {
	if m == nil {
		return
	}
	m.AuthFailures.WithLabelValues(reason).Inc()
}

// Request counts one MCP request.
func (m *Metrics) Request(method, outcome string, seconds float64) {
	if m == nil {
		return
	}
	m.Requests.WithLabelValues(method, outcome).Inc()
	m.RequestDuration.WithLabelValues(method).Observe(seconds)
}

// InflightAdd moves the in-flight gauge.
func (m *Metrics) InflightAdd(delta float64) {
	if m == nil {
		return
	}
	m.Inflight.Add(delta)
}

// OpenAdd moves the gauge of what clients hold open, kind sessions or
// streams.
func (m *Metrics) OpenAdd(kind string, delta float64) {
	if m == nil {
		return
	}
	m.Open.WithLabelValues(kind).Add(delta)
}

// Forget drops the series of an unloaded plugin that would otherwise keep
// their last value (its breaker state), so alerts on it clear.
func (m *Metrics) Forget(plugin string) {
	if m == nil {
		return
	}
	m.BreakerState.DeleteLabelValues(plugin)
}
