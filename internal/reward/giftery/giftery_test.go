package giftery_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/heaptest"
	"github.com/loyaltyjam/loyaltyjam/internal/money"
	"github.com/loyaltyjam/loyaltyjam/internal/reward/giftery"
	"github.com/loyaltyjam/loyaltyjam/internal/reward/giftery/gifterysim"
	"github.com/loyaltyjam/loyaltyjam/internal/reward/provider"
)

const (
	clientID = "1001"
	secret   = "dev-giftery-secret"
)

// setup serves a simulator on a real loopback HTTP server and returns a
// client of it. The client's timeout is what a "timeout" mode runs into.
func setup(t *testing.T, simOpts gifterysim.Options, mod func(*giftery.Options)) (*gifterysim.Server, *giftery.Client) {
	t.Helper()
	if simOpts.Logger == nil {
		simOpts.Logger = slog.New(slog.DiscardHandler)
	}
	sim := gifterysim.New(simOpts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	o := giftery.Options{BaseURL: srv.URL, ClientID: clientID, Secret: secret, Timeout: 2 * time.Second}
	if mod != nil {
		mod(&o)
	}
	c, err := giftery.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return sim, c
}

func order(id string, product string, roubles int64) provider.Order {
	return provider.Order{ID: id, ProductID: product, Face: money.Kopecks(roubles * 100), Email: "seller@example.com",
		Phone: "+79991234567", RecipientName: "Анна"}
}

func TestProducts(t *testing.T) {
	t.Parallel()
	_, c := setup(t, gifterysim.Options{}, nil)
	ps, err := c.Products(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]provider.Product{}
	for _, p := range ps {
		if p.Provider != giftery.Name || p.Kind != provider.GiftCertificate {
			t.Errorf("product %+v: provider/kind", p)
		}
		byID[p.ExternalID] = p
	}
	card := byID["2111"]
	if card.Title != "Giftery Card" || card.FaceMin != 10000 || card.FaceMax != 3000000 || len(card.FixedFaces) != 5 || card.FixedFaces[0] != 50000 {
		t.Errorf("Giftery Card = %+v", card)
	}
	if l := byID["13103"]; len(l.FixedFaces) != 4 || l.FaceMax != 0 || l.ImageURL == "" {
		t.Errorf("fixed-face product = %+v", l)
	}
	if len(ps) != len(gifterysim.DefaultProducts()) {
		t.Errorf("%d products, want %d", len(ps), len(gifterysim.DefaultProducts()))
	}
}

func TestPlaceDeliversCode(t *testing.T) {
	t.Parallel()
	sim, c := setup(t, gifterysim.Options{}, nil)
	res, err := c.Place(context.Background(), order("ord-1", "13103", 1000))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != provider.Done || res.Code == "" || res.PIN == "" || res.ProviderRef == "" || res.Cost != 100000 || res.ExpiresAt.IsZero() {
		t.Fatalf("result %+v", res)
	}
	os := sim.Orders()
	if len(os) != 1 || os[0].UUID != "ord-1" || os[0].Face != 1000 || os[0].ToPhone != "79991234567" || res.Code != os[0].Code {
		t.Fatalf("orders at Giftery: %+v, result %+v", os, res)
	}
	st, err := c.Status(context.Background(), order("ord-1", "13103", 1000))
	if err != nil || st.Status != provider.Done || st.Code != res.Code || st.ProviderRef != res.ProviderRef {
		t.Fatalf("Status = %+v, %v", st, err)
	}
}

// The same order id placed twice, in turn and at once, is one order.
func TestPlaceIsIdempotent(t *testing.T) {
	t.Parallel()
	sim, c := setup(t, gifterysim.Options{}, nil)
	ctx := context.Background()
	first, err := c.Place(ctx, order("same-1", "2111", 700))
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.Place(ctx, order("same-1", "2111", 700))
	if err != nil || again.ProviderRef != first.ProviderRef || again.Code != first.Code {
		t.Fatalf("second Place = %+v, %v; first %+v", again, err, first)
	}
	var wg sync.WaitGroup
	refs := make([]string, 20)
	errs := make([]error, 20)
	for i := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := c.Place(ctx, order("same-2", "2111", 500))
			refs[i], errs[i] = r.ProviderRef, err
		}()
	}
	wg.Wait()
	for i := range refs {
		if errs[i] != nil || refs[i] != refs[0] {
			t.Fatalf("concurrent Place %d: %q, %v (first %q)", i, refs[i], errs[i], refs[0])
		}
	}
	if n := len(sim.Orders()); n != 2 {
		t.Fatalf("%d orders at Giftery, want 2", n)
	}
	if b := sim.Balance(); b != 1_000_000-700-500 {
		t.Fatalf("balance %d: charged more than once", b)
	}
}

