package metrics

import (
	"context"
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

// BacklogRow is one status's share of the receipt backlog.
type BacklogRow struct {
	Status string
	Count  int64
	// Oldest is when the longest-waiting of them was last touched.
	Oldest time.Time
}

// BacklogSource counts the backlog: receipts in a non-terminal state,
// untouched since before and waiting for no retry scheduled later
// (receiptdb.Store.Backlog, adapted).
type BacklogSource func(ctx context.Context, before time.Time) ([]BacklogRow, error)

// backlog reads the receipt backlog from PostgreSQL at scrape time.
type backlog struct {
	src      BacklogSource
	olderOf  time.Duration
	now      func() time.Time
	count    *prometheus.Desc
	oldest   *prometheus.Desc
	errs     prometheus.Counter
	statuses []string
}

// RegisterBacklog registers the collectors of the receipt backlog, read
// through src on every scrape (within two seconds):
//
//   - loyaltyjam_receipt_backlog{status}: receipts in a non-terminal state
//     nothing has touched for more than olderThan and that wait for no
//     later retry: work the pipeline owes and is not doing (a lost task,
//     stopped workers, a queue longer than the workers);
//   - loyaltyjam_receipt_backlog_oldest_seconds{status}: how long the
//     oldest of them has waited.
//
// Every status in statuses reports, 0 when it has none, so an alert can
// watch a series that exists. Read failures count in
// loyaltyjam_receipt_backlog_errors_total.
func RegisterBacklog(reg prometheus.Registerer, src BacklogSource, olderThan time.Duration, statuses ...string) error {
	b := &backlog{src: src, olderOf: olderThan, now: time.Now, statuses: statuses,
		count: prometheus.NewDesc(namespace+"_receipt_backlog",
			"Receipts in a non-terminal state untouched for longer than the backlog age and waiting for no later retry, by status.",
			[]string{"status"}, prometheus.Labels{"older_than": olderThan.String()}),
		oldest: prometheus.NewDesc(namespace+"_receipt_backlog_oldest_seconds",
			"Seconds since the oldest backlog receipt of a status was last touched (0 when none).",
			[]string{"status"}, prometheus.Labels{"older_than": olderThan.String()}),
		errs: prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "receipt_backlog_errors_total",
			Help: "Failures to count the receipt backlog in PostgreSQL at scrape time."}),
	}
	if err := reg.Register(b.errs); err != nil {
		return err
	}
	return reg.Register(b)
}

func (b *backlog) Describe(ch chan<- *prometheus.Desc) { ch <- b.count; ch <- b.oldest }

func (b *backlog) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	now := b.now()
	rows, err := b.src(ctx, now.Add(-b.olderOf))
	if err != nil {
		b.errs.Inc()
		return
	}
	seen := map[string]BacklogRow{}
	for _, r := range rows {
		seen[r.Status] = r
	}
	emit := func(status string, r BacklogRow) {
		age := 0.0
		if r.Count > 0 {
			age = now.Sub(r.Oldest).Seconds()
		}
		ch <- prometheus.MustNewConstMetric(b.count, prometheus.GaugeValue, float64(r.Count), status)
		ch <- prometheus.MustNewConstMetric(b.oldest, prometheus.GaugeValue, age, status)
	}
	for _, s := range b.statuses {
		emit(s, seen[s])
		delete(seen, s)
	}
	for s, r := range seen {
		emit(s, r)
	}
}
