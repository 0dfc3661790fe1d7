// Package gifterysim is a local simulator of Giftery's B2B API: one URL
// taking id, cmd, in, out, data and sig (GET query or POST form), checking
// the SHA-256 signature, answering {"status":"ok","data":…} or
// {"status":"error","error":{"code":N,"text":"…"}} for getProducts,
// getBalance, makeOrder, getStatus, getCode and test. It keeps orders in
// memory; a second makeOrder with the same uuid answers with the first
// order.
//
// Failure modes (Mode) are chosen three ways:
//
//   - per test: Server.Fail (or POST /_sim/fail {"cmd":"makeOrder","mode":"timeout","count":1})
//     makes the next count calls of cmd fail that way;
//   - per product: a Product's Mode applies to every order of it (the
//     default list has one product per mode, titled "[sim] …");
//   - per request: an order's email_to "sim+<mode>@…" (e.g.
//     sim+timeout@example.com) selects the mode for that order.
//
// Modes: timeout (accept the order, then answer nothing until the client
// gives up), accept_500 (accept, then HTTP 500), 500 (HTTP 500, nothing
// accepted), out_of_stock, bad_recipient, processing (getStatus says
// "process" for Options.ProcessingPolls polls, or for
// Options.ProcessingFor), fail_later (accepted, then getStatus "error"),
// huge_body (an endless answer), bad_json. A wrong signature is answered
// with error code CodeBadSignature; an invalid e-mail or phone with
// CodeBadRecipient.
package gifterysim

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/simhttp"
)

// Error codes the simulator answers with (giftery.DefaultCodes).
const (
	CodeUnknownCommand = 1
	CodeBadSignature   = 2
	CodeBadParams      = 10
	CodeNoProduct      = 11
	CodeOutOfStock     = 12
	CodeNoMoney        = 13
	CodeBadRecipient   = 14
	CodeOrderNotFound  = 20
	CodeNotReady       = 21
)

// Mode is a failure mode.
type Mode string

// Failure modes.
const (
	None         Mode = ""
	Timeout      Mode = "timeout"
	Accept500    Mode = "accept_500"
	Error500     Mode = "500"
	OutOfStock   Mode = "out_of_stock"
	BadRecipient Mode = "bad_recipient"
	Processing   Mode = "processing"
	FailLater    Mode = "fail_later"
	HugeBody     Mode = "huge_body"
	BadJSON      Mode = "bad_json"
)

var modes = map[Mode]bool{Timeout: true, Accept500: true, Error500: true, OutOfStock: true, BadRecipient: true,
	Processing: true, FailLater: true, HugeBody: true, BadJSON: true}

// Product is one item of the simulated product list.
type Product struct {
	ID      int64
	Title   string
	Brief   string
	Faces   []int64 // roubles; 0 = free face in [FaceMin, FaceMax]
	FaceMin int64
	FaceMax int64
	Image   string
	// Mode applies to every order of this product.
	Mode Mode
}

// DefaultProducts is the dev product list: real-looking certificates and
// one "[sim]" product per failure mode.
func DefaultProducts() []Product {
	img := func(s string) string { return "https://cdn.giftery.sim/680x310/" + s + ".jpg" }
	return []Product{
		{ID: 2111, Title: "Giftery Card", Brief: "Универсальный подарочный сертификат: получатель обменяет его на карты известных брендов.", Faces: []int64{0, 500, 1000, 2000, 3000, 5000}, FaceMin: 100, FaceMax: 30000, Image: img("gifterycard")},
		{ID: 13103, Title: "Л'Этуаль", Brief: "Электронный подарочный сертификат сети магазинов косметики и парфюмерии.", Faces: []int64{500, 1000, 3000, 5000}, Image: img("letual")},
		{ID: 13797, Title: "Ozon", Brief: "Электронный сертификат на покупки в интернет-магазине.", Faces: []int64{0}, FaceMin: 100, FaceMax: 15000, Image: img("ozon")},
		{ID: 18351, Title: "Спортмастер", Brief: "Подарочная карта сети магазинов спортивных товаров.", Faces: []int64{1000, 2000, 3000, 5000}, Image: img("sportmaster")},
		{ID: 9001, Title: "[sim] Нет в наличии", Faces: []int64{500, 1000}, Mode: OutOfStock},
		{ID: 9002, Title: "[sim] Долго в обработке", Faces: []int64{500, 1000}, Mode: Processing},
		{ID: 9003, Title: "[sim] Таймаут после приёма", Faces: []int64{500, 1000}, Mode: Timeout},
		{ID: 9004, Title: "[sim] Ошибка 500 после приёма", Faces: []int64{500, 1000}, Mode: Accept500},
		{ID: 9005, Title: "[sim] Отказ после приёма", Faces: []int64{500, 1000}, Mode: FailLater},
	}
}

