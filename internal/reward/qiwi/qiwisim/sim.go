// Package qiwisim is a local simulator of QIWI Wallet's Top-Up API for
// agents: POST /xml/topup.jsp (request types pay — a top-up, or a status
// check when it carries <status> — and ping) and POST /xml/xmlcp.jsp
// (get-provider-by-phone-number), XML in and out as documented. It checks
// the agent's terminal-id and password, keeps payments in memory keyed by
// terminal and transaction-number (the same pay request again answers with
// the existing payment; other parameters under a used number answer
// result-code 215), and debits an agent balance.
//
// Failure modes are chosen per test (Server.Fail, or POST /_sim/fail
// {"request":"pay","mode":"timeout","count":1}) or per request by the
// recipient's number, +7 999 000 NNNN:
//
//	79990000504  timeout: the payment is accepted, the answer never comes
//	79990000501  accepted, then HTTP 500
//	79990000500  HTTP 500, nothing accepted
//	79990000013  result-code 13 "repeat in a minute", nothing accepted
//	79990000050  processing: status 50 for Options.ProcessingPolls status
//	             checks (or Options.ProcessingFor), then 60
//	79990000150  processing, then final status 150 (declined)
//	79990000298  wrong number: final status 160 with result code 298
//	             (and the operator lookup answers 298)
//	79990000220  the agent's balance is short: result code 220
//	79990000204  check-deposit-possible refuses: 204 (identification
//	             status too low), deposit-possible 0
//
// Any other number of the right form is credited at once (status 60). The
// modes huge_body and bad_xml answer an endless document or broken XML.
package qiwisim

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/money"
	"github.com/loyaltyjam/loyaltyjam/internal/simhttp"
)

// Mode is a failure mode.
type Mode string

// Failure modes.
const (
	None        Mode = ""
	Timeout     Mode = "timeout"
	Accept500   Mode = "accept_500"
	Error500    Mode = "500"
	Retry13     Mode = "retry_13"
	Processing  Mode = "processing"
	FailLater   Mode = "fail_later"
	WrongNumber Mode = "wrong_number"
	NoMoney     Mode = "no_money"
	Refuse204   Mode = "refuse_204"
	HugeBody    Mode = "huge_body"
	BadXML      Mode = "bad_xml"
)

var modes = map[Mode]bool{Timeout: true, Accept500: true, Error500: true, Retry13: true, Processing: true,
	FailLater: true, WrongNumber: true, NoMoney: true, Refuse204: true, HugeBody: true, BadXML: true}

// byNumber are the per-request modes.
var byNumber = map[string]Mode{
	"79990000504": Timeout, "79990000501": Accept500, "79990000500": Error500, "79990000013": Retry13,
	"79990000204": Refuse204, "79990000050": Processing, "79990000150": FailLater, "79990000298": WrongNumber, "79990000220": NoMoney,
}

// Options configure a Server. The zero value is usable.
type Options struct {
	// Agents maps terminal-id → password. Default {"1001": "dev-qiwi-password"}.
	Agents map[string]string
	// Balance is the agent's balance in kopecks. Default 1 000 000 ₽.
	Balance money.Kopecks
	// ProcessingPolls: status checks a processing payment answers 50. Default 3.
	ProcessingPolls int
	// ProcessingFor, if set, keeps a processing payment at 50 this long instead.
	ProcessingFor time.Duration
	// HangFor bounds a timeout answer. Default 2 min.
	HangFor time.Duration
	// HugeBytes is the size of a huge_body answer. Default 64 MiB.
	HugeBytes int64
	Now       func() time.Time
	Logger    *slog.Logger
}

// Payment is one registered payment.
type Payment struct {
	Terminal          string        `json:"terminal"`
	TransactionNumber string        `json:"transaction_number"`
	TxnID             int64         `json:"txn_id"`
	Service           string        `json:"service"`
	Account           string        `json:"account"`
	Amount            money.Kopecks `json:"amount"`
	Operator          string        `json:"operator,omitempty"`
	Mode              Mode          `json:"mode,omitempty"`
	Created           time.Time     `json:"created"`
	Checks            int           `json:"checks"`
	Refunded          bool          `json:"refunded,omitempty"`
}

