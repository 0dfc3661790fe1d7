package emailsim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Options configure a Server. The zero value is usable.
type Options struct {
	// Domain is announced in the greeting. Default "emailsim.local".
	Domain string
	// Username and Password, if Username is set, are the only credentials
	// accepted, and authentication is required before MAIL FROM.
	Username string
	Password string
	// SlowDelay is how long "slow-…" recipients wait. Default 5 s.
	SlowDelay time.Duration
	// Keep is how many messages are kept (oldest dropped). Default 1000.
	Keep int
	// Logger defaults to slog.Default(). Addresses are never logged.
	Logger *slog.Logger
}

// Email is one accepted message as recorded.
type Email struct {
	ID         string    `json:"id"`
	From       string    `json:"from"`
	To         []string  `json:"to"`
	Subject    string    `json:"subject"`
	Text       string    `json:"text"`
	HTML       string    `json:"html,omitempty"`
	MessageID  string    `json:"message_id,omitempty"`
	AuthUser   string    `json:"auth_user,omitempty"`
	ReceivedAt time.Time `json:"received_at"`
	// Raw is the message as received (headers and encoded body).
	Raw string `json:"raw"`
}

// Server is the SMTP simulator plus its HTTP view (ServeHTTP).
type Server struct {
	opts Options
	log  *slog.Logger
	mux  *http.ServeMux

	mu       sync.Mutex
	seq      int64
	emails   []Email
	failNext int
	changed  chan struct{}

	srvMu   sync.Mutex
	smtpSrv *smtp.Server
	httpSrv *http.Server
}

// New returns a simulator with opts' defaults filled in. Start its SMTP side
// with StartSMTP and its HTTP view with StartHTTP (or mount it: it is an
// http.Handler).
func New(opts Options) *Server {
	if opts.Domain == "" {
		opts.Domain = "emailsim.local"
	}
	if opts.SlowDelay <= 0 {
		opts.SlowDelay = 5 * time.Second
	}
	if opts.Keep <= 0 {
		opts.Keep = 1000
	}
	s := &Server{opts: opts, log: opts.Logger, changed: make(chan struct{})}
	if s.log == nil {
		s.log = slog.Default()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_sim/emails", s.handleList)
	mux.HandleFunc("DELETE /_sim/emails", s.handleReset)
	mux.HandleFunc("POST /_sim/fail", s.handleFail)
	mux.HandleFunc("GET /_sim/{$}", s.handlePage)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/_sim/", http.StatusFound)
	})
	s.mux = mux
	return s
}

// StartSMTP listens for SMTP on addr (e.g. "127.0.0.1:2525" or
// "127.0.0.1:0") until ctx is done or Close is called, and returns the
// address it listens on (host:port, for email.Options.Addr).
func (s *Server) StartSMTP(ctx context.Context, addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("emailsim: listen smtp: %w", err)
	}
	srv := smtp.NewServer(backend{s})
	srv.Domain = s.opts.Domain
	srv.AllowInsecureAuth = true
	srv.MaxMessageBytes = 10 << 20
	srv.MaxRecipients = 50
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.ErrorLog = slogAdapter{s.log}
	s.srvMu.Lock()
	s.smtpSrv = srv
	s.srvMu.Unlock()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
			s.log.Error("emailsim_serve_failed", slog.Any("error", err))
		}
	}()
	context.AfterFunc(ctx, func() { _ = s.Close() })
	return ln.Addr().String(), nil
}

// StartHTTP serves the HTTP view on addr until ctx is done or Close is
// called, and returns its base URL.
func (s *Server) StartHTTP(ctx context.Context, addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("emailsim: listen http: %w", err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.srvMu.Lock()
	s.httpSrv = srv
	s.srvMu.Unlock()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("emailsim_http_failed", slog.Any("error", err))
		}
	}()
	context.AfterFunc(ctx, func() { _ = s.Close() })
	return "http://" + ln.Addr().String(), nil
}

// Close stops whatever was started, letting sessions end for up to 5 s.
func (s *Server) Close() error {
	s.srvMu.Lock()
	ss, hs := s.smtpSrv, s.httpSrv
	s.smtpSrv, s.httpSrv = nil, nil
	s.srvMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	if ss != nil {
		if err := ss.Shutdown(ctx); err != nil {
			errs = append(errs, ss.Close())
		}
	}
	if hs != nil {
		if err := hs.Shutdown(ctx); err != nil {
			errs = append(errs, hs.Close())
		}
	}
	return errors.Join(errs...)
}

// ServeHTTP serves the view:
//
//	GET    /_sim/emails[?to=addr]      accepted e-mails, newest first, JSON
//	DELETE /_sim/emails                forget them and pending failures
//	POST   /_sim/fail {"count":N}      the next N messages get 451 at DATA
//	GET    /_sim/                      HTML page
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Emails returns accepted e-mails, oldest first; only those to the address
// to (case-insensitive) if it is not empty.
func (s *Server) Emails(to string) []Email {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Email, 0, len(s.emails))
	for _, e := range s.emails {
		if to == "" || hasRecipient(e, to) {
			out = append(out, e)
		}
	}
	return out
}

func hasRecipient(e Email, to string) bool {
	for _, r := range e.To {
		if strings.EqualFold(r, to) {
			return true
		}
	}
	return false
}

// Last returns the most recent e-mail to the address to.
func (s *Server) Last(to string) (Email, bool) {
	es := s.Emails(to)
	if len(es) == 0 {
		return Email{}, false
	}
	return es[len(es)-1], true
}

