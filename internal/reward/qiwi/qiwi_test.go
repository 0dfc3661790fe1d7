package qiwi_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/heaptest"
	"github.com/loyaltyjam/loyaltyjam/internal/money"
	"github.com/loyaltyjam/loyaltyjam/internal/reward/provider"
	"github.com/loyaltyjam/loyaltyjam/internal/reward/qiwi"
	"github.com/loyaltyjam/loyaltyjam/internal/reward/qiwi/qiwisim"
)

func setup(t *testing.T, simOpts qiwisim.Options, mod func(*qiwi.Options)) (*qiwisim.Server, *qiwi.Client) {
	t.Helper()
	if simOpts.Logger == nil {
		simOpts.Logger = slog.New(slog.DiscardHandler)
	}
	sim := qiwisim.New(simOpts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	o := qiwi.Options{BaseURL: srv.URL, TerminalID: "1001", Password: "dev-qiwi-password", Timeout: 2 * time.Second}
	if mod != nil {
		mod(&o)
	}
	c, err := qiwi.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return sim, c
}

func topup(id, product, phone string, roubles int64) provider.Order {
	return provider.Order{ID: id, ProductID: product, Phone: phone, Face: money.Kopecks(roubles * 100)}
}

func TestMobileTopUp(t *testing.T) {
	t.Parallel()
	sim, c := setup(t, qiwisim.Options{}, nil)
	res, err := c.Place(context.Background(), topup("7f9c2ba4-e88f-4a6b-9d1c-000000000001", qiwi.ProductMobile, "+79161234567", 300))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != provider.Done || res.ProviderRef == "" || res.Cost != 30000 {
		t.Fatalf("result %+v", res)
	}
	ps := sim.Payments()
	if len(ps) != 1 || ps[0].Service != "29130" || ps[0].Operator != "1" || ps[0].Account != "79161234567" || ps[0].Amount != 30000 {
		t.Fatalf("payments at QIWI: %+v", ps)
	}
	if ps[0].TransactionNumber != qiwi.TransactionNumber("7f9c2ba4-e88f-4a6b-9d1c-000000000001") {
		t.Fatalf("transaction number %s", ps[0].TransactionNumber)
	}
	if b, err := c.Balance(context.Background()); err != nil || b != 100_000_000-30000 {
		t.Fatalf("agent balance %s, %v", b, err)
	}
}

func TestWalletTopUp(t *testing.T) {
	t.Parallel()
	sim, c := setup(t, qiwisim.Options{}, nil)
	o := topup("12345", qiwi.ProductWallet, "+79161234567", 500)
	o.Account = "+79267654321" // the wallet, not the contact phone
	res, err := c.Place(context.Background(), o)
	if err != nil || res.Status != provider.Done {
		t.Fatalf("Place = %+v, %v", res, err)
	}
	ps := sim.Payments()
	if len(ps) != 1 || ps[0].Service != "99" || ps[0].Account != "79267654321" || ps[0].TransactionNumber != "12345" {
		t.Fatalf("payments %+v", ps)
	}
	if st, err := c.Status(context.Background(), o); err != nil || st.Status != provider.Done || st.ProviderRef != res.ProviderRef {
		t.Fatalf("Status = %+v, %v", st, err)
	}
}

func TestTransactionNumber(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"", "0123", "abc", "123456789012345678901", "7f9c2ba4-e88f-4a6b-9d1c-2c5fb1b7f8a3"} {
		n := qiwi.TransactionNumber(id)
		if n == "" || len(n) > 20 || n[0] == '0' || strings.Trim(n, "0123456789") != "" {
			t.Errorf("TransactionNumber(%q) = %q: not a positive integer of up to 20 digits", id, n)
		}
		if qiwi.TransactionNumber(id) != n {
			t.Errorf("TransactionNumber(%q) not stable", id)
		}
	}
	if qiwi.TransactionNumber("987654321") != "987654321" {
		t.Error("a numeric order id is not used as is")
	}
	if qiwi.TransactionNumber("order-a") == qiwi.TransactionNumber("order-b") {
		t.Error("two ids, one number")
	}
}

func TestPlaceIsIdempotent(t *testing.T) {
	t.Parallel()
	sim, c := setup(t, qiwisim.Options{}, nil)
	ctx := context.Background()
	o := topup("dup-1", qiwi.ProductMobile, "+79031234567", 100)
	var wg sync.WaitGroup
	refs, errs := make([]string, 16), make([]error, 16)
	for i := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := c.Place(ctx, o)
			refs[i], errs[i] = r.ProviderRef, err
		}()
	}
	wg.Wait()
	for i := range refs {
		if errs[i] != nil || refs[i] != refs[0] {
			t.Fatalf("Place %d: %q, %v (first %q)", i, refs[i], errs[i], refs[0])
		}
	}
	if n := len(sim.Payments()); n != 1 {
		t.Fatalf("%d payments for one order id", n)
	}
	if b := sim.Balance(); b != 100_000_000-10000 {
		t.Fatalf("agent balance %s: debited more than once", b)
	}
	// The same number with another amount is refused by QIWI (215) and the
	// client does not take that for a verdict on the first payment.
	o2 := o
	o2.Face = 20000
	if _, err := c.Place(ctx, o2); !errors.Is(err, provider.ErrUnknownOutcome) {
		t.Fatalf("reused number, other amount: %v", err)
	}
}

