package ofdsim

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config configures a Server. The zero value is usable.
type Config struct {
	// Now is the clock; default time.Now. Inject one to test pending_for and
	// token expiry without sleeping.
	Now func() time.Time
	// Assortment replaces the embedded DefaultAssortment.
	Assortment []Product
	// Tokens are the accepted proverkacheka tokens; empty accepts any
	// non-empty token.
	Tokens []string
	// MasterTokens are the accepted Open API master tokens; empty accepts
	// any non-empty token.
	MasterTokens []string
	// TokenTTL is the lifetime of Open API temporary tokens; default 1 h.
	TokenTTL time.Duration
	// Logger defaults to discarding.
	Logger *slog.Logger
}

// Server is the simulator; it implements http.Handler.
type Server struct {
	cfg Config
	mux *http.ServeMux
	log *slog.Logger

	mu       sync.Mutex
	receipts map[string]*entry // key fn/fd
	shops    map[string]Shop   // by fn
	tokens   map[string]time.Time
	messages map[string]*message
	nextID   uint64
	stats    Stats
}

type entry struct {
	Receipt   *Receipt // nil until first generated (or set by admin)
	Scenario  *Scenario
	Calls     int       // calls seen for this receipt
	FirstSeen time.Time // first call
	FirstFor  map[string]bool
}

type message struct {
	key   string
	qr    q
	check bool
	polls int
}

// Stats are the call counters served at GET /_sim/stats.
type Stats struct {
	// Endpoints counts requests per endpoint: "proverkacheka",
	// "openapi_auth", "openapi_send", "openapi_get_message", "admin".
	Endpoints map[string]int `json:"endpoints"`
	// Scenarios counts receipt calls per scenario name.
	Scenarios map[string]int `json:"scenarios"`
	// Receipts counts calls per receipt "fn/fd".
	Receipts map[string]int `json:"receipts"`
}

// New returns a simulator.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Assortment == nil {
		cfg.Assortment = DefaultAssortment()
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = time.Hour
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), log: cfg.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.resetLocked()
	s.mux.HandleFunc("POST /api/v1/check/get", s.handleProverkacheka)
	s.mux.HandleFunc("POST /open-api/AuthService/0.1", s.handleAuth)
	s.mux.HandleFunc("POST /open-api/ais3/KktService/0.1", s.handleKKT)
	s.mux.HandleFunc("PUT /_sim/receipts/{fn}/{fd}/{fp}", s.handlePutReceipt)
	s.mux.HandleFunc("GET /_sim/receipts/{fn}/{fd}/{fp}", s.handleGetReceipt)
	s.mux.HandleFunc("PUT /_sim/shops/{fn}", s.handlePutShop)
	s.mux.HandleFunc("GET /_sim/stats", s.handleStats)
	s.mux.HandleFunc("POST /_sim/reset", s.handleReset)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) resetLocked() {
	s.receipts = map[string]*entry{}
	s.shops = map[string]Shop{}
	s.tokens = map[string]time.Time{}
	s.messages = map[string]*message{}
	s.stats = Stats{Endpoints: map[string]int{}, Scenarios: map[string]int{}, Receipts: map[string]int{}}
}

// Reset forgets receipts, shops, tokens, messages and counters.
func (s *Server) Reset() {
	s.mu.Lock()
	s.resetLocked()
	s.mu.Unlock()
}

// Stats returns a copy of the call counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp := func(m map[string]int) map[string]int {
		out := make(map[string]int, len(m))
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	return Stats{Endpoints: cp(s.stats.Endpoints), Scenarios: cp(s.stats.Scenarios), Receipts: cp(s.stats.Receipts)}
}

func key(fn string, fd uint64) string { return fn + "/" + strconv.FormatUint(fd, 10) }

// SetScenario fixes the scenario of receipt (fn, fd), overriding the fn rule.
func (s *Server) SetScenario(fn string, fd uint64, sc Scenario) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entryLocked(key(fn, fd))
	e.Scenario = &sc
	e.Calls, e.FirstSeen = 0, time.Time{}
}

// PutReceipt stores a receipt (it then answers queries for its fn/fd and
// validates fp, sum, operation and time against it).
func (s *Server) PutReceipt(r Receipt) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp := r
	s.entryLocked(key(r.FN, r.FD)).Receipt = &cp
}

// RegisterShop makes every receipt generated for fn come from shop.
func (s *Server) RegisterShop(fn string, shop Shop) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shops[fn] = shop
}

func (s *Server) entryLocked(k string) *entry {
	e := s.receipts[k]
	if e == nil {
		e = &entry{FirstFor: map[string]bool{}}
		s.receipts[k] = e
	}
	return e
}

func (s *Server) shopLocked(fn string) Shop {
	if sh, ok := s.shops[fn]; ok {
		if sh.Kind == "" {
			sh.Kind = "hyper"
		}
		return sh
	}
	return generateShop(fn)
}

