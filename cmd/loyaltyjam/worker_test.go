package main

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// With an operator token, the worker's /metrics answers only requests
// that carry it (it used to answer anyone).
func TestWorkerMetricsNeedToken(t *testing.T) {
	t.Parallel()
	const token = "operator-token-0123456789"
	mux := workerMetricsMux(prometheus.NewRegistry(), token)
	cases := []struct {
		name, auth string
		want       int
	}{
		{"none", "", http.StatusUnauthorized},
		{"wrong bearer", "Bearer nope", http.StatusUnauthorized},
		{"bearer", "Bearer " + token, http.StatusOK},
		{"basic password", "Basic " + base64.StdEncoding.EncodeToString([]byte("prometheus:"+token)), http.StatusOK},
	}
	for _, tc := range cases {
		req := httptest.NewRequest("GET", "/metrics", nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		if w.Code != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, w.Code, tc.want)
		}
	}
	// Without a token (loopback only, by ForWorker) it stays open.
	w := httptest.NewRecorder()
	workerMetricsMux(prometheus.NewRegistry(), "").ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if w.Code != http.StatusOK {
		t.Errorf("no token configured: %d", w.Code)
	}
}
