// Package providertest drives every reward provider's client against its
// simulator through one vocabulary of failure modes, so tests — the
// providers' own contract suite here, and the redemption saga's — can ask
// for "an order whose answer times out after the provider accepted it"
// without knowing that Giftery selects it by e-mail and QIWI by phone
// number.
//
//	for _, h := range providertest.All(t) {
//		o, ok := h.Order("ord-1", providertest.TimeoutAfterAccept)
//		...
//		h.Provider().Place(ctx, o)  // ErrUnknownOutcome
//		h.Placed("ord-1")           // 1: the provider has it
//	}
package providertest

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/money"
	"github.com/loyaltyjam/loyaltyjam/internal/reward/giftery"
	"github.com/loyaltyjam/loyaltyjam/internal/reward/giftery/gifterysim"
	"github.com/loyaltyjam/loyaltyjam/internal/reward/provider"
	"github.com/loyaltyjam/loyaltyjam/internal/reward/qiwi"
	"github.com/loyaltyjam/loyaltyjam/internal/reward/qiwi/qiwisim"
)

// Mode is what the simulator does with an order.
type Mode string

// Modes every simulator understands (where the provider has such a
// failure at all).
const (
	Success            Mode = "success"              // done at once
	TimeoutAfterAccept Mode = "timeout_after_accept" // accepted, the answer never comes
	ErrorAfterAccept   Mode = "error_after_accept"   // accepted, HTTP 500
	ErrorBeforeAccept  Mode = "error_before_accept"  // HTTP 500, nothing accepted
	OutOfStock         Mode = "out_of_stock"         // refused: nothing left
	BadRecipient       Mode = "bad_recipient"        // refused: wrong e-mail / phone
	Processing         Mode = "processing"           // accepted, done after ProcessingPolls status checks
	FailAfterAccept    Mode = "fail_after_accept"    // accepted, then failed at the provider (Place: ErrRejected or Processing)
)

// Modes lists every mode.
var Modes = []Mode{Success, TimeoutAfterAccept, ErrorAfterAccept, ErrorBeforeAccept, OutOfStock, BadRecipient, Processing, FailAfterAccept}

// ProcessingPolls bounds how many status checks a Processing order stays
// processing: Place says Processing, so does the first Status, and one
// of the next ProcessingPolls says Done.
const ProcessingPolls = 2

// ClientTimeout is the clients' per-call timeout: what a
// TimeoutAfterAccept answer runs into.
const ClientTimeout = 500 * time.Millisecond

// Harness is one provider's client wired to its running simulator.
type Harness interface {
	Name() string
	Provider() provider.Provider
	// Order returns a valid order under id that the simulator will treat
	// in mode m; false when this provider has no such failure (QIWI has
	// no stock).
	Order(id string, m Mode) (provider.Order, bool)
	// Placed reports how many orders under our id the provider holds
	// (0 or 1 when exactly-once holds).
	Placed(id string) int
	// Down makes the simulator's server answer every request with 503
	// (an outage at the provider: nothing is accepted or looked up)
	// until Down(false).
	Down(down bool)
}

// outage is the simulator's handler behind a switch that turns the whole
// server into one answering 503.
type outage struct {
	down atomic.Bool
	next http.Handler
}

func (o *outage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if o.down.Load() {
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		return
	}
	o.next.ServeHTTP(w, r)
}

func (o *outage) Down(down bool) { o.down.Store(down) }

// All starts every provider's simulator on loopback for the test and
// returns their harnesses; they stop when the test ends.
func All(t testing.TB) []Harness { return []Harness{Giftery(t), QIWI(t)} }

var quiet = slog.New(slog.DiscardHandler)

type gifteryHarness struct {
	*outage
	sim *gifterysim.Server
	c   *giftery.Client
}

// Giftery returns a harness of the Giftery client and gifterysim.
func Giftery(t testing.TB) Harness {
	t.Helper()
	sim := gifterysim.New(gifterysim.Options{ProcessingPolls: ProcessingPolls, Logger: quiet})
	sw := &outage{next: sim}
	srv := httptest.NewServer(sw)
	t.Cleanup(srv.Close)
	c, err := giftery.New(giftery.Options{BaseURL: srv.URL, ClientID: "1001", Secret: "dev-giftery-secret", Timeout: ClientTimeout})
	if err != nil {
		t.Fatal(err)
	}
	return &gifteryHarness{outage: sw, sim: sim, c: c}
}

func (h *gifteryHarness) Name() string                { return giftery.Name }
func (h *gifteryHarness) Provider() provider.Provider { return h.c }

var gifteryModes = map[Mode]gifterysim.Mode{
	TimeoutAfterAccept: gifterysim.Timeout, ErrorAfterAccept: gifterysim.Accept500, ErrorBeforeAccept: gifterysim.Error500,
	OutOfStock: gifterysim.OutOfStock, BadRecipient: gifterysim.BadRecipient, Processing: gifterysim.Processing,
	FailAfterAccept: gifterysim.FailLater,
}

func (h *gifteryHarness) Order(id string, m Mode) (provider.Order, bool) {
	o := provider.Order{ID: id, ProductID: "13103", Face: money.Kopecks(100000), Email: "seller@example.com", RecipientName: "Анна"}
	if m == Success {
		return o, true
	}
	sm, ok := gifteryModes[m]
	if !ok {
		return provider.Order{}, false
	}
	o.Email = "sim+" + string(sm) + "@example.com"
	return o, true
}

func (h *gifteryHarness) Placed(id string) int {
	n := 0
	for _, o := range h.sim.Orders() {
		if o.UUID == id {
			n++
		}
	}
	return n
}

type qiwiHarness struct {
	*outage
	sim *qiwisim.Server
	c   *qiwi.Client
}

// QIWI returns a harness of the QIWI client and qiwisim.
func QIWI(t testing.TB) Harness {
	t.Helper()
	sim := qiwisim.New(qiwisim.Options{ProcessingPolls: ProcessingPolls, Logger: quiet})
	sw := &outage{next: sim}
	srv := httptest.NewServer(sw)
	t.Cleanup(srv.Close)
	c, err := qiwi.New(qiwi.Options{BaseURL: srv.URL, TerminalID: "1001", Password: "dev-qiwi-password", Timeout: ClientTimeout})
	if err != nil {
		t.Fatal(err)
	}
	return &qiwiHarness{outage: sw, sim: sim, c: c}
}

func (h *qiwiHarness) Name() string                { return qiwi.Name }
func (h *qiwiHarness) Provider() provider.Provider { return h.c }

var qiwiNumbers = map[Mode]string{
	Success: "+79161234567", TimeoutAfterAccept: "+79990000504", ErrorAfterAccept: "+79990000501",
	ErrorBeforeAccept: "+79990000500", BadRecipient: "+79990000298", Processing: "+79990000050",
	FailAfterAccept: "+79990000150",
}

func (h *qiwiHarness) Order(id string, m Mode) (provider.Order, bool) {
	phone, ok := qiwiNumbers[m]
	if !ok {
		return provider.Order{}, false
	}
	return provider.Order{ID: id, ProductID: qiwi.ProductMobile, Phone: phone, Face: money.Kopecks(30000)}, true
}

func (h *qiwiHarness) Placed(id string) int {
	n, txn := 0, qiwi.TransactionNumber(id)
	for _, p := range h.sim.Payments() {
		if p.TransactionNumber == txn {
			n++
		}
	}
	return n
}
