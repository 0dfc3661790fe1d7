package fcmsim

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

	"github.com/loyaltyjam/loyaltyjam/internal/simhttp"
)

// Mode is how the simulator answers a send to a token.
type Mode string

// Modes selectable per token (by prefix or SetTokenMode).
const (
	ModeOK           Mode = "ok"
	ModeUnregistered Mode = "unregistered"
	ModeInvalid      Mode = "invalid"
	ModeMismatch     Mode = "mismatch"
	Mode429          Mode = "429"
	Mode503          Mode = "503"
	Mode500          Mode = "500"
	ModeSlow         Mode = "slow"
)

// TokenPrefix is the prefix of tokens that select a failure mode: a token
// "sim-<mode>-anything" is answered with that mode.
const TokenPrefix = "sim-"

// Options configure a Server. The zero value is usable.
type Options struct {
	// ProjectID, if set, is the only project accepted; others get 404.
	ProjectID string
	// RequireAuth makes requests without "Authorization: Bearer …" fail
	// with 401 UNAUTHENTICATED, as FCM does.
	RequireAuth bool
	// RetryAfter is sent with 429 answers (and with 503 when
	// RetryAfter503 is set). Default 30 s.
	RetryAfter time.Duration
	// RetryAfter503, if positive, is sent as Retry-After with 503 answers.
	// Mind that the SDK retries 503 itself and waits that long.
	RetryAfter503 time.Duration
	// SlowDelay is how long "slow" tokens wait before the answer. Default 5 s.
	SlowDelay time.Duration
	// Keep is how many accepted messages are kept (oldest dropped). Default 1000.
	Keep int
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Message is one accepted send as recorded by the simulator.
type Message struct {
	// ID is the id part of Name.
	ID string `json:"id"`
	// Name is what FCM returned: projects/{project}/messages/{id}.
	Name       string            `json:"name"`
	Project    string            `json:"project"`
	Token      string            `json:"token"`
	Title      string            `json:"title,omitempty"`
	Body       string            `json:"body,omitempty"`
	Data       map[string]string `json:"data,omitempty"`
	Android    *Android          `json:"android,omitempty"`
	APNS       *APNS             `json:"apns,omitempty"`
	ReceivedAt time.Time         `json:"received_at"`
	// Raw is the "message" object exactly as received.
	Raw json.RawMessage `json:"raw"`
}

// Android is the android block of an FCM v1 message (fields we check).
type Android struct {
	CollapseKey  string               `json:"collapse_key,omitempty"`
	Priority     string               `json:"priority,omitempty"`
	TTL          string               `json:"ttl,omitempty"`
	Notification *AndroidNotification `json:"notification,omitempty"`
}

// AndroidNotification is android.notification of an FCM v1 message.
type AndroidNotification struct {
	Title     string `json:"title,omitempty"`
	Body      string `json:"body,omitempty"`
	ChannelID string `json:"channel_id,omitempty"`
	Sound     string `json:"sound,omitempty"`
	Tag       string `json:"tag,omitempty"`
}

// APNS is the apns block of an FCM v1 message.
type APNS struct {
	Headers map[string]string `json:"headers,omitempty"`
	// Payload is the raw APNs payload ({"aps": {...}, custom keys…}).
	Payload map[string]any `json:"payload,omitempty"`
}

// Aps returns payload.aps as a map, or nil.
func (a *APNS) Aps() map[string]any {
	if a == nil {
		return nil
	}
	m, _ := a.Payload["aps"].(map[string]any)
	return m
}

type failure struct {
	remaining int
	status    int
}

// Server is the FCM simulator. Create it with New; it is an http.Handler
// and can also listen by itself with Start.
type Server struct {
	opts Options
	log  *slog.Logger
	mux  *http.ServeMux

	mu       sync.Mutex
	seq      int64
	messages []Message
	modes    map[string]Mode
	fail     failure
	requests int
	changed  chan struct{} // closed and replaced on every accepted message

	http simhttp.Server
}

// New returns a simulator with opts' defaults filled in.
func New(opts Options) *Server {
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = 30 * time.Second
	}
	if opts.SlowDelay <= 0 {
		opts.SlowDelay = 5 * time.Second
	}
	if opts.Keep <= 0 {
		opts.Keep = 1000
	}
	s := &Server{opts: opts, log: opts.Logger, modes: map[string]Mode{}, changed: make(chan struct{})}
	if s.log == nil {
		s.log = slog.Default()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/projects/{project}/messages:send", s.handleSend)
	mux.HandleFunc("GET /_sim/messages", s.handleList)
	mux.HandleFunc("DELETE /_sim/messages", s.handleReset)
	mux.HandleFunc("POST /_sim/fail", s.handleFail)
	mux.HandleFunc("PUT /_sim/tokens/{token}", s.handleSetMode)
	mux.HandleFunc("DELETE /_sim/tokens/{token}", s.handleClearMode)
	mux.HandleFunc("GET /_sim/{$}", s.handlePage)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/_sim/", http.StatusFound)
	})
	s.mux = mux
	return s
}

