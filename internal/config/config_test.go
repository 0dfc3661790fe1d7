package config

import (
	"strings"
	"testing"
	"time"
)

func lookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	c, err := LoadFrom(lookup(map[string]string{
		"DATABASE_URL": "postgres://u:pw@localhost/db", "REDIS_URL": "redis://localhost:6379/0",
		"JWT_SECRET": strings.Repeat("k", 32),
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != ":8080" || c.OFD.PendingWindow != 72*time.Hour || c.Auth.UploadsPerHour != 30 {
		t.Fatalf("defaults not applied: %+v", c)
	}
}

func TestLoadNamesEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := LoadFrom(lookup(map[string]string{
		"REDIS_URL": "http://x", "LOG_LEVEL": "loud", "SHUTDOWN_TIMEOUT": "soon", "WORKER_CONCURRENCY": "0",
	}))
	if err == nil {
		t.Fatal("want error")
	}
	for _, name := range []string{"DATABASE_URL", "REDIS_URL", "LOG_LEVEL", "SHUTDOWN_TIMEOUT", "WORKER_CONCURRENCY"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}

func TestStringMasksSecrets(t *testing.T) {
	t.Parallel()
	c, err := LoadFrom(lookup(map[string]string{
		"DATABASE_URL": "postgres://u:hunter2@localhost/db", "REDIS_URL": "redis://:redispw@localhost:6379/0",
		"JWT_SECRET": "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t", "SMS_API_KEY": "smskey123", "LJ_ENV": "development",
	}))
	if err != nil {
		t.Fatal(err)
	}
	s := c.String()
	for _, secret := range []string{"hunter2", "redispw", "s3cr3t", "smskey123"} {
		if strings.Contains(s, secret) {
			t.Errorf("String() leaks %q:\n%s", secret, s)
		}
	}
	if !strings.Contains(s, "DATABASE_URL=postgres://u:%2A%2A%2A%2A%2A%2A@localhost/db") && !strings.Contains(s, "u:******@") {
		t.Errorf("DATABASE_URL not shown masked:\n%s", s)
	}
}

func TestServeNeedsSecretsInProduction(t *testing.T) {
	t.Parallel()
	base := map[string]string{"DATABASE_URL": "postgres://localhost/db", "REDIS_URL": "redis://localhost:6379/0"}
	c, err := LoadFrom(lookup(base))
	if err != nil {
		t.Fatalf("tools such as migrate need no API secrets: %v", err)
	}
	err = c.ForServe()
	for _, name := range []string{"JWT_SECRET", "OPERATOR_TOKEN"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("ForServe does not name %s: %v", name, err)
		}
	}
	base["JWT_SECRET"], base["OPERATOR_TOKEN"] = strings.Repeat("k", 32), "short"
	if c, _ = LoadFrom(lookup(base)); c.ForServe() == nil {
		t.Error("a 5-character operator token was accepted in production")
	}
	base["OPERATOR_TOKEN"] = strings.Repeat("o", 16)
	if c, _ = LoadFrom(lookup(base)); c.ForServe() != nil {
		t.Errorf("complete production settings refused: %v", c.ForServe())
	}
	base["LJ_ENV"] = "development"
	delete(base, "JWT_SECRET")
	delete(base, "OPERATOR_TOKEN")
	if c, _ = LoadFrom(lookup(base)); c.ForServe() != nil {
		t.Errorf("development needs no secrets: %v", c.ForServe())
	}
}

func TestCredentialsKey(t *testing.T) {
	t.Parallel()
	base := map[string]string{"DATABASE_URL": "postgres://localhost/db", "REDIS_URL": "redis://localhost:6379/0"}
	c, err := LoadFrom(lookup(base))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ForWorker(); err == nil || !strings.Contains(err.Error(), "CREDENTIALS_KEY") {
		t.Errorf("a production worker without CREDENTIALS_KEY: %v", err)
	}
	base["CREDENTIALS_KEY"] = "not-a-key"
	if _, err := LoadFrom(lookup(base)); err == nil || !strings.Contains(err.Error(), "CREDENTIALS_KEY") {
		t.Errorf("a malformed key: %v", err)
	}
	key := strings.Repeat("5a", 32)
	base["CREDENTIALS_KEY"] = key
	if c, err = LoadFrom(lookup(base)); err != nil || len(c.CredentialsKey) != 32 || c.ForWorker() != nil {
		t.Fatalf("a hex key: %v, %d bytes", err, len(c.CredentialsKey))
	}
	if s := c.String(); strings.Contains(s, key) || strings.Contains(s, string(c.CredentialsKey)) {
		t.Errorf("String() leaks the key")
	}
}

// The worker's /metrics listened on every interface without auth, and an
// empty WORKER_METRICS_ADDR did not turn it off.
func TestWorkerMetricsAddr(t *testing.T) {
	t.Parallel()
	base := func() map[string]string {
		return map[string]string{"DATABASE_URL": "postgres://localhost/db", "REDIS_URL": "redis://localhost:6379/0",
			"LJ_ENV": "development"}
	}
	cases := []struct {
		name     string
		set      map[string]string
		wantAddr string
		wantErr  bool
	}{
		{"default is loopback", nil, "127.0.0.1:9090", false},
		{"empty turns it off", map[string]string{"WORKER_METRICS_ADDR": ""}, "", false},
		{"blank turns it off", map[string]string{"WORKER_METRICS_ADDR": "  "}, "", false},
		{"every interface needs a token", map[string]string{"WORKER_METRICS_ADDR": ":9090"}, ":9090", true},
		{"a public address needs a token", map[string]string{"WORKER_METRICS_ADDR": "10.0.0.5:9090"}, "10.0.0.5:9090", true},
		{"with a token it may", map[string]string{"WORKER_METRICS_ADDR": "0.0.0.0:9090", "OPERATOR_TOKEN": strings.Repeat("o", 16)}, "0.0.0.0:9090", false},
		{"ipv6 loopback", map[string]string{"WORKER_METRICS_ADDR": "[::1]:9090"}, "[::1]:9090", false},
		{"localhost", map[string]string{"WORKER_METRICS_ADDR": "localhost:9090"}, "localhost:9090", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := base()
			for k, v := range tc.set {
				env[k] = v
			}
			c, err := LoadFrom(lookup(env))
			if err != nil {
				t.Fatal(err)
			}
			if c.WorkerMetricsAddr != tc.wantAddr {
				t.Errorf("addr %q, want %q", c.WorkerMetricsAddr, tc.wantAddr)
			}
			err = c.ForWorker()
			if (err != nil) != tc.wantErr || (err != nil && !strings.Contains(err.Error(), "OPERATOR_TOKEN")) {
				t.Errorf("ForWorker: %v, want error %v", err, tc.wantErr)
			}
		})
	}
}

// migrate up and ledger check need only PostgreSQL: an unset REDIS_URL is
// not an error of the configuration (openDeps, for serve, worker and dev,
// refuses it), but a malformed one still is.
func TestRedisURLOnlyWhereNeeded(t *testing.T) {
	t.Parallel()
	cfg, err := LoadFrom(lookup(map[string]string{"DATABASE_URL": "postgres://localhost/db"}))
	if err != nil || cfg.RedisURL != "" {
		t.Fatalf("without REDIS_URL: %v (redis %q)", err, cfg.RedisURL)
	}
	if _, err := LoadFrom(lookup(map[string]string{"DATABASE_URL": "postgres://localhost/db", "REDIS_URL": "http://x"})); err == nil || !strings.Contains(err.Error(), "REDIS_URL") {
		t.Fatalf("a malformed REDIS_URL was accepted: %v", err)
	}
}
