package ofd_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/ofd"
	"github.com/loyaltyjam/loyaltyjam/internal/ofd/ofdsim"
)

// client has its own connection pool: httptest.Server.Close closes the idle
// connections of http.DefaultTransport, which breaks requests that parallel
// tests have in flight on it.
var client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}

// clock is a settable clock shared by the simulator and the clients.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type env struct {
	clock *clock
	sim   *ofdsim.Server
	url   string
	pc    *ofd.Proverkacheka
	oa    *ofd.OpenAPI
}

// purchase is the wall-clock time of the test receipts; the clock starts
// ten minutes after it (Moscow).
var purchase = time.Date(2025, 1, 4, 19, 31, 0, 0, time.UTC)

func newEnv(t *testing.T) *env {
	t.Helper()
	c := &clock{now: time.Date(2025, 1, 4, 16, 41, 0, 0, time.UTC)}
	sim := ofdsim.New(ofdsim.Config{Now: c.Now, Tokens: []string{"pc-token"}, MasterTokens: []string{"master"}})
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)
	pc, err := ofd.NewProverkacheka(ofd.ProverkachekaConfig{BaseURL: ts.URL, Token: "pc-token", Timeout: 2 * time.Second, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	oa, err := ofd.NewOpenAPI(ofd.OpenAPIConfig{BaseURL: ts.URL, MasterToken: "master", Timeout: 2 * time.Second,
		PollInterval: time.Millisecond, MaxPolls: 3, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return &env{clock: c, sim: sim, url: ts.URL, pc: pc, oa: oa}
}

// fnFor builds an fn that selects scenario code with a parameter (ofdsim.ScenarioFromFN).
func fnFor(code string, param int) string { return fmt.Sprintf("9999%s%04d000001", code, param) }

func query(fn string, fd, fp uint64, sum int64) ofd.Query {
	q := ofd.Query{FN: fn, FD: fd, FP: fp, Operation: 1, Time: purchase, SumKopecks: sum}
	q.Raw = fmt.Sprintf("t=%s&s=%d.%02d&fn=%s&i=%d&fp=%d&n=1", purchase.Format("20060102T1504"), sum/100, sum%100, fn, fd, fp)
	return q
}

type outcome string

const (
	wantOK        outcome = "ok"
	wantNotYet    outcome = "not_yet"
	wantLimited   outcome = "rate_limited"
	wantTransient outcome = "transient"
)

// classify names the typed outcome of a Fetch; rejections give their reason.
func classify(err error) string {
	var rej *ofd.RejectedError
	switch {
	case err == nil:
		return string(wantOK)
	case errors.As(err, &rej):
		return "rejected:" + rej.Reason
	case errors.Is(err, ofd.ErrNotYet):
		return string(wantNotYet)
	case ofd.IsRateLimited(err):
		return string(wantLimited)
	case ofd.IsTransient(err):
		return string(wantTransient)
	}
	return "unclassified: " + err.Error()
}

// TestScenarios drives every scenario through both real clients over HTTP.
// Each step is one Fetch; the clock moves by advance before it.
func TestScenarios(t *testing.T) {
	t.Parallel()
	type step struct {
		advance time.Duration
		want    string
	}
	tests := []struct {
		name   string
		fn     string
		pc, oa []step
	}{
		{"ok", fnFor("00", 0), []step{{0, "ok"}, {0, "ok"}}, []step{{0, "ok"}}},
		{"plain fn is ok", "7380440801185382", []step{{0, "ok"}}, []step{{0, "ok"}}},
		// Open API polls 3 times per Fetch: 2 PROCESSING polls fit in one Fetch.
		{"pending 2 calls", fnFor("01", 2), []step{{0, "not_yet"}, {0, "not_yet"}, {0, "ok"}}, []step{{0, "ok"}}},
		{"pending 5 calls", fnFor("01", 5), []step{{0, "not_yet"}, {0, "not_yet"}, {0, "not_yet"}, {0, "not_yet"}, {0, "not_yet"}, {0, "ok"}},
			[]step{{0, "not_yet"}, {0, "ok"}}},
		{"pending 60 s", fnFor("02", 60), []step{{0, "not_yet"}, {59 * time.Second, "not_yet"}, {2 * time.Second, "ok"}},
			[]step{{0, "not_yet"}, {61 * time.Second, "ok"}}},
		{"invalid fiscal sign", fnFor("03", 0), []step{{0, "rejected:invalid_receipt"}}, []step{{0, "rejected:invalid_fiscal_sign"}, {0, "rejected:invalid_fiscal_sign"}}},
		{"not found young, then old", fnFor("04", 0), []step{{0, "rejected:invalid_receipt"}},
			[]step{{0, "not_yet"}, {80 * 24 * time.Hour, "rejected:not_found"}}},
		{"autonomous kkt", fnFor("05", 0), []step{{0, "not_yet"}}, []step{{0, "not_yet"}}},
		{"rate limited", fnFor("06", 0), []step{{0, "rate_limited"}}, []step{{0, "transient"}}},
		{"wait", fnFor("07", 0), []step{{0, "rate_limited"}, {0, "ok"}}, []step{{0, "ok"}}},
		{"server error", fnFor("08", 0), []step{{0, "transient"}}, []step{{0, "transient"}}},
		{"server error soap fault", fnFor("08", 1), []step{{0, "transient"}}, []step{{0, "transient"}}},
		{"malformed", fnFor("10", 0), []step{{0, "transient"}}, []step{{0, "transient"}}},
	}
	for _, tc := range tests {
		for _, prov := range []string{"proverkacheka", "openapi"} {
			t.Run(tc.name+"/"+prov, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t)
				var f ofd.Fetcher = e.pc
				steps := tc.pc
				if prov == "openapi" {
					f, steps = e.oa, tc.oa
				}
				q := query(tc.fn, 169111, 3769337301, 61900)
				for i, s := range steps {
					e.clock.Add(s.advance)
					r, err := f.Fetch(context.Background(), q)
					if got := classify(err); got != s.want {
						t.Fatalf("step %d: got %s (%v), want %s", i, got, err, s.want)
					}
					if err == nil {
						checkReceipt(t, r, q, prov)
					}
				}
			})
		}
	}
}

func checkReceipt(t *testing.T, r ofd.Receipt, q ofd.Query, provider string) {
	t.Helper()
	if r.Provider != provider || r.FN != q.FN || r.FD != q.FD || r.FP != q.FP || r.TotalKopecks != q.SumKopecks {
		t.Errorf("receipt identity %s %s/%d/%d total %d", r.Provider, r.FN, r.FD, r.FP, r.TotalKopecks)
	}
	var sum int64
	for _, it := range r.Items {
		sum += it.SumKopecks
		if it.Name == "" || it.QuantityMilli <= 0 {
			t.Errorf("bad item %+v", it)
		}
	}
	if sum != r.TotalKopecks {
		t.Errorf("items sum %d != total %d", sum, r.TotalKopecks)
	}
	if r.SellerName == "" || len(r.SellerINN) != 10 || len(r.KKTRegID) != 16 || r.RetailAddress == "" || len(r.Raw) == 0 {
		t.Errorf("seller fields: %q %q %q %q", r.SellerName, r.SellerINN, r.KKTRegID, r.RetailAddress)
	}
}

func TestSlowScenarioTimesOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := &clock{now: e.clock.Now()}
	pc, _ := ofd.NewProverkacheka(ofd.ProverkachekaConfig{BaseURL: e.url, Token: "pc-token", Timeout: 30 * time.Millisecond, Now: c.Now})
	oa, _ := ofd.NewOpenAPI(ofd.OpenAPIConfig{BaseURL: e.url, MasterToken: "master", Timeout: 30 * time.Millisecond, PollInterval: time.Millisecond, Now: c.Now})
	q := query(fnFor("09", 300), 5, 6, 1000)
	for _, f := range []ofd.Fetcher{pc, oa} {
		_, err := f.Fetch(context.Background(), q)
		var te *ofd.TransientError
		if !errors.As(err, &te) || te.Op != "timeout" {
			t.Errorf("%T: got %v, want transient timeout", f, err)
		}
	}
	// A patient client gets the receipt.
	if _, err := e.pc.Fetch(context.Background(), q); err != nil {
		t.Errorf("patient client: %v", err)
	}
}