// A timeout after QIWI registered the payment is an unknown outcome;
// the status check finds it, and placing again makes no second payment.
func TestTimeoutAfterAccept(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"per-test", "per-request"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			sim, c := setup(t, qiwisim.Options{}, func(o *qiwi.Options) { o.Timeout = 300 * time.Millisecond })
			o := topup("to-"+how, qiwi.ProductWallet, "+79161112233", 200)
			if how == "per-test" {
				sim.Fail("pay", qiwisim.Timeout, 1)
			} else {
				o.Phone = "+79990000504"
			}
			_, err := c.Place(context.Background(), o)
			if !errors.Is(err, provider.ErrUnknownOutcome) || errors.Is(err, provider.ErrNotSent) {
				t.Fatalf("Place = %v, want ErrUnknownOutcome", err)
			}
			st, err := c.Status(context.Background(), o)
			if err != nil || st.Status != provider.Done {
				t.Fatalf("Status = %+v, %v", st, err)
			}
			if how == "per-test" {
				if res, err := c.Place(context.Background(), o); err != nil || res.ProviderRef != st.ProviderRef {
					t.Fatalf("Place again = %+v, %v", res, err)
				}
			}
			if n := len(sim.Payments()); n != 1 {
				t.Fatalf("%d payments", n)
			}
		})
	}
}

func TestServerErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("500 before accepting", func(t *testing.T) {
		t.Parallel()
		_, c := setup(t, qiwisim.Options{}, nil)
		o := topup("e500", qiwi.ProductWallet, "+79990000500", 100)
		if _, err := c.Place(ctx, o); !errors.Is(err, provider.ErrUnknownOutcome) {
			t.Fatalf("Place = %v", err)
		}
		if _, err := c.Status(ctx, o); !errors.Is(err, provider.ErrOrderNotFound) {
			t.Fatalf("Status = %v, want ErrOrderNotFound", err)
		}
	})
	t.Run("500 after accepting", func(t *testing.T) {
		t.Parallel()
		_, c := setup(t, qiwisim.Options{}, nil)
		o := topup("a500", qiwi.ProductMobile, "+79990000501", 100)
		if _, err := c.Place(ctx, o); !errors.Is(err, provider.ErrUnknownOutcome) {
			t.Fatalf("Place = %v", err)
		}
		if st, err := c.Status(ctx, o); err != nil || st.Status != provider.Done {
			t.Fatalf("Status = %+v, %v", st, err)
		}
	})
	t.Run("request error 13", func(t *testing.T) {
		t.Parallel()
		_, c := setup(t, qiwisim.Options{}, nil)
		_, err := c.Place(ctx, topup("r13", qiwi.ProductWallet, "+79990000013", 100))
		if !errors.Is(err, provider.ErrUnknownOutcome) || !strings.Contains(err.Error(), "13") {
			t.Fatalf("Place = %v", err)
		}
	})
	t.Run("status under 500", func(t *testing.T) {
		t.Parallel()
		sim, c := setup(t, qiwisim.Options{}, nil)
		sim.Fail("status", qiwisim.Error500, 1)
		if _, err := c.Status(ctx, topup("x", qiwi.ProductWallet, "+79161234567", 100)); err == nil || errors.Is(err, provider.ErrOrderNotFound) {
			t.Fatalf("Status = %v", err)
		}
	})
}