// Options configure a Server. The zero value is usable.
type Options struct {
	// Clients maps client id → secret. Default {"1001": "dev-giftery-secret"}.
	Clients map[string]string
	// Products default to DefaultProducts().
	Products []Product
	// Balance is our money with Giftery, in roubles. Default 1 000 000.
	Balance int64
	// ProcessingPolls is how many getStatus calls a "processing" order
	// answers "process" before "ok". Default 3.
	ProcessingPolls int
	// ProcessingFor, if set, keeps a "processing" order in "process" for
	// this long instead (minutes, for the dev run's sweeper).
	ProcessingFor time.Duration
	// HangFor bounds how long a "timeout" answer hangs. Default 2 min.
	HangFor time.Duration
	// HugeBytes is the size of a huge_body answer. Default 64 MiB.
	HugeBytes int64
	// Now is the clock; default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Order is one accepted order.
type Order struct {
	ID        int64     `json:"id"`
	UUID      string    `json:"uuid"`
	ProductID int64     `json:"product_id"`
	Face      int64     `json:"face"`
	EmailTo   string    `json:"email_to,omitempty"`
	ToPhone   string    `json:"to_phone,omitempty"`
	Mode      Mode      `json:"mode,omitempty"`
	Code      string    `json:"code"`
	PIN       string    `json:"pin"`
	Created   time.Time `json:"created"`
	Polls     int       `json:"polls"`
	Testmode  bool      `json:"testmode,omitempty"`
}

type failure struct {
	mode  Mode
	count int
}

// Server is the simulator, an http.Handler.
type Server struct {
	opts     Options
	log      *slog.Logger
	products map[int64]Product
	order    []int64

	mu       sync.Mutex
	seq      int64
	balance  int64
	byUUID   map[string]*Order
	byID     map[int64]*Order
	fail     map[string]failure
	requests map[string]int

	http simhttp.Server
}

// New returns a simulator.
func New(opts Options) *Server {
	if opts.Clients == nil {
		opts.Clients = map[string]string{"1001": "dev-giftery-secret"}
	}
	if opts.Products == nil {
		opts.Products = DefaultProducts()
	}
	if opts.Balance == 0 {
		opts.Balance = 1_000_000
	}
	if opts.ProcessingPolls <= 0 {
		opts.ProcessingPolls = 3
	}
	if opts.HangFor <= 0 {
		opts.HangFor = 2 * time.Minute
	}
	if opts.HugeBytes <= 0 {
		opts.HugeBytes = 64 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts, log: opts.Logger, products: map[int64]Product{}, seq: 700000,
		balance: opts.Balance, byUUID: map[string]*Order{}, byID: map[int64]*Order{},
		fail: map[string]failure{}, requests: map[string]int{}}
	if s.log == nil {
		s.log = slog.Default()
	}
	for _, p := range opts.Products {
		s.products[p.ID] = p
		s.order = append(s.order, p.ID)
	}
	return s
}

// Start listens on addr and serves until ctx is done or Close; it returns
// the base URL.
func (s *Server) Start(ctx context.Context, addr string) (string, error) {
	return s.http.Start(ctx, addr, "gifterysim", s, s.log)
}

// Close stops a server started with Start.
func (s *Server) Close() error {
	return s.http.Close()
}

// Fail makes the next count calls of cmd ("makeOrder", "getStatus", …)
// fail in mode m; count 0 clears.
func (s *Server) Fail(cmd string, m Mode, count int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if count <= 0 {
		delete(s.fail, cmd)
		return
	}
	s.fail[cmd] = failure{mode: m, count: count}
}

// Orders returns the accepted orders, oldest first.
func (s *Server) Orders() []Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Order, 0, len(s.byID))
	for id := int64(700001); id <= s.seq; id++ {
		if o, ok := s.byID[id]; ok {
			out = append(out, *o)
		}
	}
	return out
}

// Requests returns how many calls of cmd arrived (signed or not).
func (s *Server) Requests(cmd string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[cmd]
}

// Balance returns the remaining balance in roubles.
func (s *Server) Balance() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.balance
}

// SetBalance sets the balance in roubles.
func (s *Server) SetBalance(r int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.balance = r
}

// Reset forgets orders, failures and counts, and restores the balance.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byUUID, s.byID = map[string]*Order{}, map[int64]*Order{}
	s.fail, s.requests = map[string]failure{}, map[string]int{}
	s.balance = s.opts.Balance
}