// A timeout after Giftery accepted the order is an unknown outcome, never
// "not sent"; Status then finds the order, and placing it again does not
// make a second one.
func TestTimeoutAfterAcceptIsUnknownOutcome(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"per-test", "per-product", "per-request"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			sim, c := setup(t, gifterysim.Options{}, func(o *giftery.Options) { o.Timeout = 300 * time.Millisecond })
			o := order("to-"+how, "13103", 500)
			switch how {
			case "per-test":
				sim.Fail("makeOrder", gifterysim.Timeout, 1)
			case "per-product":
				o.ProductID = "9003"
			case "per-request":
				o.Email = "sim+timeout@example.com"
			}
			_, err := c.Place(context.Background(), o)
			if !errors.Is(err, provider.ErrUnknownOutcome) || errors.Is(err, provider.ErrNotSent) {
				t.Fatalf("Place after accepted timeout: %v, want ErrUnknownOutcome", err)
			}
			if n := len(sim.Orders()); n != 1 {
				t.Fatalf("%d orders, want the accepted 1", n)
			}
			st, err := c.Status(context.Background(), o)
			if err != nil || st.Status != provider.Done || st.Code == "" {
				t.Fatalf("Status after timeout = %+v, %v", st, err)
			}
			if how == "per-test" { // the product itself is fine: placing again returns the original
				res, err := c.Place(context.Background(), o)
				if err != nil || res.ProviderRef != st.ProviderRef {
					t.Fatalf("Place again = %+v, %v", res, err)
				}
			}
			if n := len(sim.Orders()); n != 1 {
				t.Fatalf("%d orders after reconciling, want 1", n)
			}
		})
	}
}

func TestServerErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("500 before accepting", func(t *testing.T) {
		t.Parallel()
		sim, c := setup(t, gifterysim.Options{}, nil)
		sim.Fail("makeOrder", gifterysim.Error500, 1)
		o := order("e500", "13103", 500)
		_, err := c.Place(ctx, o)
		if !errors.Is(err, provider.ErrUnknownOutcome) || !strings.Contains(err.Error(), "HTTP 500") {
			t.Fatalf("Place = %v", err)
		}
		if _, err := c.Status(ctx, o); !errors.Is(err, provider.ErrOrderNotFound) {
			t.Fatalf("Status of never-accepted order = %v, want ErrOrderNotFound", err)
		}
	})
	t.Run("500 after accepting", func(t *testing.T) {
		t.Parallel()
		sim, c := setup(t, gifterysim.Options{}, nil)
		sim.Fail("makeOrder", gifterysim.Accept500, 1)
		o := order("a500", "13103", 500)
		if _, err := c.Place(ctx, o); !errors.Is(err, provider.ErrUnknownOutcome) {
			t.Fatalf("Place = %v", err)
		}
		if st, err := c.Status(ctx, o); err != nil || st.Status != provider.Done {
			t.Fatalf("Status = %+v, %v", st, err)
		}
	})
	t.Run("status 500 is not a verdict", func(t *testing.T) {
		t.Parallel()
		sim, c := setup(t, gifterysim.Options{}, nil)
		sim.Fail("getStatus", gifterysim.Error500, 1)
		if _, err := c.Status(ctx, order("x", "13103", 500)); err == nil || errors.Is(err, provider.ErrOrderNotFound) {
			t.Fatalf("Status under 500 = %v, want an error that is not ErrOrderNotFound", err)
		}
	})
}

func TestDefiniteFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := []struct {
		name string
		prep func(*gifterysim.Server, *provider.Order)
		want error
	}{
		{"out of stock product", func(_ *gifterysim.Server, o *provider.Order) { o.ProductID = "9001" }, provider.ErrOutOfStock},
		{"out of stock per test", func(s *gifterysim.Server, _ *provider.Order) { s.Fail("makeOrder", gifterysim.OutOfStock, 1) }, provider.ErrOutOfStock},
		{"invalid e-mail", func(_ *gifterysim.Server, o *provider.Order) { o.Email = "not an address" }, provider.ErrBadRecipient},
		{"invalid phone", func(_ *gifterysim.Server, o *provider.Order) { o.Phone = "+12345" }, provider.ErrBadRecipient},
		{"bad recipient per request", func(_ *gifterysim.Server, o *provider.Order) { o.Email = "sim+bad_recipient@example.com" }, provider.ErrBadRecipient},
		{"face not offered", func(_ *gifterysim.Server, o *provider.Order) { o.Face = 77700 }, provider.ErrRejected},
		{"unknown product", func(_ *gifterysim.Server, o *provider.Order) { o.ProductID = "424242" }, provider.ErrRejected},
		{"no money", func(s *gifterysim.Server, _ *provider.Order) { s.SetBalance(100) }, provider.ErrRejected},
		{"failed after accepting", func(_ *gifterysim.Server, o *provider.Order) { o.ProductID = "9005" }, provider.ErrRejected},
		{"kopecks in face", func(_ *gifterysim.Server, o *provider.Order) { o.Face = 50050 }, provider.ErrRejected},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim, c := setup(t, gifterysim.Options{}, nil)
			o := order("def-1", "13103", 500)
			tc.prep(sim, &o)
			_, err := c.Place(ctx, o)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Place = %v, want %v", err, tc.want)
			}
			if errors.Is(err, provider.ErrUnknownOutcome) || errors.Is(err, provider.ErrNotSent) {
				t.Fatalf("a definite failure also says %v", err)
			}
		})
	}
	t.Run("a refusal of an order already placed returns that order", func(t *testing.T) {
		t.Parallel()
		sim, c := setup(t, gifterysim.Options{}, nil)
		o := order("ref-1", "13103", 500)
		first, err := c.Place(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		sim.Fail("makeOrder", gifterysim.OutOfStock, 1)
		again, err := c.Place(ctx, o)
		if err != nil || again.ProviderRef != first.ProviderRef || again.Status != provider.Done {
			t.Fatalf("retry answered out of stock: %+v, %v", again, err)
		}
		if n := len(sim.Orders()); n != 1 {
			t.Fatalf("%d orders", n)
		}
	})
	t.Run("a refusal whose status cannot be read is not a verdict", func(t *testing.T) {
		t.Parallel()
		sim, c := setup(t, gifterysim.Options{}, nil)
		sim.Fail("makeOrder", gifterysim.OutOfStock, 1)
		sim.Fail("getStatus", gifterysim.Error500, 1)
		if _, err := c.Place(ctx, order("ref-2", "13103", 500)); !errors.Is(err, provider.ErrUnknownOutcome) || errors.Is(err, provider.ErrOutOfStock) {
			t.Fatalf("Place = %v", err)
		}
	})
	t.Run("failed order's status", func(t *testing.T) {
		t.Parallel()
		_, c := setup(t, gifterysim.Options{}, nil)
		o := order("fl", "9005", 500)
		_, _ = c.Place(ctx, o)
		st, err := c.Status(ctx, o)
		if err != nil || st.Status != provider.Failed || st.Reason == "" {
			t.Fatalf("Status = %+v, %v", st, err)
		}
	})
}