// outcome is what a receipt call resolves to, independent of protocol.
type outcome struct {
	scenario string
	kind     string // "ok", "pending", "invalid", "not_found", "autonomous", "rate_limited", "wait", "server_error", "malformed"
	receipt  Receipt
	delay    time.Duration
	soap     bool
	first    bool
}

// resolve counts a call for the query and decides the answer. The
// receipt is generated on first sight and validated on every call.
func (s *Server) resolve(qr q, countCall bool, firstKey string) outcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	k := key(qr.FN, qr.FD)
	e := s.entryLocked(k)
	sc := ScenarioFromFN(qr.FN)
	if e.Scenario != nil {
		sc = *e.Scenario
	}
	if sc.Name == "" {
		sc.Name = ScenarioOK
	}
	if countCall {
		e.Calls++
		s.stats.Scenarios[sc.Name]++
		s.stats.Receipts[k]++
	}
	if e.FirstSeen.IsZero() {
		e.FirstSeen = now
	}
	o := outcome{scenario: sc.Name, kind: "ok", soap: sc.SOAPFault}
	switch sc.Name {
	case ScenarioPendingCalls:
		if e.Calls <= sc.Calls {
			o.kind = "pending"
		}
	case ScenarioPendingFor:
		if now.Before(e.FirstSeen.Add(time.Duration(sc.Duration))) {
			o.kind = "pending"
		}
	case ScenarioInvalidFP:
		o.kind = "invalid"
	case ScenarioNotFound:
		o.kind = "not_found"
	case ScenarioAutonomous:
		o.kind = "autonomous"
	case ScenarioRateLimited:
		o.kind = "rate_limited"
	case ScenarioWait:
		if e.Calls <= 1 {
			o.kind = "wait"
		}
	case ScenarioServerError:
		o.kind = "server_error"
	case ScenarioMalformed:
		o.kind = "malformed"
	case ScenarioSlow:
		o.delay = time.Duration(sc.Delay)
	}
	if o.kind != "ok" {
		return o
	}
	if e.Receipt == nil {
		rc := generateReceipt(s.cfg.Assortment, s.shopLocked(qr.FN), qr, now)
		e.Receipt = &rc
	}
	if !matches(*e.Receipt, qr) {
		o.kind = "invalid"
		return o
	}
	o.receipt = *e.Receipt
	if o.kind == "ok" && !e.FirstFor[firstKey] {
		e.FirstFor[firstKey] = true
		o.first = true
	}
	return o
}

// matches validates a query like the real check: fp, sum and operation
// exact, time within ±1 minute.
func matches(r Receipt, qr q) bool {
	if r.FP != qr.FP {
		return false
	}
	if qr.HasSum && r.Total != qr.Sum {
		return false
	}
	if qr.Operation != 0 && qr.Operation != r.Operation {
		return false
	}
	if !qr.Time.IsZero() {
		d := r.Time.Sub(qr.Time)
		// The QR time may be truncated to the minute.
		if d < -time.Minute || d >= 2*time.Minute {
			return false
		}
	}
	return true
}

func (s *Server) count(endpoint string) {
	s.mu.Lock()
	s.stats.Endpoints[endpoint]++
	s.mu.Unlock()
}

// sleep waits d or until the request is gone.
func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// parseQR reads a fiscal QR string (the simulator's own small parser, so the
// client and the simulator do not share bugs).
func parseQR(raw string) (q, bool) {
	raw = strings.TrimSpace(raw)
	if strings.Contains(raw, "%3D") && !strings.Contains(raw, "=") {
		if u, err := url.QueryUnescape(raw); err == nil {
			raw = u
		}
	}
	vals, err := url.ParseQuery(strings.ReplaceAll(raw, "&amp;", "&"))
	if err != nil {
		return q{}, false
	}
	get := func(k string) string {
		for kk, v := range vals {
			if strings.EqualFold(kk, k) && len(v) > 0 {
				return strings.TrimSpace(v[0])
			}
		}
		return ""
	}
	fd := get("i")
	if fd == "" {
		fd = get("fd")
	}
	return fields(get("fn"), fd, get("fp"), get("n"), get("t"), get("s"))
}