// ServeHTTP serves the API at / and the admin API:
//
//	GET|POST /?id=&cmd=&in=json&out=json&data=&sig=   the Giftery API
//	GET      /_sim/orders                             accepted orders (JSON)
//	DELETE   /_sim/orders                             Reset
//	POST     /_sim/fail {"cmd":"makeOrder","mode":"timeout","count":1}
//	GET      /_sim/                                   HTML page of the orders
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/_sim/orders" && r.Method == http.MethodGet:
		writeJSON(w, s.Orders())
	case r.URL.Path == "/_sim/orders" && r.Method == http.MethodDelete:
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/_sim/fail" && r.Method == http.MethodPost:
		var f struct {
			Cmd   string `json:"cmd"`
			Mode  Mode   `json:"mode"`
			Count int    `json:"count"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&f); err != nil || (f.Count > 0 && !modes[f.Mode]) {
			http.Error(w, "want {\"cmd\":\"makeOrder\",\"mode\":\"timeout\",\"count\":1}", http.StatusBadRequest)
			return
		}
		if f.Cmd == "" {
			f.Cmd = "makeOrder"
		}
		s.Fail(f.Cmd, f.Mode, f.Count)
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/_sim/" && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = page.Execute(w, s.Orders())
	case r.URL.Path == "/":
		s.api(w, r)
	default:
		http.NotFound(w, r)
	}
}

var page = template.Must(template.New("orders").Parse(`<!doctype html><meta charset="utf-8"><title>Giftery simulator</title>
<h1>Giftery simulator: orders</h1><table border="1" cellpadding="4"><tr><th>id</th><th>uuid (our order)</th><th>product</th><th>face, ₽</th><th>to</th><th>mode</th><th>code / PIN</th><th>created</th></tr>
{{range .}}<tr><td>{{.ID}}</td><td>{{.UUID}}</td><td>{{.ProductID}}</td><td>{{.Face}}</td><td>{{.EmailTo}} {{.ToPhone}}</td><td>{{.Mode}}</td><td>{{.Code}} / {{.PIN}}</td><td>{{.Created.Format "2006-01-02 15:04:05"}}</td></tr>
{{else}}<tr><td colspan="8">no orders yet</td></tr>{{end}}</table>`))

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

func apiOK(w http.ResponseWriter, data any) {
	writeJSON(w, map[string]any{"status": "ok", "data": data})
}

func apiErr(w http.ResponseWriter, code int, text string) {
	writeJSON(w, map[string]any{"status": "error", "error": map[string]any{"code": code, "text": text}})
}

// takeFailure consumes one failure planned for cmd.
func (s *Server) takeFailure(cmd string) Mode {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[cmd]++
	f, ok := s.fail[cmd]
	if !ok {
		return None
	}
	f.count--
	if f.count <= 0 {
		delete(s.fail, cmd)
	} else {
		s.fail[cmd] = f
	}
	return f.mode
}

func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	cmd, id, data, sig := q.Get("cmd"), q.Get("id"), q.Get("data"), q.Get("sig")
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		if v := r.PostForm.Get("data"); v != "" {
			data = v
		}
		if v := r.PostForm.Get("sig"); v != "" {
			sig = v
		}
	}
	mode := s.takeFailure(cmd)
	if s.early(w, mode) {
		return
	}
	secret, known := s.opts.Clients[id]
	want := sha256.Sum256([]byte(cmd + data + secret))
	if !known || subtle.ConstantTimeCompare([]byte(hex.EncodeToString(want[:])), []byte(strings.ToLower(sig))) != 1 {
		apiErr(w, CodeBadSignature, "Неверная подпись запроса")
		return
	}
	switch cmd {
	case "test":
		apiOK(w, map[string]any{"sample_text": "Test function works!",
			"available_methods": []string{"getProducts", "getBalance", "makeOrder", "getStatus", "getCode", "test"}})
	case "getBalance":
		apiOK(w, map[string]any{"balance": s.Balance()})
	case "getProducts":
		s.getProducts(w)
	case "makeOrder":
		if r.Method != http.MethodPost && data == "" {
			apiErr(w, CodeBadParams, "Нет данных заказа")
			return
		}
		s.makeOrder(w, r, data, mode)
	case "getStatus":
		s.getStatus(w, data)
	case "getCode":
		s.getCode(w, data)
	default:
		apiErr(w, CodeUnknownCommand, "Неизвестная команда "+cmd)
	}
}

// early answers the modes that fail before anything is done.
func (s *Server) early(w http.ResponseWriter, m Mode) bool {
	switch m {
	case Error500:
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
	case BadJSON:
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok","data":{"id": 12`)
	case HugeBody:
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok","data":[`)
		chunk := []byte(strings.Repeat(`{"id":"1","title":"x"},`, 2000))
		for n := int64(0); n < s.opts.HugeBytes; n += int64(len(chunk)) {
			if _, err := w.Write(chunk); err != nil {
				return true
			}
		}
		_, _ = io.WriteString(w, `{}]}`)
	default:
		return false
	}
	return true
}

