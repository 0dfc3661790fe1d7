package smssim

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/loyaltyjam/loyaltyjam/internal/money"
	"github.com/loyaltyjam/loyaltyjam/internal/simhttp"
)

// Options configure a Server. The zero value is usable.
type Options struct {
	// APIID, if set, is the only api_id accepted; others get status 200.
	APIID string
	// Balance is the starting balance in kopecks. Default 100000 (1000 ₽).
	Balance int64
	// Cost is what one SMS part costs, in kopecks. Default 0: the balance
	// only runs out when set to zero (SetBalance or POST /_sim/balance).
	Cost int64
	// RetryAfter is sent with HTTP 429 answers. Default 10 s.
	RetryAfter time.Duration
	// SlowDelay is how long the "slow" number waits. Default 5 s.
	SlowDelay time.Duration
	// Keep is how many messages are kept (oldest dropped). Default 1000.
	Keep int
	// Logger defaults to slog.Default(). Numbers are logged masked.
	Logger *slog.Logger
}

// Message is one accepted SMS.
type Message struct {
	ID string `json:"id"`
	// To is the number as "+79991234567".
	To     string    `json:"to"`
	Text   string    `json:"text"`
	From   string    `json:"from,omitempty"`
	TTL    int       `json:"ttl_minutes,omitempty"`
	Test   bool      `json:"test,omitempty"`
	Parts  int       `json:"parts"`
	SentAt time.Time `json:"sent_at"`
}

var codePattern = regexp.MustCompile(`\b\d{4,8}\b`)

// Code returns the first run of 4 to 8 digits in the text (a sign-in
// code), or "".
func (m Message) Code() string { return codePattern.FindString(m.Text) }

type failure struct {
	remaining int
	status    int
}

// Server is the SMS gateway simulator; an http.Handler that can also listen
// by itself with Start.
type Server struct {
	opts Options
	log  *slog.Logger
	mux  *http.ServeMux

	mu       sync.Mutex
	seq      int64
	balance  int64
	messages []Message
	fail     failure
	requests int
	changed  chan struct{}

	http simhttp.Server
}

// New returns a simulator with opts' defaults filled in.
func New(opts Options) *Server {
	if opts.Balance == 0 {
		opts.Balance = 100000
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = 10 * time.Second
	}
	if opts.SlowDelay <= 0 {
		opts.SlowDelay = 5 * time.Second
	}
	if opts.Keep <= 0 {
		opts.Keep = 1000
	}
	s := &Server{opts: opts, log: opts.Logger, balance: opts.Balance, changed: make(chan struct{})}
	if s.log == nil {
		s.log = slog.Default()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/sms/send", s.handleSend)
	mux.HandleFunc("/my/balance", s.handleBalance)
	mux.HandleFunc("GET /_sim/messages", s.handleList)
	mux.HandleFunc("DELETE /_sim/messages", s.handleReset)
	mux.HandleFunc("POST /_sim/fail", s.handleFail)
	mux.HandleFunc("POST /_sim/balance", s.handleSetBalance)
	mux.HandleFunc("GET /_sim/{$}", s.handlePage)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/_sim/", http.StatusFound)
	})
	s.mux = mux
	return s
}

// ServeHTTP serves the gateway API and the admin API:
//
//	GET|POST /sms/send                        SMS.RU send (api_id, to, msg, json, from, ttl, test)
//	GET|POST /my/balance                      SMS.RU balance
//	GET      /_sim/messages[?to=+7…]          accepted messages, newest first, JSON
//	DELETE   /_sim/messages                   forget messages and failures, restore the balance
//	POST     /_sim/fail {"count":N,"status":503}   next N requests fail (HTTP 429/500/503, or 220)
//	POST     /_sim/balance {"kopecks":0}      set the balance (0 → status 201 on send)
//	GET      /_sim/                           HTML page of recent messages
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Start listens on addr and serves until ctx is done or Close is called. It
// returns the base URL for sms.Options.BaseURL.
func (s *Server) Start(ctx context.Context, addr string) (string, error) {
	return s.http.Start(ctx, addr, "smssim", s, s.log)
}