// ServeHTTP serves the FCM API and the admin API:
//
//	POST   /v1/projects/{project}/messages:send  the FCM HTTP v1 send method
//	GET    /_sim/messages[?token=…]             accepted messages, oldest first, JSON
//	DELETE /_sim/messages                       forget messages, modes and failures
//	POST   /_sim/fail {"count":N,"status":503}  fail the next N sends (429, 500 or 503)
//	PUT    /_sim/tokens/{token} {"mode":"unregistered"}  force a mode for a token
//	DELETE /_sim/tokens/{token}                 back to the prefix rule
//	GET    /_sim/                               HTML list for a person
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Start listens on addr (e.g. "127.0.0.1:8092" or "127.0.0.1:0") and serves
// until ctx is done or Close is called. It returns the base URL
// ("http://127.0.0.1:8092"); the FCM endpoint for fcm.Options is that plus
// "/v1".
func (s *Server) Start(ctx context.Context, addr string) (string, error) {
	return s.http.Start(ctx, addr, "fcmsim", s, s.log)
}

// Close stops a server started with Start, letting in-flight requests end
// for up to 5 s.
func (s *Server) Close() error {
	return s.http.Close()
}

// Messages returns the accepted messages, oldest first; only those to token
// if token is not empty.
func (s *Server) Messages(token string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.messages))
	for _, m := range s.messages {
		if token == "" || m.Token == token {
			out = append(out, m)
		}
	}
	return out
}

// Wait blocks until at least n messages to token have been accepted and
// returns the n-th (1-based), or ctx's error.
func (s *Server) Wait(ctx context.Context, token string, n int) (Message, error) {
	for {
		s.mu.Lock()
		ch := s.changed
		var got []Message
		for _, m := range s.messages {
			if m.Token == token {
				got = append(got, m)
			}
		}
		s.mu.Unlock()
		if len(got) >= n && n > 0 {
			return got[n-1], nil
		}
		select {
		case <-ctx.Done():
			return Message{}, fmt.Errorf("fcmsim: waiting for message %d to token: %w", n, ctx.Err())
		case <-ch:
		}
	}
}

// Requests returns how many send requests arrived, accepted or not (the SDK
// retries 503 itself, so this can exceed the number of Send calls).
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// SetTokenMode forces mode for token, overriding the prefix rule; ModeOK
// makes even a "sim-…" token succeed.
func (s *Server) SetTokenMode(token string, mode Mode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.modes[token] = mode
}

// FailNext makes the next n sends fail with status (429, 500 or 503; other
// values mean 503), whatever their token.
func (s *Server) FailNext(n, status int) {
	if status != http.StatusTooManyRequests && status != http.StatusInternalServerError {
		status = http.StatusServiceUnavailable
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = failure{remaining: n, status: status}
}

// Reset forgets recorded messages, token modes, pending failures and the
// request count.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = nil
	s.modes = map[string]Mode{}
	s.fail = failure{}
	s.requests = 0
}

func (s *Server) modeFor(token string) Mode {
	if m, ok := s.modes[token]; ok {
		return m
	}
	if rest, ok := strings.CutPrefix(token, TokenPrefix); ok {
		if mode, _, ok := strings.Cut(rest, "-"); ok {
			switch m := Mode(mode); m {
			case ModeUnregistered, ModeInvalid, ModeMismatch, Mode429, Mode503, Mode500, ModeSlow:
				return m
			}
		}
	}
	return ModeOK
}

// sendRequest is the body of messages:send.
type sendRequest struct {
	ValidateOnly bool            `json:"validate_only"`
	Message      json.RawMessage `json:"message"`
}

type wireMessage struct {
	Token        string            `json:"token"`
	Topic        string            `json:"topic"`
	Condition    string            `json:"condition"`
	Data         map[string]string `json:"data"`
	Notification *struct {
		Title string `json:"title"`
		Body  string `json:"body"`
	} `json:"notification"`
	Android *Android `json:"android"`
	APNS    *APNS    `json:"apns"`
}

