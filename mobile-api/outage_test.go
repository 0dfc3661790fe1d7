package mobileapi_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/loyaltyjam/loyaltyjam/internal/auth"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/taxdb"
	"github.com/loyaltyjam/loyaltyjam/internal/sealbox"
	mobileapi "github.com/loyaltyjam/loyaltyjam/mobile-api"
)

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// doOutage is do for requests that may answer 503 (and must never 500).
func (e *env) doOutage(t *testing.T, req *http.Request) resp {
	t.Helper()
	res, err := e.app.Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	r := resp{Status: res.StatusCode, Header: res.Header, Body: body}
	if err := e.validate(req, r); err != nil {
		t.Error(err)
	}
	return r
}

// TestRedisDown: with Redis unreachable sign-in works and uploads are
// accepted into PostgreSQL (the sweeper enqueues them when Redis is back:
// workers.TestSweepLostTasks), under the same limits counted in memory.
func TestRedisDown(t *testing.T) {
	t.Parallel()
	cfg := defaultAuth()
	cfg.UploadsPerHour = 2
	addr := closedAddr(t)
	e := newEnvWith(t, cfg, func(d *mobileapi.Deps) {
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		t.Cleanup(func() { rdb.Close() })
		qc := asynq.NewClientFromRedisClient(rdb)
		d.Redis, d.Queue = rdb, qc
	})
	c := e.client(t, "live")
	p := e.participant(t, c, "", "active")

	// Sign-in: password and SMS code.
	tok := e.login(t, p).AccessToken
	r := e.do(t, jsonReq("POST", "/v1/auth/otp/request", "", map[string]any{"phone": p.Phone}))
	if r.Status != http.StatusAccepted {
		t.Fatalf("otp request: %d %s", r.Status, r.Body)
	}
	msg, ok := e.sim.Last(p.Phone)
	if !ok {
		t.Fatal("no code sent")
	}
	if r := e.do(t, jsonReq("POST", "/v1/auth/otp/verify", "", map[string]any{"phone": p.Phone, "code": msg.Code()})); r.Status != 200 {
		t.Fatalf("otp verify: %d %s", r.Status, r.Body)
	}

	// Uploads: accepted and stored, up to the same limit.
	ctx := context.Background()
	for i := range 2 {
		r := e.do(t, jsonReq("POST", "/v1/receipts", tok, map[string]any{"qr": qrText()}))
		var a accepted
		r.json(t, &a)
		if r.Status != http.StatusAccepted || a.Status != "queued" {
			t.Fatalf("upload %d with redis down: %d %s", i, r.Status, r.Body)
		}
		var status string
		if err := e.db.QueryRow(ctx, `SELECT status FROM receipts WHERE id = $1`, a.ID).Scan(&status); err != nil || status != "queued" {
			t.Fatalf("receipt row: %q %v", status, err)
		}
	}
	r = e.do(t, jsonReq("POST", "/v1/receipts", tok, map[string]any{"qr": qrText()}))
	if r.Status != http.StatusTooManyRequests || r.code() != "upload_limit_exceeded" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("third upload with redis down: %d %s", r.Status, r.Body)
	}
}

// TestDatabaseDown: with PostgreSQL unreachable, sign-in and upload answer
// 503 with Retry-After and code "unavailable", never 500.
func TestDatabaseDown(t *testing.T) {
	t.Parallel()
	dead, err := pgxpool.New(context.Background(), "postgres://postgres@"+closedAddr(t)+"/none?sslmode=disable&connect_timeout=5")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dead.Close)
	e := newEnvWith(t, defaultAuth(), func(d *mobileapi.Deps) {
		d.DB = dead
		d.Tax = taxdb.New(dead, ledgerdb.Postings{}, auditdb.New(dead), sealbox.Random(), nil)
	})
	c := e.client(t, "live")
	p := e.participant(t, c, "", "active")
	svc, err := auth.New(nil, nil, nil, auth.Config{Secret: []byte(testSecret)})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := svc.IssueAccess(auth.Participant{ID: p.ID, ClientID: c.ID, Role: "seller"}, "5b0c1a52-8d1e-4f3a-9a43-2f6f7f0f2c11", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range []*http.Request{
		jsonReq("POST", "/v1/auth/login", "", map[string]any{"login": p.Login, "password": p.Password}),
		jsonReq("POST", "/v1/auth/otp/request", "", map[string]any{"phone": p.Phone}),
		jsonReq("POST", "/v1/receipts", tok, map[string]any{"qr": qrText()}),
		multipartReq("/v1/receipts", tok, map[string]any{"qr": qrText()}),
		jsonReq("GET", "/v1/receipts", tok, nil),
		jsonReq("GET", "/v1/me/tax-profile", tok, nil),
		jsonReq("PUT", "/v1/me/tax-profile", tok, map[string]any{"last_name": "Иванов"}),
		jsonReq("POST", "/v1/me/consents", tok, map[string]any{"kind": "personal_data", "text_version": "pd-1"}),
	} {
		r := e.doOutage(t, req)
		s, _ := strconv.Atoi(r.Header.Get("Retry-After"))
		if r.Status != http.StatusServiceUnavailable || r.code() != "unavailable" || s < 1 {
			t.Errorf("%s %s with the database down: %d Retry-After=%q %s", req.Method, req.URL.Path, r.Status, r.Header.Get("Retry-After"), r.Body)
		}
	}
}