// Close stops a server started with Start, letting in-flight requests end
// for up to 5 s.
func (s *Server) Close() error {
	return s.http.Close()
}

// Messages returns accepted messages, oldest first; only those to the
// number to (any common spelling) if to is not empty.
func (s *Server) Messages(to string) []Message {
	want := ""
	if to != "" {
		want = "+" + lookupDigits(to)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.messages))
	for _, m := range s.messages {
		if want == "" || m.To == want {
			out = append(out, m)
		}
	}
	return out
}

// Last returns the most recent message to the number to.
func (s *Server) Last(to string) (Message, bool) {
	msgs := s.Messages(to)
	if len(msgs) == 0 {
		return Message{}, false
	}
	return msgs[len(msgs)-1], true
}

// Wait blocks until at least n messages to the number to have been accepted
// and returns the n-th (1-based), or ctx's error. A sign-in test does
//
//	msg, err := sim.Wait(ctx, "+79991234567", 1)
//	code := msg.Code()
func (s *Server) Wait(ctx context.Context, to string, n int) (Message, error) {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if msgs := s.Messages(to); n > 0 && len(msgs) >= n {
			return msgs[n-1], nil
		}
		select {
		case <-ctx.Done():
			return Message{}, fmt.Errorf("smssim: waiting for message %d: %w", n, ctx.Err())
		case <-ch:
		}
	}
}

// Requests returns how many send requests arrived, accepted or not.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// FailNext makes the next n send requests fail: status 429, 500 or 503 as
// HTTP status, 220 as the gateway's "temporarily unavailable" answer.
func (s *Server) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = failure{remaining: n, status: status}
}

// SetBalance sets the account balance in kopecks; at zero or below every
// send fails with status 201.
func (s *Server) SetBalance(kopecks int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.balance = kopecks
}

// Reset forgets messages, failures and the request count, and restores the
// starting balance.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = nil
	s.fail = failure{}
	s.requests = 0
	s.balance = s.opts.Balance
}

// answer is SMS.RU's JSON answer.
type answer struct {
	Status     string                `json:"status"`
	StatusCode int                   `json:"status_code"`
	StatusText string                `json:"status_text,omitempty"`
	SMS        map[string]smsOutcome `json:"sms,omitempty"`
	Balance    *json.Number          `json:"balance,omitempty"`
}

type smsOutcome struct {
	Status     string `json:"status"`
	StatusCode int    `json:"status_code"`
	StatusText string `json:"status_text,omitempty"`
	SMSID      string `json:"sms_id,omitempty"`
}

// statusTexts are SMS.RU's descriptions for the codes the simulator uses.
var statusTexts = map[int]string{
	200: "Неправильный api_id",
	201: "Не хватает средств на лицевом счету",
	202: "Неправильно указан номер телефона получателя, либо на него нет маршрута",
	203: "Нет текста сообщения",
	207: "На этот номер нет маршрута для доставки сообщений",
	213: "Указано более 100 номеров в списке получателей",
	220: "Сервис временно недоступен, попробуйте чуть позже",
	231: "Превышен лимит одинаковых сообщений на этот номер в минуту",
}

func errorAnswer(code int) answer {
	return answer{Status: "ERROR", StatusCode: code, StatusText: statusTexts[code]}
}

func (s *Server) balanceNumber() *json.Number {
	n := json.Number(money.Kopecks(s.balance).String())
	return &n
}