// Wait blocks until at least n e-mails to the address to have been
// accepted and returns the n-th (1-based), or ctx's error.
func (s *Server) Wait(ctx context.Context, to string, n int) (Email, error) {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if es := s.Emails(to); n > 0 && len(es) >= n {
			return es[n-1], nil
		}
		select {
		case <-ctx.Done():
			return Email{}, fmt.Errorf("emailsim: waiting for e-mail %d: %w", n, ctx.Err())
		case <-ch:
		}
	}
}

// FailNext makes the next n messages fail with 451 at the end of DATA.
func (s *Server) FailNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = n
}

// Reset forgets e-mails and pending failures.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.emails = nil
	s.failNext = 0
}

func (s *Server) record(e Email) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	e.ID = fmt.Sprintf("%d", s.seq)
	s.emails = append(s.emails, e)
	if over := len(s.emails) - s.opts.Keep; over > 0 {
		s.emails = append([]Email(nil), s.emails[over:]...)
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

type backend struct{ s *Server }

func (b backend) NewSession(_ *smtp.Conn) (smtp.Session, error) {
	return &session{s: b.s}, nil
}

type session struct {
	s        *Server
	authUser string
	from     string
	to       []string
}

var _ smtp.AuthSession = (*session)(nil)

func (ss *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		o := ss.s.opts
		if o.Username != "" && (username != o.Username || password != o.Password) {
			return smtp.ErrAuthFailed
		}
		ss.authUser = username
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.opts.Username != "" && ss.authUser == "" {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	local := strings.ToLower(to)
	if i := strings.LastIndexByte(local, '@'); i >= 0 {
		local = local[:i]
	}
	switch {
	case strings.HasPrefix(local, "fail-"):
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
	case strings.HasPrefix(local, "tempfail-"):
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary failure, try again later"}
	case strings.HasPrefix(local, "slow-"):
		time.Sleep(ss.s.opts.SlowDelay)
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	fail := ss.s.failNext > 0
	if fail {
		ss.s.failNext--
	}
	ss.s.mu.Unlock()
	if fail {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Injected failure, try again later"}
	}
	e := Email{From: ss.from, To: append([]string(nil), ss.to...), AuthUser: ss.authUser, ReceivedAt: time.Now().UTC(), Raw: string(raw)}
	if err := parse(raw, &e); err != nil {
		// Record it anyway: a person debugging a template wants to see it.
		ss.s.log.Warn("emailsim_parse_failed", slog.Any("error", err))
	}
	ss.s.record(e)
	ss.s.log.Debug("emailsim_accepted", slog.String("id", e.ID))
	return nil
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

func (ss *session) Logout() error { return nil }

var wordDecoder = &mime.WordDecoder{}

// parse fills subject, message id, text and HTML from the raw message.
func parse(raw []byte, e *Email) error {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	if subj, err := wordDecoder.DecodeHeader(msg.Header.Get("Subject")); err == nil {
		e.Subject = subj
	} else {
		e.Subject = msg.Header.Get("Subject")
	}
	e.MessageID = strings.Trim(msg.Header.Get("Message-ID"), "<>")
	return parsePart(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, e)
}

func parsePart(ctype, cte string, body io.Reader, e *Email) error {
	if ctype == "" {
		ctype = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		return err
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := parsePart(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, e); err != nil {
				return err
			}
		}
	}
	if strings.EqualFold(cte, "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	text := strings.ReplaceAll(string(b), "\r\n", "\n")
	switch {
	case mt == "text/plain" && e.Text == "":
		e.Text = text
	case mt == "text/html" && e.HTML == "":
		e.HTML = text
	}
	return nil
}

type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Printf(format string, v ...any) {
	a.l.Warn("emailsim_smtp", slog.String("detail", fmt.Sprintf(format, v...)))
}

func (a slogAdapter) Println(v ...any) {
	a.l.Warn("emailsim_smtp", slog.String("detail", fmt.Sprint(v...)))
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	es := s.Emails(r.URL.Query().Get("to"))
	reverse(es)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(es)
}

func (s *Server) handleReset(w http.ResponseWriter, _ *http.Request) {
	s.Reset()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleFail(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Count int `json:"count"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<10)).Decode(&req); err != nil || req.Count < 0 {
		http.Error(w, `want {"count":N}`, http.StatusBadRequest)
		return
	}
	s.FailNext(req.Count)
	w.WriteHeader(http.StatusNoContent)
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><meta http-equiv="refresh" content="10">
<title>E-mail simulator</title>
<style>body{font-family:sans-serif;margin:2em}section{border-bottom:1px solid #ddd;padding:8px 0}pre{white-space:pre-wrap;background:#f6f6f6;padding:8px}</style>
</head><body>
<h1>E-mail simulator — received mail</h1>
<p>Newest first. JSON: <a href="/_sim/emails">/_sim/emails?to=…</a>. Refreshes every 10 s.</p>
{{range .}}<section><b>{{.Subject}}</b><br>
<small>{{.ReceivedAt.Format "2006-01-02 15:04:05"}} UTC · from {{.From}} · to {{range .To}}{{.}} {{end}}</small>
<pre>{{.Text}}</pre>{{if .HTML}}<details><summary>HTML source</summary><pre>{{.HTML}}</pre></details>{{end}}</section>
{{else}}<p>nothing received yet</p>{{end}}</body></html>`))

func (s *Server) handlePage(w http.ResponseWriter, _ *http.Request) {
	es := s.Emails("")
	reverse(es)
	if len(es) > 100 {
		es = es[:100]
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := page.Execute(w, es); err != nil {
		s.log.Error("emailsim_page_failed", slog.Any("error", err))
	}
}

func reverse(e []Email) {
	for i, j := 0, len(e)-1; i < j; i, j = i+1, j-1 {
		e[i], e[j] = e[j], e[i]
	}
}