type failure struct {
	mode  Mode
	count int
}

// Server is the simulator, an http.Handler.
type Server struct {
	opts Options
	log  *slog.Logger

	mu       sync.Mutex
	seq      int64
	balance  money.Kopecks
	payments map[string]*Payment // terminal + "/" + transaction-number
	list     []*Payment
	fail     map[string]failure
	requests map[string]int

	http simhttp.Server
}

// New returns a simulator.
func New(opts Options) *Server {
	if opts.Agents == nil {
		opts.Agents = map[string]string{"1001": "dev-qiwi-password"}
	}
	if opts.Balance == 0 {
		opts.Balance = 100_000_000
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
	s := &Server{opts: opts, log: opts.Logger, seq: 6000000, balance: opts.Balance,
		payments: map[string]*Payment{}, fail: map[string]failure{}, requests: map[string]int{}}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

// Start listens on addr and serves until ctx is done or Close; it returns
// the base URL.
func (s *Server) Start(ctx context.Context, addr string) (string, error) {
	return s.http.Start(ctx, addr, "qiwisim", s, s.log)
}

// Close stops a server started with Start.
func (s *Server) Close() error {
	return s.http.Close()
}

// Fail makes the next count requests of type reqType ("pay", "status",
// "ping", "get-provider-by-phone-number") fail in mode m.
func (s *Server) Fail(reqType string, m Mode, count int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if count <= 0 {
		delete(s.fail, reqType)
		return
	}
	s.fail[reqType] = failure{mode: m, count: count}
}

// Payments returns registered payments, oldest first.
func (s *Server) Payments() []Payment {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Payment, len(s.list))
	for i, p := range s.list {
		out[i] = *p
	}
	return out
}

// Requests counts requests of a type ("pay", "status", …).
func (s *Server) Requests(reqType string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[reqType]
}

// Balance returns the agent's balance.
func (s *Server) Balance() money.Kopecks {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.balance
}

// Reset forgets payments, failures and counts, and restores the balance.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.payments, s.list = map[string]*Payment{}, nil
	s.fail, s.requests = map[string]failure{}, map[string]int{}
	s.balance = s.opts.Balance
}