func (s *Server) handleSend(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	f := r.Form
	jsonOut := f.Get("json") == "1"

	s.mu.Lock()
	s.requests++
	injected := 0
	if s.fail.remaining > 0 {
		s.fail.remaining--
		injected = s.fail.status
	}
	s.mu.Unlock()

	// Per-number triggers apply to the first recipient.
	toList := strings.Split(f.Get("to"), ",")
	trigger := ""
	if d := digits(toList[0]); strings.HasPrefix(d, "7999000") && len(d) == 11 {
		trigger = d[8:]
	}
	switch {
	case injected == http.StatusTooManyRequests || (injected == 0 && trigger == "429"):
		w.Header().Set("Retry-After", strconv.Itoa(int(s.opts.RetryAfter/time.Second)))
		http.Error(w, "429 Too Many Requests", http.StatusTooManyRequests)
		return
	case injected == http.StatusInternalServerError || (injected == 0 && trigger == "500"):
		http.Error(w, "500 Internal Server Error", http.StatusInternalServerError)
		return
	case injected == http.StatusServiceUnavailable || (injected == 0 && trigger == "503"):
		http.Error(w, "503 Service Temporarily Unavailable", http.StatusServiceUnavailable)
		return
	case injected != 0 || trigger == "220":
		s.reply(w, jsonOut, errorAnswer(220))
		return
	case trigger == "999":
		t := time.NewTimer(s.opts.SlowDelay)
		select {
		case <-r.Context().Done():
			t.Stop()
			return
		case <-t.C:
		}
	}

	if s.opts.APIID != "" && f.Get("api_id") != s.opts.APIID {
		s.reply(w, jsonOut, errorAnswer(200))
		return
	}
	text := f.Get("msg")
	if strings.TrimSpace(text) == "" {
		s.reply(w, jsonOut, errorAnswer(203))
		return
	}
	if len(toList) > 100 {
		s.reply(w, jsonOut, errorAnswer(213))
		return
	}
	parts := countParts(text)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.balance <= 0 || trigger == "201" || s.balance < s.opts.Cost*int64(parts*len(toList)) {
		s.replyLocked(w, jsonOut, answer{Status: "ERROR", StatusCode: 201, StatusText: statusTexts[201]})
		return
	}
	ans := answer{Status: "OK", StatusCode: 100, SMS: map[string]smsOutcome{}}
	ttl, _ := strconv.Atoi(f.Get("ttl"))
	for _, raw := range toList {
		d := digits(raw)
		switch {
		case len(d) < 11 || len(d) > 15:
			ans.SMS[strings.TrimSpace(raw)] = smsOutcome{Status: "ERROR", StatusCode: 202, StatusText: statusTexts[202]}
			continue
		case d == "79990000207":
			ans.SMS[d] = smsOutcome{Status: "ERROR", StatusCode: 207, StatusText: statusTexts[207]}
			continue
		case d == "79990000231":
			ans.SMS[d] = smsOutcome{Status: "ERROR", StatusCode: 231, StatusText: statusTexts[231]}
			continue
		}
		s.seq++
		id := fmt.Sprintf("%06d-%08d", time.Now().Unix()%1000000, s.seq)
		s.balance -= s.opts.Cost * int64(parts)
		s.messages = append(s.messages, Message{
			ID: id, To: "+" + d, Text: text, From: f.Get("from"), TTL: ttl,
			Test: f.Get("test") == "1", Parts: parts, SentAt: time.Now().UTC(),
		})
		ans.SMS[d] = smsOutcome{Status: "OK", StatusCode: 100, SMSID: id}
		s.log.Debug("smssim_accepted", slog.String("to", maskDigits(d)), slog.String("sms_id", id))
	}
	if over := len(s.messages) - s.opts.Keep; over > 0 {
		s.messages = append([]Message(nil), s.messages[over:]...)
	}
	close(s.changed)
	s.changed = make(chan struct{})
	s.replyLocked(w, jsonOut, ans)
}

func (s *Server) reply(w http.ResponseWriter, jsonOut bool, a answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replyLocked(w, jsonOut, a)
}

// replyLocked writes a as JSON (json=1) or in SMS.RU's plain-text form:
// the status code, then one line per number (sms id or error code), then
// balance=….
func (s *Server) replyLocked(w http.ResponseWriter, jsonOut bool, a answer) {
	if a.StatusCode == 100 {
		a.Balance = s.balanceNumber()
	}
	if jsonOut {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(a)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, a.StatusCode)
	for _, o := range a.SMS {
		if o.StatusCode == 100 {
			fmt.Fprintln(w, o.SMSID)
		} else {
			fmt.Fprintln(w, o.StatusCode)
		}
	}
	if a.Balance != nil {
		fmt.Fprintf(w, "balance=%s\n", a.Balance.String())
	}
}