// fields validates the requisites; t in yyyyMMddTHHmm[ss] (either case of
// T) or yyyy-MM-ddTHH:mm[:ss]; s in rubles.
func fields(fn, fd, fp, n, t, sum string) (q, bool) {
	var out q
	if len(fn) != 16 || !digits(fn) {
		return q{}, false
	}
	out.FN = fn
	var err error
	if out.FD, err = strconv.ParseUint(fd, 10, 32); err != nil || out.FD == 0 {
		return q{}, false
	}
	if out.FP, err = strconv.ParseUint(fp, 10, 32); err != nil || out.FP == 0 {
		return q{}, false
	}
	if n != "" {
		if out.Operation, err = strconv.Atoi(n); err != nil || out.Operation < 1 || out.Operation > 4 {
			return q{}, false
		}
	}
	if t != "" {
		t = strings.Replace(t, "t", "T", 1)
		ok := false
		for _, l := range []string{"20060102T1504", "20060102T150405", "2006-01-02T15:04", "2006-01-02T15:04:05"} {
			if tt, err := time.ParseInLocation(l, t, time.UTC); err == nil {
				out.Time, ok = tt, true
				break
			}
		}
		if !ok {
			return q{}, false
		}
	}
	if sum != "" {
		k, ok := kopecks(sum)
		if !ok {
			return q{}, false
		}
		out.Sum, out.HasSum = k, true
	}
	return out, true
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func kopecks(s string) (int64, bool) {
	whole, frac, _ := strings.Cut(strings.ReplaceAll(s, ",", "."), ".")
	if !digits(whole) || len(frac) > 2 || (frac != "" && !digits(frac)) {
		return 0, false
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, false
	}
	f := int64(0)
	if frac != "" {
		f, _ = strconv.ParseInt((frac + "0")[:2], 10, 64)
	}
	return w*100 + f, true
}

// --- admin API ---

// putReceiptRequest is the body of PUT /_sim/receipts/{fn}/{fd}/{fp}.
type putReceiptRequest struct {
	Scenario
	// Sum (kopecks), Time (local "2006-01-02T15:04:05"), Operation and Shop
	// fix the receipt instead of generating it on first sight.
	Sum       *int64 `json:"sum,omitempty"`
	Time      string `json:"time,omitempty"`
	Operation int    `json:"operation,omitempty"`
	Shop      *Shop  `json:"shop,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	b, _ := marshalNoEscape(v)
	w.Write(b)
}

func (s *Server) pathKey(r *http.Request) (q, bool) {
	return fields(r.PathValue("fn"), r.PathValue("fd"), r.PathValue("fp"), "", "", "")
}

func (s *Server) handlePutReceipt(w http.ResponseWriter, r *http.Request) {
	s.count("admin")
	qr, ok := s.pathKey(r)
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "fn must be 16 digits, fd and fp 1..4294967295"})
		return
	}
	var req putReceiptRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad JSON: " + err.Error()})
		return
	}
	if !validScenario(req.Name) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unknown scenario " + req.Name})
		return
	}
	if req.Name == "" {
		req.Name = ScenarioOK
	}
	s.SetScenario(qr.FN, qr.FD, req.Scenario)
	if req.Sum != nil || req.Time != "" || req.Operation != 0 || req.Shop != nil {
		qr.Operation = req.Operation
		if req.Sum != nil {
			qr.Sum, qr.HasSum = *req.Sum, true
		}
		if req.Time != "" {
			t, ok := fields(qr.FN, "1", "1", "", req.Time, "")
			if !ok || t.Time.IsZero() {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "time must be 2006-01-02T15:04[:05]"})
				return
			}
			qr.Time = t.Time
		}
		s.mu.Lock()
		shop := s.shopLocked(qr.FN)
		if req.Shop != nil {
			shop = *req.Shop
		}
		rc := generateReceipt(s.cfg.Assortment, shop, qr, s.cfg.Now())
		s.entryLocked(key(qr.FN, qr.FD)).Receipt = &rc
		s.mu.Unlock()
	}
	s.handleGetReceipt(w, r)
}

func (s *Server) handleGetReceipt(w http.ResponseWriter, r *http.Request) {
	qr, ok := s.pathKey(r)
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad fiscal identity"})
		return
	}
	s.mu.Lock()
	e := s.receipts[key(qr.FN, qr.FD)]
	sc := ScenarioFromFN(qr.FN)
	var out struct {
		Scenario Scenario `json:"scenario"`
		Calls    int      `json:"calls"`
		Receipt  *Receipt `json:"receipt,omitempty"`
	}
	if e != nil {
		if e.Scenario != nil {
			sc = *e.Scenario
		}
		out.Calls, out.Receipt = e.Calls, e.Receipt
	}
	out.Scenario = sc
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handlePutShop(w http.ResponseWriter, r *http.Request) {
	s.count("admin")
	fn := r.PathValue("fn")
	if len(fn) != 16 || !digits(fn) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "fn must be 16 digits"})
		return
	}
	var sh Shop
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&sh); err != nil || sh.INN == "" || sh.Name == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "want JSON with at least name and inn"})
		return
	}
	if sh.KKTRegID == "" {
		sh.KKTRegID = generateShop(fn).KKTRegID
	}
	s.RegisterShop(fn, sh)
	writeJSON(w, http.StatusOK, sh)
}

func (s *Server) handleStats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Stats())
}

func (s *Server) handleReset(w http.ResponseWriter, _ *http.Request) {
	s.Reset()
	w.WriteHeader(http.StatusNoContent)
}

// ScenarioNames lists every scenario, sorted.
func ScenarioNames() []string {
	var out []string
	for _, n := range scenarioCodes {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
