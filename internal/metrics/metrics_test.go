package metrics_test

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/loyaltyjam/loyaltyjam/internal/metrics"
	"github.com/loyaltyjam/loyaltyjam/internal/queue"
	"github.com/loyaltyjam/loyaltyjam/internal/redistest"
)

func scrape(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	srv := httptest.NewServer(metrics.Handler(reg))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	return string(b)
}

func TestPipelineSeries(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	p, err := metrics.NewPipeline(reg)
	if err != nil {
		t.Fatal(err)
	}
	p.Verification("proverkacheka", "verified", 120*time.Millisecond)
	p.Verification("proverkacheka", "verified", 80*time.Millisecond)
	p.Verification("", "skipped", 0)
	p.Decode("unreadable")
	p.Swept(3)
	body := scrape(t, reg)
	for _, want := range []string{
		`loyaltyjam_receipt_verifications_total{outcome="verified",provider="proverkacheka"} 2`,
		`loyaltyjam_receipt_verifications_total{outcome="skipped",provider="none"} 1`,
		`loyaltyjam_receipt_verification_seconds_count{provider="proverkacheka"} 2`,
		`loyaltyjam_receipt_decodes_total{outcome="unreadable"} 1`,
		`loyaltyjam_receipt_swept_total 3`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("missing %q in\n%s", want, body)
		}
	}
	if strings.Contains(body, `verification_seconds_count{provider="none"}`) {
		t.Error("a run without a provider call observed latency")
	}
	// A second pipeline on the same registry is refused, not silently merged.
	if _, err := metrics.NewPipeline(reg); err == nil {
		t.Error("double registration accepted")
	}
}

func TestQueueDepth(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(redistest.DB(t))
	defer rdb.Close()
	reg := prometheus.NewRegistry()
	insp := asynq.NewInspectorFromRedisClient(rdb)
	if err := metrics.RegisterQueueDepth(reg, insp, queue.Critical, queue.Low); err != nil {
		t.Fatal(err)
	}
	// No queue yet: nothing reported, no error counted.
	body := scrape(t, reg)
	if strings.Contains(body, "loyaltyjam_queue_tasks{") || !strings.Contains(body, "loyaltyjam_queue_inspect_errors_total 0") {
		t.Fatalf("empty Redis:\n%s", body)
	}
	c := asynq.NewClientFromRedisClient(rdb)
	for i, delay := range []time.Duration{0, 0, time.Hour} {
		task, err := queue.NewReceiptVerify("00000000-0000-0000-0000-00000000000"+string(rune('1'+i)), delay)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.EnqueueContext(context.Background(), task); err != nil {
			t.Fatal(err)
		}
	}
	body = scrape(t, reg)
	for _, want := range []string{
		`loyaltyjam_queue_tasks{queue="critical",state="pending"} 2`,
		`loyaltyjam_queue_tasks{queue="critical",state="scheduled"} 1`,
		`loyaltyjam_queue_tasks{queue="critical",state="active"} 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("missing %q in\n%s", want, body)
		}
	}
}