func TestSimulatorValidatesLikeTheRealCheck(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	q := query("7281440500123456", 4521, 3012345678, 150000)
	if _, err := e.pc.Fetch(ctx, q); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*ofd.Query){
		"wrong sum":  func(q *ofd.Query) { q.SumKopecks = 149999; q.Raw = "" },
		"wrong fp":   func(q *ofd.Query) { q.FP = 3012345679; q.Raw = "" },
		"wrong time": func(q *ofd.Query) { q.Time = q.Time.Add(-3 * time.Minute); q.Raw = "" },
		"wrong n":    func(q *ofd.Query) { q.Operation = 2; q.Raw = "" },
	} {
		bad := q
		mutate(&bad)
		if _, err := e.pc.Fetch(ctx, bad); classify(err) != "rejected:invalid_receipt" {
			t.Errorf("proverkacheka %s: %v", name, err)
		}
		if _, err := e.oa.Fetch(ctx, bad); classify(err) != "rejected:invalid_fiscal_sign" {
			t.Errorf("openapi %s: %v", name, err)
		}
	}
	// Types 3 and 4 never reach the provider.
	before := e.sim.Stats().Endpoints["proverkacheka"]
	for op, reason := range map[int]string{3: ofd.ReasonOperationExpense, 4: ofd.ReasonOperationExpRet} {
		bad := q
		bad.Operation = op
		if _, err := e.pc.Fetch(ctx, bad); classify(err) != "rejected:"+reason {
			t.Errorf("type %d: %v", op, err)
		}
	}
	if after := e.sim.Stats().Endpoints["proverkacheka"]; after != before {
		t.Errorf("types 3/4 called the provider: %d → %d", before, after)
	}
	// Manual fields instead of qrraw give the same receipt.
	pcFields, _ := ofd.NewProverkacheka(ofd.ProverkachekaConfig{BaseURL: e.url, Token: "pc-token", UseFields: true})
	r1, err1 := e.pc.Fetch(ctx, q)
	r2, err2 := pcFields.Fetch(ctx, q)
	if err1 != nil || err2 != nil || string(r1.Raw) != string(r2.Raw) {
		t.Errorf("fields vs qrraw: %v %v", err1, err2)
	}
}