func (s *Server) getProducts(w http.ResponseWriter) {
	out := make([]map[string]any, 0, len(s.order))
	for _, id := range s.order {
		p := s.products[id]
		faces := make([]string, len(p.Faces))
		for i, f := range p.Faces {
			faces[i] = strconv.FormatInt(f, 10)
		}
		min, max := p.FaceMin, p.FaceMax
		if min == 0 && len(p.Faces) > 0 {
			min, max = p.Faces[0], p.Faces[len(p.Faces)-1]
		}
		out = append(out, map[string]any{
			"id": strconv.FormatInt(p.ID, 10), "title": p.Title, "brief": p.Brief,
			"url":   fmt.Sprintf("https://www.giftery.sim/giftcards/%d", p.ID),
			"faces": faces, "face_step": "1", "face_min": strconv.FormatInt(min, 10), "face_max": strconv.FormatInt(max, 10),
			"main_image": map[string]string{"small": p.Image, "medium": p.Image, "large": p.Image},
			"categories": []int{27}, "region": "ru", "disclaimer": "", "supplier_id": 342,
		})
	}
	apiOK(w, out)
}

type orderArgs struct {
	ProductID json.Number `json:"product_id"`
	Face      json.Number `json:"face"`
	UUID      string      `json:"uuid"`
	EmailTo   string      `json:"email_to"`
	ToPhone   string      `json:"to_phone"`
	Testmode  json.Number `json:"testmode"`
}

var (
	simMail = regexp.MustCompile(`^sim\+([a-z_0-9]+)@`)
	phoneRe = regexp.MustCompile(`^7\d{10}$`)
)