var ttlPattern = regexp.MustCompile(`^\d+(\.\d{1,9})?s$`)

func (s *Server) handleSend(w http.ResponseWriter, r *http.Request) {
	project := r.PathValue("project")
	s.mu.Lock()
	s.requests++
	s.mu.Unlock()

	if s.opts.RequireAuth && !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		writeError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "", "Request is missing required authentication credential.", "")
		return
	}
	if s.opts.ProjectID != "" && project != s.opts.ProjectID {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "", "Requested entity was not found.", "")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Could not read the request body.", "")
		return
	}
	var req sendRequest
	if err := json.Unmarshal(body, &req); err != nil || len(req.Message) == 0 {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Invalid JSON payload received.", "")
		return
	}
	var msg wireMessage
	if err := json.Unmarshal(req.Message, &msg); err != nil {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Invalid JSON payload received. "+err.Error(), "")
		return
	}
	if field, why := validate(msg); field != "" {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "INVALID_ARGUMENT", why, field)
		return
	}

	s.mu.Lock()
	mode := s.modeFor(msg.Token)
	if s.fail.remaining > 0 {
		s.fail.remaining--
		switch s.fail.status {
		case http.StatusTooManyRequests:
			mode = Mode429
		case http.StatusInternalServerError:
			mode = Mode500
		default:
			mode = Mode503
		}
	}
	s.mu.Unlock()

	switch mode {
	case ModeUnregistered:
		writeError(w, http.StatusNotFound, "NOT_FOUND", "UNREGISTERED", "Requested entity was not found.", "")
		return
	case ModeInvalid:
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "The registration token is not a valid FCM registration token", "message.token")
		return
	case ModeMismatch:
		writeError(w, http.StatusForbidden, "PERMISSION_DENIED", "SENDER_ID_MISMATCH", "SenderId mismatch", "")
		return
	case Mode429:
		w.Header().Set("Retry-After", strconv.Itoa(int(s.opts.RetryAfter/time.Second)))
		writeError(w, http.StatusTooManyRequests, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED", "Quota exceeded for quota metric 'Send requests'.", "")
		return
	case Mode503:
		if s.opts.RetryAfter503 > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(s.opts.RetryAfter503/time.Second)))
		}
		writeError(w, http.StatusServiceUnavailable, "UNAVAILABLE", "UNAVAILABLE", "The service is currently unavailable.", "")
		return
	case Mode500:
		writeError(w, http.StatusInternalServerError, "INTERNAL", "INTERNAL", "Internal error encountered.", "")
		return
	case ModeSlow:
		t := time.NewTimer(s.opts.SlowDelay)
		select {
		case <-r.Context().Done():
			t.Stop()
			return
		case <-t.C:
		}
	}

	s.mu.Lock()
	s.seq++
	id := fmt.Sprintf("0:%d%%sim%06d", time.Now().UnixMilli(), s.seq)
	name := "projects/" + project + "/messages/" + id
	if !req.ValidateOnly {
		m := Message{
			ID: id, Name: name, Project: project, Token: msg.Token, Data: msg.Data,
			Android: msg.Android, APNS: msg.APNS, ReceivedAt: time.Now().UTC(), Raw: req.Message,
		}
		if msg.Notification != nil {
			m.Title, m.Body = msg.Notification.Title, msg.Notification.Body
		}
		s.messages = append(s.messages, m)
		if over := len(s.messages) - s.opts.Keep; over > 0 {
			s.messages = append([]Message(nil), s.messages[over:]...)
		}
		close(s.changed)
		s.changed = make(chan struct{})
	}
	s.mu.Unlock()
	s.log.Debug("fcmsim_accepted", slog.String("message_id", id))
	writeJSON(w, http.StatusOK, map[string]string{"name": name})
}