func TestAdminScenarioAndShop(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	fn := "7281440500654321"
	put := func(path, body string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPut, e.url+path, strings.NewReader(body))
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("PUT %s: %v %v", path, err, resp.Status)
		}
		resp.Body.Close()
	}
	put("/_sim/shops/"+fn, `{"name":"ООО \"Автодом\"","inn":"7701234560","kkt_reg_id":"0000123456789012","address":"г. Москва, ул. Тверская, д. 1","kind":"auto"}`)
	put(fmt.Sprintf("/_sim/receipts/%s/%d/%d", fn, 77, 88), `{"scenario":"pending_calls","calls":1}`)
	q := query(fn, 77, 88, 259900)
	if _, err := e.pc.Fetch(ctx, q); !errors.Is(err, ofd.ErrNotYet) {
		t.Fatalf("first call: %v", err)
	}
	r, err := e.pc.Fetch(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if r.SellerINN != "7701234560" || r.KKTRegID != "0000123456789012" || r.SellerName != `ООО "Автодом"` {
		t.Errorf("shop not applied: %+v", r)
	}
	put(fmt.Sprintf("/_sim/receipts/%s/%d/%d", fn, 77, 88), `{"scenario":"invalid_fp"}`)
	if _, err := e.oa.Fetch(ctx, q); classify(err) != "rejected:invalid_fiscal_sign" {
		t.Errorf("after admin invalid_fp: %v", err)
	}
	st := e.sim.Stats()
	if st.Receipts[fn+"/77"] != 3 || st.Scenarios["pending_calls"] != 2 || st.Scenarios["invalid_fp"] != 1 || st.Endpoints["openapi_auth"] != 1 {
		t.Errorf("stats = %+v", st)
	}
	resp, err := client.Get(e.url + "/_sim/stats")
	if err != nil || resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Errorf("GET /_sim/stats: %v", err)
	}
	resp.Body.Close()
}