func TestProcessing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("then done", func(t *testing.T) {
		t.Parallel()
		_, c := setup(t, qiwisim.Options{ProcessingPolls: 3}, nil)
		o := topup("p1", qiwi.ProductMobile, "+79990000050", 100)
		res, err := c.Place(ctx, o)
		if err != nil || res.Status != provider.Processing {
			t.Fatalf("Place = %+v, %v", res, err)
		}
		var seen []provider.Status
		for i := 0; i < 5; i++ {
			st, err := c.Status(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			seen = append(seen, st.Status)
		}
		want := []provider.Status{provider.Processing, provider.Processing, provider.Processing, provider.Done, provider.Done}
		for i := range want {
			if seen[i] != want[i] {
				t.Fatalf("statuses %v, want %v", seen, want)
			}
		}
	})
	t.Run("then declined, money back", func(t *testing.T) {
		t.Parallel()
		sim, c := setup(t, qiwisim.Options{ProcessingPolls: 1}, nil)
		o := topup("p2", qiwi.ProductWallet, "+79990000150", 100)
		if res, err := c.Place(ctx, o); err != nil || res.Status != provider.Processing {
			t.Fatalf("Place = %+v, %v", res, err)
		}
		c.Status(ctx, o)
		st, err := c.Status(ctx, o)
		if err != nil || st.Status != provider.Failed || !strings.Contains(st.Reason, "150") {
			t.Fatalf("Status = %+v, %v", st, err)
		}
		if b := sim.Balance(); b != 100_000_000 {
			t.Fatalf("balance %s after a declined payment", b)
		}
	})
	t.Run("for minutes", func(t *testing.T) {
		t.Parallel()
		var mu sync.Mutex
		now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		_, c := setup(t, qiwisim.Options{ProcessingFor: 15 * time.Minute, Now: clock}, nil)
		o := topup("p3", qiwi.ProductWallet, "+79990000050", 100)
		c.Place(ctx, o)
		mu.Lock()
		now = now.Add(14 * time.Minute)
		mu.Unlock()
		if st, _ := c.Status(ctx, o); st.Status != provider.Processing {
			t.Fatalf("after 14 min: %s", st.Status)
		}
		mu.Lock()
		now = now.Add(time.Minute)
		mu.Unlock()
		if st, err := c.Status(ctx, o); err != nil || st.Status != provider.Done {
			t.Fatalf("after 15 min: %+v %v", st, err)
		}
	})
}

func TestWrongPhone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := []struct {
		name    string
		o       provider.Order
		payment bool // whether QIWI saw a payment
	}{
		{"mobile: operator lookup refuses", topup("w1", qiwi.ProductMobile, "+79990000298", 100), false},
		{"wallet: payment refused with 298", topup("w2", qiwi.ProductWallet, "+79990000298", 100), true},
		{"mobile: not a Russian mobile", topup("w3", qiwi.ProductMobile, "+74951234567", 100), false},
		{"wallet: garbage", topup("w4", qiwi.ProductWallet, "12", 100), false},
		{"mobile: unknown operator", topup("w5", qiwi.ProductMobile, "+79771234567", 100), false},
		{"wallet: check-deposit refuses (204)", topup("w6", qiwi.ProductWallet, "+79990000204", 100), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim, c := setup(t, qiwisim.Options{}, nil)
			_, err := c.Place(ctx, tc.o)
			if !errors.Is(err, provider.ErrBadRecipient) || errors.Is(err, provider.ErrUnknownOutcome) {
				t.Fatalf("Place = %v, want ErrBadRecipient", err)
			}
			if n := len(sim.Payments()); (n == 1) != tc.payment {
				t.Fatalf("%d payments at QIWI", n)
			}
			if b := sim.Balance(); b != 100_000_000 {
				t.Fatalf("balance %s", b)
			}
		})
	}
}

func TestDefinite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, c := setup(t, qiwisim.Options{}, nil)
	if _, err := c.Place(ctx, topup("d1", qiwi.ProductWallet, "+79161234567", 5)); !errors.Is(err, provider.ErrRejected) {
		t.Errorf("below the minimum: %v", err)
	}
	if _, err := c.Place(ctx, topup("d2", "gold", "+79161234567", 100)); !errors.Is(err, provider.ErrRejected) {
		t.Errorf("unknown product: %v", err)
	}
	// The operator lookup failing sends nothing: not sent, and only that.
	sim, c2 := setup(t, qiwisim.Options{}, nil)
	sim.Fail("get-provider-by-phone-number", qiwisim.Error500, 1)
	if _, err := c2.Place(ctx, topup("d4", qiwi.ProductMobile, "+79161234567", 100)); !errors.Is(err, provider.ErrNotSent) || errors.Is(err, provider.ErrUnknownOutcome) {
		t.Errorf("operator lookup 500: %v", err)
	}
	if n := len(sim.Payments()); n != 0 {
		t.Errorf("%d payments after a failed lookup", n)
	}
	// check-deposit-possible failing sends nothing.
	sim3, c3 := setup(t, qiwisim.Options{}, nil)
	sim3.Fail("check-deposit-possible", qiwisim.Error500, 1)
	if _, err := c3.Place(ctx, topup("d5", qiwi.ProductWallet, "+79161234567", 100)); !errors.Is(err, provider.ErrNotSent) || errors.Is(err, provider.ErrUnknownOutcome) {
		t.Errorf("check-deposit 500: %v", err)
	}
	// A refusal by check-deposit is not believed over a payment QIWI
	// already has under our number: the retry returns that payment.
	sim3.Fail("check-deposit-possible", qiwisim.Refuse204, 0)
	o := topup("d6", qiwi.ProductWallet, "+79161234567", 100)
	first, err := c3.Place(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	sim3.Fail("check-deposit-possible", qiwisim.Refuse204, 1)
	if again, err := c3.Place(ctx, o); err != nil || again.ProviderRef != first.ProviderRef {
		t.Errorf("retry refused by check-deposit: %+v, %v", again, err)
	}
	// Not enough money on the agent's account: not registered, safe to retry.
	if _, err := c.Place(ctx, topup("d3", qiwi.ProductWallet, "+79990000220", 100)); !errors.Is(err, provider.ErrNotSent) {
		t.Errorf("agent balance short: %v", err)
	}
}