// An order "processing" at Giftery stays Processing for the configured
// number of polls, then is Done with its code.
func TestProcessingThenDone(t *testing.T) {
	t.Parallel()
	_, c := setup(t, gifterysim.Options{ProcessingPolls: 4}, nil)
	ctx := context.Background()
	o := order("slow-1", "9002", 500)
	res, err := c.Place(ctx, o)
	if err != nil || res.Status != provider.Processing || res.ProviderRef == "" {
		t.Fatalf("Place = %+v, %v", res, err)
	}
	polls := 1 // Place asked once
	for ; polls < 10; polls++ {
		st, err := c.Status(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if st.Status == provider.Done {
			if st.Code == "" {
				t.Fatal("done without a code")
			}
			break
		}
		if st.Status != provider.Processing {
			t.Fatalf("status %s", st.Status)
		}
	}
	if polls != 4 {
		t.Fatalf("done after %d polls, want after 4", polls)
	}
}

// Processing for minutes: the simulator's clock decides.
func TestProcessingForADuration(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	_, c := setup(t, gifterysim.Options{ProcessingFor: 10 * time.Minute, Now: clock}, nil)
	o := order("slow-2", "9002", 500)
	if res, err := c.Place(context.Background(), o); err != nil || res.Status != provider.Processing {
		t.Fatalf("Place = %+v, %v", res, err)
	}
	mu.Lock()
	now = now.Add(9 * time.Minute)
	mu.Unlock()
	if st, _ := c.Status(context.Background(), o); st.Status != provider.Processing {
		t.Fatalf("after 9 min: %s", st.Status)
	}
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	if st, err := c.Status(context.Background(), o); err != nil || st.Status != provider.Done {
		t.Fatalf("after 11 min: %+v, %v", st, err)
	}
}

// A wrong secret is refused by the simulator's signature check; nothing
// is ordered, and the error says the request may simply be sent again.
func TestBadSignature(t *testing.T) {
	t.Parallel()
	sim, c := setup(t, gifterysim.Options{}, func(o *giftery.Options) { o.Secret = "wrong" })
	_, err := c.Place(context.Background(), order("sig-1", "13103", 500))
	if !errors.Is(err, provider.ErrNotSent) || !strings.Contains(err.Error(), "signature") {
		t.Fatalf("Place with a wrong secret = %v", err)
	}
	if n := len(sim.Orders()); n != 0 {
		t.Fatalf("%d orders made with a wrong signature", n)
	}
	if _, err := c.Products(context.Background()); err == nil {
		t.Fatal("getProducts with a wrong secret succeeded")
	}
}

// The signature is the documented one: a request built by hand, as the
// PHP clients build it (sha256(cmd . data . secret)), is accepted; the
// same with one byte of data changed is not.
func TestSignatureByHand(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(gifterysim.New(gifterysim.Options{}))
	defer srv.Close()
	get := func(cmd, data, sigData string) string {
		q := url.Values{"id": {clientID}, "cmd": {cmd}, "in": {"json"}, "out": {"json"}, "data": {data},
			"sig": {giftery.Sign(cmd, sigData, secret)}}
		resp, err := http.Get(srv.URL + "/?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := get("getBalance", "", ""); !strings.Contains(got, `"status":"ok"`) {
		t.Fatalf("hand-signed getBalance: %s", got)
	}
	if got := get("getStatus", `{"id":1}`, `{"id":2}`); !strings.Contains(got, fmt.Sprintf(`"code":%d`, gifterysim.CodeBadSignature)) {
		t.Fatalf("tampered data: %s", got)
	}
	if got := giftery.Sign("test", "", "s"); len(got) != 64 || strings.ToLower(got) != got {
		t.Fatalf("Sign = %q, want 64 lowercase hex digits", got)
	}
}

// A connection refused never reached Giftery: ErrNotSent.
func TestNotSent(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, err := giftery.New(giftery.Options{BaseURL: "http://" + addr, ClientID: clientID, Secret: secret, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Place(context.Background(), order("ns", "13103", 500)); !errors.Is(err, provider.ErrNotSent) {
		t.Fatalf("Place to a closed port = %v, want ErrNotSent", err)
	}
}

// Hostile answers: malformed JSON is a clear error; an endless answer is
// cut at MaxBody, in bounded memory.
func TestHostileAnswers(t *testing.T) {
	t.Parallel()
	sim, c := setup(t, gifterysim.Options{HugeBytes: 8 << 20}, func(o *giftery.Options) { o.MaxBody = 1 << 20 })
	ctx := context.Background()
	sim.Fail("makeOrder", gifterysim.BadJSON, 1)
	if _, err := c.Place(ctx, order("bj", "13103", 500)); !errors.Is(err, provider.ErrUnknownOutcome) || !strings.Contains(err.Error(), "not JSON") {
		t.Fatalf("bad JSON: %v", err)
	}
	sim.Fail("getProducts", gifterysim.HugeBody, 1)
	if _, err := c.Products(ctx); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("huge answer: %v", err)
	}
}

func TestHugeAnswerMemory(t *testing.T) {
	if heaptest.Race {
		t.Skip("heap bounds do not hold under the race detector")
	}
	sim, c := setup(t, gifterysim.Options{HugeBytes: 64 << 20}, func(o *giftery.Options) { o.MaxBody = 2 << 20 })
	sim.Fail("getProducts", gifterysim.HugeBody, 1)
	var err error
	h := heaptest.Measure(func() { _, err = c.Products(context.Background()) })
	if err == nil {
		t.Fatal("a 64 MiB answer was accepted")
	}
	t.Logf("64 MiB answer refused: peak heap +%d KiB", h.PeakInuse>>10)
	if h.PeakInuse > 16<<20 {
		t.Fatalf("peak heap +%d MiB reading a 64 MiB answer with a 2 MiB limit", h.PeakInuse>>20)
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	for _, o := range []giftery.Options{
		{ClientID: "x", Secret: "s"},
		{ClientID: "1", Secret: ""},
		{ClientID: "1", Secret: "s", BaseURL: "ftp://x"},
	} {
		if _, err := giftery.New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}