func (s *Server) handleBalance(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	jsonOut := r.Form.Get("json") == "1"
	if s.opts.APIID != "" && r.Form.Get("api_id") != s.opts.APIID {
		s.reply(w, jsonOut, errorAnswer(200))
		return
	}
	s.reply(w, jsonOut, answer{Status: "OK", StatusCode: 100})
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	msgs := s.Messages(r.URL.Query().Get("to"))
	reverse(msgs)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(msgs)
}

func (s *Server) handleReset(w http.ResponseWriter, _ *http.Request) {
	s.Reset()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleFail(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Count  int `json:"count"`
		Status int `json:"status"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<10)).Decode(&req); err != nil || req.Count < 0 {
		http.Error(w, `want {"count":N,"status":429|500|503|220}`, http.StatusBadRequest)
		return
	}
	switch req.Status {
	case 0:
		req.Status = http.StatusServiceUnavailable
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusServiceUnavailable, 220:
	default:
		http.Error(w, "status must be 429, 500, 503 or 220", http.StatusBadRequest)
		return
	}
	s.FailNext(req.Count, req.Status)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleSetBalance(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Kopecks *int64 `json:"kopecks"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<10)).Decode(&req); err != nil || req.Kopecks == nil {
		http.Error(w, `want {"kopecks":N}`, http.StatusBadRequest)
		return
	}
	s.SetBalance(*req.Kopecks)
	w.WriteHeader(http.StatusNoContent)
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>SMS simulator</title>
<style>body{font-family:sans-serif;margin:2em}td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left}.code{font-size:150%;font-weight:bold;letter-spacing:.1em}</style>
</head><body>
<h1>SMS simulator — sent messages</h1>
<p>Newest first. JSON: <a href="/_sim/messages">/_sim/messages?to=+7…</a>. Refreshes every 5 s.</p>
<table><tr><th>time (UTC)</th><th>to</th><th>code</th><th>text</th></tr>
{{range .}}<tr><td>{{.SentAt.Format "15:04:05"}}</td><td>{{.To}}</td><td class="code">{{.Code}}</td><td>{{.Text}}</td></tr>
{{else}}<tr><td colspan="4">nothing sent yet</td></tr>{{end}}</table></body></html>`))

func (s *Server) handlePage(w http.ResponseWriter, _ *http.Request) {
	msgs := s.Messages("")
	reverse(msgs)
	if len(msgs) > 200 {
		msgs = msgs[:200]
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := page.Execute(w, msgs); err != nil {
		s.log.Error("smssim_page_failed", slog.Any("error", err))
	}
}

func reverse(m []Message) {
	for i, j := 0, len(m)-1; i < j; i, j = i+1, j-1 {
		m[i], m[j] = m[j], m[i]
	}
}

func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// lookupDigits is digits with a Russian national "8…" read as "7…", so a
// test or a person can look a number up however they wrote it.
func lookupDigits(s string) string {
	d := digits(s)
	if len(d) == 11 && d[0] == '8' && !strings.HasPrefix(strings.TrimSpace(s), "+") {
		d = "7" + d[1:]
	}
	return d
}

func maskDigits(d string) string {
	if len(d) < 8 {
		return "***"
	}
	return "+" + d[:4] + "***" + d[len(d)-4:]
}

// countParts estimates SMS parts: 160/153 GSM-7 characters, or 70/67 UCS-2
// characters for text with Cyrillic.
func countParts(text string) int {
	n := utf8.RuneCountInString(text)
	single, multi := 160, 153
	for _, r := range text {
		if r > 127 {
			single, multi = 70, 67
			break
		}
	}
	if n <= single {
		return 1
	}
	return (n + multi - 1) / multi
}