// ServeHTTP serves the protocol and the admin API:
//
//	POST   /xml/topup.jsp      pay (top-up or status check), ping
//	POST   /xml/xmlcp.jsp      get-provider-by-phone-number
//	GET    /_sim/payments      registered payments (JSON)
//	DELETE /_sim/payments      Reset
//	POST   /_sim/fail {"request":"pay","mode":"timeout","count":1}
//	GET    /_sim/              HTML page of the payments
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/xml/topup.jsp" || r.URL.Path == "/xml/xmlcp.jsp":
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		s.handle(w, r)
	case r.URL.Path == "/_sim/payments" && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.Payments())
	case r.URL.Path == "/_sim/payments" && r.Method == http.MethodDelete:
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/_sim/" && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = page.Execute(w, s.Payments())
	case r.URL.Path == "/_sim/fail" && r.Method == http.MethodPost:
		var f struct {
			Request string `json:"request"`
			Mode    Mode   `json:"mode"`
			Count   int    `json:"count"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&f); err != nil || (f.Count > 0 && !modes[f.Mode]) {
			http.Error(w, `want {"request":"pay","mode":"timeout","count":1}`, http.StatusBadRequest)
			return
		}
		if f.Request == "" {
			f.Request = "pay"
		}
		s.Fail(f.Request, f.Mode, f.Count)
		w.WriteHeader(http.StatusNoContent)
	default:
		http.NotFound(w, r)
	}
}

var page = template.Must(template.New("payments").Parse(`<!doctype html><meta charset="utf-8"><title>QIWI simulator</title>
<h1>QIWI Top-Up simulator: payments</h1><table border="1" cellpadding="4"><tr><th>txn_id</th><th>transaction-number</th><th>service</th><th>account</th><th>amount, ₽</th><th>operator</th><th>mode</th><th>status checks</th><th>created</th></tr>
{{range .}}<tr><td>{{.TxnID}}</td><td>{{.TransactionNumber}}</td><td>{{.Service}}</td><td>{{.Account}}</td><td>{{.Amount}}</td><td>{{.Operator}}</td><td>{{.Mode}}</td><td>{{.Checks}}</td><td>{{.Created.Format "2006-01-02 15:04:05"}}</td></tr>
{{else}}<tr><td colspan="9">no payments yet</td></tr>{{end}}</table>`))

type extra struct {
	Name  string `xml:"name,attr"`
	Value string `xml:",chardata"`
}

type payTo struct {
	Amount        string  `xml:"amount"`
	ServiceID     string  `xml:"service-id"`
	AccountNumber string  `xml:"account-number"`
	Extras        []extra `xml:"extra"`
}

func (t payTo) extra(name string) string {
	for _, e := range t.Extras {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

type payment struct {
	TransactionNumber string `xml:"transaction-number"`
	To                payTo  `xml:"to"`
}

type request struct {
	RequestType string  `xml:"request-type"`
	TerminalID  string  `xml:"terminal-id"`
	Extras      []extra `xml:"extra"`
	PhoneNumber string  `xml:"phonenumber"`
	Auth        *struct {
		Payments []payment `xml:"payment"`
	} `xml:"auth"`
	Status *struct {
		Payments []payment `xml:"payment"`
	} `xml:"status"`
}

func (r request) extra(name string) string {
	for _, e := range r.Extras {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func writeXML(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	_, _ = io.WriteString(w, `<?xml version="1.0" encoding="utf-8"?>`+"\n<response>"+body+"</response>\n")
}

func resultCode(code int, fatal bool, msg string) string {
	return fmt.Sprintf(`<result-code fatal="%t" message="%s">%d</result-code>`, fatal, html.EscapeString(msg), code)
}

func (s *Server) takeFailure(kind string) Mode {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[kind]++
	f, ok := s.fail[kind]
	if !ok {
		return None
	}
	if f.count--; f.count <= 0 {
		delete(s.fail, kind)
	} else {
		s.fail[kind] = f
	}
	return f.mode
}

var phoneRe = regexp.MustCompile(`^[1-9]\d{9,14}$`)

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	var req request
	if err := xml.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		writeXML(w, resultCode(300, false, "Некорректный XML запроса"))
		return
	}
	kind := req.RequestType
	if kind == "pay" && req.Status != nil {
		kind = "status"
	}
	mode := s.takeFailure(kind)
	if s.early(w, mode) {
		return
	}
	pw, ok := s.opts.Agents[req.TerminalID]
	if !ok || subtle.ConstantTimeCompare([]byte(pw), []byte(req.extra("password"))) != 1 {
		writeXML(w, resultCode(150, true, "Ошибка авторизации"))
		return
	}
	switch {
	case kind == "check-deposit-possible":
		s.checkDeposit(w, req.extra("phone"), mode)
	case kind == "ping":
		writeXML(w, resultCode(0, false, "")+s.balances())
	case kind == "get-provider-by-phone-number" && r.URL.Path == "/xml/xmlcp.jsp":
		s.operator(w, req.PhoneNumber)
	case kind == "status" && r.URL.Path == "/xml/topup.jsp":
		s.status(w, req)
	case kind == "pay" && r.URL.Path == "/xml/topup.jsp" && req.Auth != nil && len(req.Auth.Payments) == 1:
		s.pay(w, r, req, mode)
	default:
		writeXML(w, resultCode(300, false, "Неизвестный тип запроса"))
	}
}

func (s *Server) early(w http.ResponseWriter, m Mode) bool {
	switch m {
	case Error500:
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
	case Retry13:
		writeXML(w, resultCode(13, false, "Повторите запрос через минуту"))
	case BadXML:
		w.Header().Set("Content-Type", "text/xml")
		_, _ = io.WriteString(w, `<?xml version="1.0"?><response><payment status='60' txn_id=`)
	case HugeBody:
		w.Header().Set("Content-Type", "text/xml")
		_, _ = io.WriteString(w, `<?xml version="1.0" encoding="utf-8"?><response><balances>`)
		chunk := []byte(strings.Repeat(`<balance code="643">1.00</balance>`, 2000))
		for n := int64(0); n < s.opts.HugeBytes; n += int64(len(chunk)) {
			if _, err := w.Write(chunk); err != nil {
				return true
			}
		}
		_, _ = io.WriteString(w, `</balances></response>`)
	default:
		return false
	}
	return true
}

func (s *Server) balances() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return `<balances><balance code="643">` + s.balance.String() + `</balance></balances>`
}

// checkDeposit answers check-deposit-possible: a wallet exists for the
// numbers already paid to; a top-up is possible unless the number's mode
// refuses it.
func (s *Server) checkDeposit(w http.ResponseWriter, phone string, mode Mode) {
	if !phoneRe.MatchString(phone) {
		writeXML(w, resultCode(298, true, "Некорректный номер телефона")+"<exist>0</exist><deposit-possible>0</deposit-possible>")
		return
	}
	exist := "0"
	s.mu.Lock()
	for _, p := range s.list {
		if p.Account == phone && p.Service == "99" {
			exist = "1"
		}
	}
	s.mu.Unlock()
	if mode == Refuse204 || byNumber[phone] == Refuse204 {
		writeXML(w, resultCode(204, true, "Недостаточный статус идентификации кошелька для проведения платежа")+"<exist>1</exist><deposit-possible>0</deposit-possible>")
		return
	}
	writeXML(w, resultCode(0, false, "")+"<exist>"+exist+"</exist><deposit-possible>1</deposit-possible>")
}

// operatorOf is the simulated numbering plan: an operator id per DEF code.
func operatorOf(phone string) (string, bool) {
	if len(phone) != 10 || phone[0] != '9' {
		return "", false
	}
	switch phone[:3] {
	case "910", "911", "912", "913", "914", "915", "916", "917", "918", "919":
		return "1", true // МТС
	case "903", "905", "906", "909", "960", "961", "962", "963", "964", "965":
		return "2", true // Билайн
	case "920", "921", "922", "923", "924", "925", "926", "927", "928", "929":
		return "3", true // МегаФон
	case "900", "901", "902", "904", "908", "950", "951", "952", "953", "999":
		return "42", true // Tele2
	}
	return "", false
}

func (s *Server) operator(w http.ResponseWriter, phone string) {
	if byNumber["7"+phone] == WrongNumber {
		writeXML(w, resultCode(298, true, "Номер телефона не обслуживается"))
		return
	}
	id, ok := operatorOf(phone)
	if !ok {
		writeXML(w, resultCode(298, true, "Оператор не определён"))
		return
	}
	writeXML(w, resultCode(0, false, "Ок")+`<provider id="`+id+`"/>`)
}

// state is a payment's QIWI status now, with its result code; it counts
// the check.
func (s *Server) state(p *Payment, check bool) (status, code int) {
	if check {
		p.Checks++
	}
	done := func() bool {
		if s.opts.ProcessingFor > 0 {
			return s.opts.Now().Sub(p.Created) >= s.opts.ProcessingFor
		}
		return p.Checks > s.opts.ProcessingPolls
	}
	switch p.Mode {
	case WrongNumber:
		return 160, 298
	case Processing:
		if done() {
			return 60, 0
		}
		return 50, 0
	case FailLater:
		if done() {
			return 150, 300
		}
		return 52, 0
	}
	return 60, 0
}

func paymentXML(p *Payment, status, code int) string {
	final := status == 60 || status > 100
	return fmt.Sprintf(`<payment status='%d' txn_id='%d' transaction-number='%s' result-code='%d' final-status='%t' fatal-error='false' txn-date='%s'>`+
		`<from><amount>%s</amount><ccy>643</ccy></from><to><service-id>%s</service-id><amount>%s</amount><ccy>643</ccy><account-number>%s</account-number></to></payment>`,
		status, p.TxnID, html.EscapeString(p.TransactionNumber), code, final, p.Created.In(time.FixedZone("MSK", 3*3600)).Format("02.01.2006 15:04:05"),
		p.Amount.String(), p.Service, p.Amount.String(), p.Account)
}

var txnRe = regexp.MustCompile(`^[1-9]\d{0,19}$`)

func (s *Server) pay(w http.ResponseWriter, r *http.Request, req request, mode Mode) {
	in := req.Auth.Payments[0]
	txn, acc, svc := in.TransactionNumber, in.To.AccountNumber, in.To.ServiceID
	amount, err := money.Parse(in.To.Amount)
	if !txnRe.MatchString(txn) || err != nil || amount <= 0 || (svc != "99" && svc != "29130") {
		writeXML(w, resultCode(300, true, "Некорректные параметры платежа"))
		return
	}
	key := req.TerminalID + "/" + txn
	if mode == None {
		mode = byNumber[acc]
	}
	if s.early(w, mode) {
		return
	}
	operator := ""
	if svc == "29130" {
		// account0 "id:<operator>;acc:<10 digits>;sum:<amount>"
		f := map[string]string{}
		for _, kv := range strings.Split(in.To.extra("account0"), ";") {
			k, v, _ := strings.Cut(kv, ":")
			f[k] = v
		}
		operator = f["id"]
		if operator == "" || "7"+f["acc"] != acc || f["sum"] != in.To.Amount {
			writeXML(w, resultCode(300, true, "Некорректное поле account0"))
			return
		}
	}
	s.mu.Lock()
	if p, dup := s.payments[key]; dup {
		if p.Account != acc || p.Amount != amount || p.Service != svc {
			s.mu.Unlock()
			writeXML(w, resultCode(215, true, "Номер транзакции уже использован с другими реквизитами"))
			return
		}
		st, code := s.state(p, false)
		out := paymentXML(p, st, code)
		s.mu.Unlock()
		writeXML(w, out+s.balances())
		return
	}
	if !phoneRe.MatchString(acc) {
		mode = WrongNumber
	}
	if mode == NoMoney || s.balance < amount {
		s.mu.Unlock()
		writeXML(w, fmt.Sprintf(`<payment status='-1' txn_id='' transaction-number='%s' result-code='220' final-status='false' fatal-error='false'/>`, html.EscapeString(txn))+s.balances())
		return
	}
	s.seq++
	p := &Payment{Terminal: req.TerminalID, TransactionNumber: txn, TxnID: s.seq, Service: svc, Account: acc,
		Amount: amount, Operator: operator, Mode: mode, Created: s.opts.Now()}
	s.payments[key] = p
	s.list = append(s.list, p)
	st, code := s.state(p, false)
	if st > 100 {
		p.Refunded = true // refused at once: nothing was debited
	} else {
		s.balance -= amount
	}
	out := paymentXML(p, st, code)
	s.mu.Unlock()
	s.log.Info("qiwisim_payment", "txn", txn, "service", svc, "amount", amount.String(), "mode", string(mode))
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
	writeXML(w, out+s.balances())
}

func (s *Server) status(w http.ResponseWriter, req request) {
	var b strings.Builder
	b.WriteString(resultCode(0, false, ""))
	s.mu.Lock()
	for _, in := range req.Status.Payments {
		p, ok := s.payments[req.TerminalID+"/"+in.TransactionNumber]
		if !ok || p.Account != in.To.AccountNumber {
			continue // "the corresponding payment tag will be absent"
		}
		st, code := s.state(p, true)
		if st > 100 && !p.Refunded {
			// "The amount has been put back to the Agent's balance."
			s.balance += p.Amount
			p.Refunded = true
		}
		b.WriteString(paymentXML(p, st, code))
	}
	s.mu.Unlock()
	writeXML(w, b.String()+s.balances())
}