func TestOpenAPITokenCachedAndRefreshed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	q := query("7281440500123456", 10, 20, 50000)
	for i := 0; i < 3; i++ {
		if _, err := e.oa.Fetch(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.sim.Stats().Endpoints["openapi_auth"]; n != 1 {
		t.Errorf("auth calls = %d, want 1 (cached token)", n)
	}
	e.clock.Add(61 * time.Minute) // past the 1 h TTL
	if _, err := e.oa.Fetch(ctx, q); err != nil {
		t.Fatal(err)
	}
	if n := e.sim.Stats().Endpoints["openapi_auth"]; n != 2 {
		t.Errorf("auth calls = %d, want 2 after expiry", n)
	}
	// The service forgets the token: AuthenticationFault → one refresh, then success.
	e.sim.Reset()
	if _, err := e.oa.Fetch(ctx, q); err != nil {
		t.Fatalf("after server-side token loss: %v", err)
	}
	st := e.sim.Stats()
	if st.Endpoints["openapi_auth_fault"] != 1 || st.Endpoints["openapi_auth"] != 1 {
		t.Errorf("stats after reset = %+v", st.Endpoints)
	}
	// A wrong master token is a transient (configuration) failure, never a rejection.
	bad, _ := ofd.NewOpenAPI(ofd.OpenAPIConfig{BaseURL: e.url, MasterToken: "nope", PollInterval: time.Millisecond})
	if _, err := bad.Fetch(ctx, q); classify(err) != "transient" {
		t.Errorf("bad master token: %v", err)
	}
	if err := e.oa.Check(ctx, q); err != nil {
		t.Errorf("CheckTicket: %v", err)
	}
}

func TestProverkachekaBadToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pc, _ := ofd.NewProverkacheka(ofd.ProverkachekaConfig{BaseURL: e.url, Token: "stolen"})
	_, err := pc.Fetch(context.Background(), query("7281440500123456", 1, 2, 100))
	var te *ofd.TransientError
	if !errors.As(err, &te) || te.Op != "auth" || strings.Contains(err.Error(), "stolen") {
		t.Errorf("got %v", err)
	}
}

// TestGeneratedReceipts checks the generator's invariants over many
// identities and sums, through the real client and decoder.
func TestGeneratedReceipts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	catalogGTIN, marked := 0, 0
	sums := []int64{1, 99, 799, 1500, 12345, 61900, 727300, 1234567}
	for i := 0; i < 120; i++ {
		fn := fmt.Sprintf("72814405%08d", i*7919%100000000)
		sum := sums[i%len(sums)] + int64(i)
		q := query(fn, uint64(1000+i), uint64(3000000000+i), sum)
		r, err := e.pc.Fetch(ctx, q)
		if err != nil {
			t.Fatalf("%s sum %d: %v", fn, sum, err)
		}
		checkReceipt(t, r, q, "proverkacheka")
		r2, err := e.oa.Fetch(ctx, q)
		if err != nil {
			t.Fatalf("openapi %s: %v", fn, err)
		}
		if len(r2.Items) != len(r.Items) || r2.SellerINN != r.SellerINN || !r2.TimeFromEpoch {
			t.Errorf("providers disagree on %s", fn)
		}
		for _, it := range r.Items {
			if it.GTIN != "" {
				marked++
				if strings.HasPrefix(it.GTIN, "4609871") || strings.HasPrefix(it.GTIN, "4609534") {
					catalogGTIN++
				}
			}
		}
	}
	if marked == 0 || catalogGTIN == 0 {
		t.Errorf("no marked items with catalog GTINs in 120 receipts (%d marked)", marked)
	}
	// Same fn → same shop; a fresh simulator regenerates the same receipt.
	a, _ := e.pc.Fetch(ctx, query("7281440500000042", 1, 11, 5000))
	b, _ := e.pc.Fetch(ctx, query("7281440500000042", 2, 12, 7000))
	if a.SellerINN != b.SellerINN || a.KKTRegID != b.KKTRegID || a.RetailAddress != b.RetailAddress {
		t.Errorf("one fn, two shops: %s / %s", a.SellerINN, b.SellerINN)
	}
	e2 := newEnv(t)
	c, err := e2.pc.Fetch(ctx, query("7281440500000042", 1, 11, 5000))
	if err != nil || string(c.Raw) != string(a.Raw) {
		t.Errorf("generation is not deterministic: %v", err)
	}
}
