package metrics

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "loyaltyjam"

// Pipeline records the receipt pipeline's measurements. It implements
// verify.Recorder.
type Pipeline struct {
	verifications *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	decodes       *prometheus.CounterVec
	swept         prometheus.Counter
}

// NewPipeline creates the pipeline collectors and registers them on reg.
func NewPipeline(reg prometheus.Registerer) (*Pipeline, error) {
	p := &Pipeline{
		verifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "receipt_verifications_total",
			Help: "Receipt verification task runs by fiscal data provider and outcome.",
		}, []string{"provider", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "receipt_verification_seconds",
			Help:    "Duration of one fiscal data provider call made by the verification step.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15, 30},
		}, []string{"provider"}),
		decodes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "receipt_decodes_total",
			Help: "Background photo decode task runs by outcome.",
		}, []string{"outcome"}),
		swept: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "receipt_swept_total",
			Help: "Tasks re-enqueued by the sweeper for receipts whose task was lost or late.",
		}),
	}
	for _, c := range []prometheus.Collector{p.verifications, p.latency, p.decodes, p.swept} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Verification records one verification task run; took is the provider
// call's duration, zero when no call was made (then no latency is
// observed). An empty provider is recorded as "none".
func (p *Pipeline) Verification(provider, outcome string, took time.Duration) {
	if provider == "" {
		provider = "none"
	}
	p.verifications.WithLabelValues(provider, outcome).Inc()
	if took > 0 {
		p.latency.WithLabelValues(provider).Observe(took.Seconds())
	}
}

// Decode records one photo decode task run.
func (p *Pipeline) Decode(outcome string) { p.decodes.WithLabelValues(outcome).Inc() }

// Swept records the tasks one sweep re-enqueued.
func (p *Pipeline) Swept(n int) { p.swept.Add(float64(n)) }

// QueueInspector is the part of *asynq.Inspector the queue depth collector
// uses.
type QueueInspector interface {
	GetQueueInfo(queue string) (*asynq.QueueInfo, error)
}

// queueDepth reads the Asynq queue sizes at scrape time, so the gauge is
// never stale and costs nothing between scrapes.
type queueDepth struct {
	insp   QueueInspector
	queues []string
	desc   *prometheus.Desc
	errs   prometheus.Counter
}

// RegisterQueueDepth registers a collector of the depth of queues, read
// through insp (an *asynq.Inspector) on every scrape. A queue that does not
// exist yet reports nothing; read failures count in
// loyaltyjam_queue_inspect_errors_total.
func RegisterQueueDepth(reg prometheus.Registerer, insp QueueInspector, queues ...string) error {
	q := &queueDepth{
		insp: insp, queues: queues,
		desc: prometheus.NewDesc(namespace+"_queue_tasks", "Asynq tasks per queue and state.", []string{"queue", "state"}, nil),
		errs: prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "queue_inspect_errors_total",
			Help: "Failures to read queue sizes from Redis at scrape time."}),
	}
	if err := reg.Register(q.errs); err != nil {
		return err
	}
	return reg.Register(q)
}

func (q *queueDepth) Describe(ch chan<- *prometheus.Desc) { ch <- q.desc }

func (q *queueDepth) Collect(ch chan<- prometheus.Metric) {
	for _, name := range q.queues {
		info, err := q.insp.GetQueueInfo(name)
		if err != nil {
			// asynq answers "queue not found" until the first task; not a failure.
			if !isQueueNotFound(err) {
				q.errs.Inc()
			}
			continue
		}
		for state, n := range map[string]int{
			"pending": info.Pending, "active": info.Active, "scheduled": info.Scheduled,
			"retry": info.Retry, "archived": info.Archived, "completed": info.Completed,
		} {
			ch <- prometheus.MustNewConstMetric(q.desc, prometheus.GaugeValue, float64(n), name, state)
		}
	}
}

// Handler serves the registry in the Prometheus text format at /metrics.
func Handler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

// isQueueNotFound recognises asynq's "queue does not exist" answer, whose
// error type is internal to asynq.
func isQueueNotFound(err error) bool {
	return errors.Is(err, asynq.ErrQueueNotFound) || strings.Contains(err.Error(), "does not exist")
}