func (s *Server) makeOrder(w http.ResponseWriter, r *http.Request, data string, mode Mode) {
	var a orderArgs
	if err := json.Unmarshal([]byte(data), &a); err != nil {
		apiErr(w, CodeBadParams, "Некорректный JSON в data")
		return
	}
	pid, err1 := a.ProductID.Int64()
	face, err2 := a.Face.Int64()
	if err1 != nil || err2 != nil || face <= 0 {
		apiErr(w, CodeBadParams, "Некорректные product_id или face")
		return
	}
	if a.UUID == "" || len(a.UUID) > 36 {
		apiErr(w, CodeBadParams, "uuid обязателен, не длиннее 36 символов")
		return
	}
	// A refusal planned by the test comes before the uuid lookup: it is
	// how the client is shown a refusal of an order it already placed.
	switch mode {
	case OutOfStock:
		apiErr(w, CodeOutOfStock, "Сертификаты закончились")
		return
	case BadRecipient:
		apiErr(w, CodeBadRecipient, "Некорректный email_to или to_phone получателя")
		return
	}
	s.mu.Lock()
	if o, dup := s.byUUID[a.UUID]; dup {
		// The same uuid again: the first order, nothing new.
		s.mu.Unlock()
		apiOK(w, map[string]any{"id": o.ID})
		return
	}
	s.mu.Unlock()
	p, ok := s.products[pid]
	if !ok {
		apiErr(w, CodeNoProduct, "Продукт не найден или неактивен")
		return
	}
	if mode == None {
		mode = p.Mode
	}
	if m := simMail.FindStringSubmatch(a.EmailTo); mode == None && m != nil && modes[Mode(m[1])] {
		mode = Mode(m[1])
	}
	if s.early(w, mode) {
		return
	}
	if !faceAllowed(p, face) {
		apiErr(w, CodeBadParams, fmt.Sprintf("Номинал %d недоступен для продукта %d", face, pid))
		return
	}
	if mode == OutOfStock {
		apiErr(w, CodeOutOfStock, "Сертификаты закончились")
		return
	}
	if a.EmailTo != "" {
		if _, err := mail.ParseAddress(a.EmailTo); err != nil {
			mode = BadRecipient
		}
	}
	if a.ToPhone != "" && !phoneRe.MatchString(a.ToPhone) {
		mode = BadRecipient
	}
	if mode == BadRecipient {
		apiErr(w, CodeBadRecipient, "Некорректный email_to или to_phone получателя")
		return
	}
	s.mu.Lock()
	if o, dup := s.byUUID[a.UUID]; dup { // raced with the same uuid
		s.mu.Unlock()
		apiOK(w, map[string]any{"id": o.ID})
		return
	}
	if s.balance < face {
		s.mu.Unlock()
		apiErr(w, CodeNoMoney, "Недостаточно средств на балансе")
		return
	}
	s.balance -= face
	s.seq++
	o := &Order{ID: s.seq, UUID: a.UUID, ProductID: pid, Face: face, EmailTo: a.EmailTo, ToPhone: a.ToPhone,
		Mode: mode, Created: s.opts.Now(), Testmode: a.Testmode.String() == "1",
		Code: fmt.Sprintf("GFT-%d-%04d", s.seq, s.seq%9973), PIN: fmt.Sprintf("%04d", (s.seq*7919)%10000)}
	s.byUUID[o.UUID], s.byID[o.ID] = o, o
	s.mu.Unlock()
	s.log.Info("gifterysim_order", "id", o.ID, "product", pid, "face", face, "mode", string(mode))
	switch mode {
	case Timeout:
		t := time.NewTimer(s.opts.HangFor)
		defer t.Stop()
		select {
		case <-r.Context().Done():
		case <-t.C:
		}
		return
	case Accept500:
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	apiOK(w, map[string]any{"id": o.ID})
}

func faceAllowed(p Product, face int64) bool {
	for _, f := range p.Faces {
		if f == face {
			return true
		}
		if f == 0 && face >= p.FaceMin && face <= p.FaceMax {
			return true
		}
	}
	return false
}

// lookup finds an order by {"id":…} or {"uuid":…} (or {"queue_id":…}).
func (s *Server) lookup(data string) (*Order, bool) {
	var a struct {
		ID      json.Number `json:"id"`
		QueueID json.Number `json:"queue_id"`
		UUID    string      `json:"uuid"`
	}
	if err := json.Unmarshal([]byte(data), &a); err != nil {
		return nil, false
	}
	if a.UUID != "" {
		o, ok := s.byUUID[a.UUID]
		return o, ok
	}
	n := a.ID
	if n == "" {
		n = a.QueueID
	}
	id, err := n.Int64()
	if err != nil {
		return nil, false
	}
	o, ok := s.byID[id]
	return o, ok
}

// state is an order's getStatus status now; it counts the poll.
func (s *Server) state(o *Order) string {
	switch o.Mode {
	case FailLater:
		return "error"
	case Processing:
		o.Polls++
		if s.opts.ProcessingFor > 0 {
			if s.opts.Now().Sub(o.Created) < s.opts.ProcessingFor {
				return "process"
			}
			return "ok"
		}
		if o.Polls <= s.opts.ProcessingPolls {
			return "process"
		}
	}
	return "ok"
}

func (s *Server) getStatus(w http.ResponseWriter, data string) {
	s.mu.Lock()
	o, ok := s.lookup(data)
	if !ok {
		s.mu.Unlock()
		apiErr(w, CodeOrderNotFound, "Заказ не найден")
		return
	}
	st := s.state(o)
	out := map[string]any{"id": o.ID, "status": st, "order_id": o.ID + 9000000, "product_id": o.ProductID,
		"face": o.Face, "sum": o.Face, "code": "API", "comment": "", "external_id": o.UUID, "testmode": boolInt(o.Testmode)}
	s.mu.Unlock()
	if st == "error" {
		out["error_code"], out["error_text"] = 501, "Поставщик отклонил заказ"
	}
	apiOK(w, out)
}

func (s *Server) getCode(w http.ResponseWriter, data string) {
	s.mu.Lock()
	o, ok := s.lookup(data)
	if !ok {
		s.mu.Unlock()
		apiErr(w, CodeOrderNotFound, "Заказ не найден")
		return
	}
	ready := o.Mode != FailLater && (o.Mode != Processing || (s.opts.ProcessingFor > 0 && s.opts.Now().Sub(o.Created) >= s.opts.ProcessingFor) ||
		(s.opts.ProcessingFor == 0 && o.Polls > s.opts.ProcessingPolls))
	code, pin, exp := o.Code, o.PIN, o.Created.AddDate(1, 0, 0)
	s.mu.Unlock()
	if !ready {
		apiErr(w, CodeNotReady, "Сертификат ещё не готов")
		return
	}
	apiOK(w, map[string]any{"code": code, "pin": pin, "expire_date": exp.In(time.FixedZone("MSK", 3*3600)).Format("2006-01-02 15:04:05")})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