// validate applies the checks FCM applies and the SDK does not; it returns
// the offending field and a message, or "" when the message is acceptable.
func validate(m wireMessage) (field, why string) {
	n := 0
	for _, t := range []string{m.Token, m.Topic, m.Condition} {
		if t != "" {
			n++
		}
	}
	if n != 1 {
		return "message", "Exactly one of token, topic or condition must be specified."
	}
	for k := range m.Data {
		if k == "from" || k == "message_type" || strings.HasPrefix(k, "google.") || strings.HasPrefix(k, "gcm.") {
			return "message.data", fmt.Sprintf("Invalid data payload key: %s", k)
		}
	}
	if a := m.Android; a != nil {
		if a.TTL != "" && !ttlPattern.MatchString(a.TTL) {
			return "message.android.ttl", "Invalid value at 'message.android.ttl' (type.googleapis.com/google.protobuf.Duration)"
		}
		if a.Priority != "" && a.Priority != "normal" && a.Priority != "high" {
			return "message.android.priority", "Invalid value at 'message.android.priority'"
		}
	}
	if p := m.APNS; p != nil {
		if v, ok := p.Headers["apns-expiration"]; ok {
			if _, err := strconv.ParseInt(v, 10, 64); err != nil {
				return "message.apns.headers", "Invalid apns-expiration header"
			}
		}
		if v, ok := p.Headers["apns-collapse-id"]; ok && len(v) > 64 {
			return "message.apns.headers", "apns-collapse-id exceeds 64 bytes"
		}
	}
	return "", ""
}

type errorDetail struct {
	Type            string           `json:"@type"`
	ErrorCode       string           `json:"errorCode,omitempty"`
	FieldViolations []fieldViolation `json:"fieldViolations,omitempty"`
}

type fieldViolation struct {
	Field       string `json:"field"`
	Description string `json:"description"`
}

// writeError writes Google's error envelope. fcmCode, if set, goes into an
// FcmError detail (what messaging.IsUnregistered & co. look at); field, if
// set, into a google.rpc.BadRequest detail.
func writeError(w http.ResponseWriter, status int, platform, fcmCode, msg, field string) {
	var details []errorDetail
	if fcmCode != "" {
		details = append(details, errorDetail{Type: "type.googleapis.com/google.firebase.fcm.v1.FcmError", ErrorCode: fcmCode})
	}
	if field != "" {
		details = append(details, errorDetail{Type: "type.googleapis.com/google.rpc.BadRequest",
			FieldViolations: []fieldViolation{{Field: field, Description: msg}}})
	}
	body := map[string]any{"error": map[string]any{
		"code": status, "message": msg, "status": platform, "details": details,
	}}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Messages(r.URL.Query().Get("token")))
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
		http.Error(w, `want {"count":N,"status":429|500|503}`, http.StatusBadRequest)
		return
	}
	s.FailNext(req.Count, req.Status)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleSetMode(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Mode Mode `json:"mode"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<10)).Decode(&req); err != nil {
		http.Error(w, `want {"mode":"ok|unregistered|invalid|mismatch|429|503|500|slow"}`, http.StatusBadRequest)
		return
	}
	switch req.Mode {
	case ModeOK, ModeUnregistered, ModeInvalid, ModeMismatch, Mode429, Mode503, Mode500, ModeSlow:
	default:
		http.Error(w, "unknown mode", http.StatusBadRequest)
		return
	}
	s.SetTokenMode(r.PathValue("token"), req.Mode)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleClearMode(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	delete(s.modes, r.PathValue("token"))
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>FCM simulator</title>
<style>body{font-family:sans-serif;margin:2em}td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}code{font-size:85%}</style>
</head><body>
<h1>FCM simulator — accepted pushes</h1>
<p>{{len .}} message(s), newest first. JSON: <a href="/_sim/messages">/_sim/messages</a>. Refreshes every 5 s.</p>
<table><tr><th>time (UTC)</th><th>token</th><th>title / body</th><th>data</th><th>android / apns</th></tr>
{{range .}}<tr><td>{{.ReceivedAt.Format "15:04:05"}}</td><td><code>{{.Token}}</code></td>
<td><b>{{.Title}}</b><br>{{.Body}}</td><td>{{range $k, $v := .Data}}{{$k}}={{$v}}<br>{{end}}</td>
<td>{{with .Android}}priority={{.Priority}} ttl={{.TTL}} collapse={{.CollapseKey}}{{with .Notification}} channel={{.ChannelID}}{{end}}{{end}}<br>
{{with .APNS}}{{range $k, $v := .Headers}}{{$k}}={{$v}} {{end}}{{end}}</td></tr>
{{end}}</table></body></html>`))

func (s *Server) handlePage(w http.ResponseWriter, _ *http.Request) {
	msgs := s.Messages("")
	for i, j := 0, len(msgs)-1; i < j; i, j = i+1, j-1 {
		msgs[i], msgs[j] = msgs[j], msgs[i]
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := page.Execute(w, msgs); err != nil {
		s.log.Error("fcmsim_page_failed", slog.Any("error", err))
	}
}