func TestWrongPassword(t *testing.T) {
	t.Parallel()
	sim, c := setup(t, qiwisim.Options{}, func(o *qiwi.Options) { o.Password = "nope" })
	o := topup("pw", qiwi.ProductWallet, "+79161234567", 100)
	_, err := c.Place(context.Background(), o)
	// Refused at check-deposit-possible, before any payment: not sent.
	if !errors.Is(err, provider.ErrNotSent) || errors.Is(err, provider.ErrUnknownOutcome) || !strings.Contains(err.Error(), "150") {
		t.Fatalf("Place with a wrong password = %v", err)
	}
	if n := len(sim.Payments()); n != 0 {
		t.Fatalf("%d payments with a wrong password", n)
	}
	if _, err := c.Status(context.Background(), o); err == nil || errors.Is(err, provider.ErrOrderNotFound) {
		t.Fatalf("Status with a wrong password = %v: must not say 'never received'", err)
	}
}

func TestNotSent(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, err := qiwi.New(qiwi.Options{BaseURL: "http://" + addr, TerminalID: "1", Password: "p", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Place(context.Background(), topup("ns", qiwi.ProductWallet, "+79161234567", 100)); !errors.Is(err, provider.ErrNotSent) {
		t.Fatalf("Place = %v", err)
	}
}

func TestHostileAnswers(t *testing.T) {
	t.Parallel()
	sim, c := setup(t, qiwisim.Options{HugeBytes: 8 << 20}, nil)
	ctx := context.Background()
	sim.Fail("pay", qiwisim.BadXML, 1)
	if _, err := c.Place(ctx, topup("bx", qiwi.ProductWallet, "+79161234567", 100)); !errors.Is(err, provider.ErrUnknownOutcome) || !strings.Contains(err.Error(), "XML") {
		t.Fatalf("bad XML: %v", err)
	}
	sim.Fail("pay", qiwisim.HugeBody, 1)
	if _, err := c.Place(ctx, topup("hb", qiwi.ProductWallet, "+79161234567", 100)); !errors.Is(err, provider.ErrUnknownOutcome) || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("huge answer: %v", err)
	}
}

func TestHugeAnswerMemory(t *testing.T) {
	if heaptest.Race {
		t.Skip("heap bounds do not hold under the race detector")
	}
	sim, c := setup(t, qiwisim.Options{HugeBytes: 64 << 20}, nil)
	sim.Fail("ping", qiwisim.HugeBody, 1)
	var err error
	h := heaptest.Measure(func() { _, err = c.Balance(context.Background()) })
	if err == nil {
		t.Fatal("a 64 MiB answer was accepted")
	}
	t.Logf("64 MiB answer refused: peak heap +%d KiB", h.PeakInuse>>10)
	if h.PeakInuse > 8<<20 {
		t.Fatalf("peak heap +%d MiB", h.PeakInuse>>20)
	}
}

// The simulator speaks the documented XML: the request of the
// documentation's example, sent by hand, is answered with a payment.
func TestDocumentedRequestByHand(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(qiwisim.New(qiwisim.Options{Agents: map[string]string{"123": "***"}}))
	defer srv.Close()
	doc := `<?xml version="1.0" encoding="utf-8"?>
<request>
  <request-type>pay</request-type>
  <terminal-id>123</terminal-id>
  <extra name="password">***</extra>
  <extra name="income_wire_transfer">1</extra>
  <auth>
    <payment>
      <transaction-number>12345678</transaction-number>
      <from><ccy>RUB</ccy></from>
      <to>
        <amount>1115.00</amount>
        <ccy>RUB</ccy>
        <service-id>99</service-id>
        <account-number>79181234567</account-number>
      </to>
    </payment>
  </auth>
</request>`
	resp, err := http.Post(srv.URL+"/xml/topup.jsp", "application/xml", strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), "status='60'") || !strings.Contains(string(b), "transaction-number='12345678'") || !strings.Contains(string(b), "final-status='true'") {
		t.Fatalf("answer: %s", b)
	}
}
