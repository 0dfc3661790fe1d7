package sms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultBaseURL is SMS.RU's API root.
const DefaultBaseURL = "https://sms.ru"

// Message is one SMS to one phone.
type Message struct {
	// To is the recipient in international form, "+79991234567"; spaces,
	// dashes and brackets are ignored.
	To string
	// Text is the message body (UTF-8). Long texts are split by the gateway
	// and billed per part.
	Text string
	// TTL, if positive, tells the gateway to drop the message if it is not
	// delivered within TTL (whole minutes, 1 min to 24 h). Set it for
	// sign-in codes, which are useless once expired.
	TTL time.Duration
}

// Result is the outcome of an accepted send.
type Result struct {
	// ID is the gateway's message id, for delivery status look-ups.
	ID string
	// Balance is the account balance the gateway reported after the send,
	// in kopecks; -1 if it did not report one.
	Balance int64
}

// Options configure a Client.
type Options struct {
	// BaseURL defaults to DefaultBaseURL; the simulator's URL in tests and dev.
	BaseURL string
	// APIID is the SMS.RU api_id (secret). Required.
	APIID string
	// From is the approved sender name; empty uses the account default.
	From string
	// Test makes the gateway validate and bill nothing without sending
	// (SMS.RU test=1).
	Test bool
	// Timeout bounds one request. Default 10 s.
	Timeout time.Duration
	// HTTPClient defaults to a client with Timeout.
	HTTPClient *http.Client
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Client sends SMS through SMS.RU's HTTP API. It is safe for concurrent use.
type Client struct {
	base  string
	apiID string
	from  string
	test  bool
	hc    *http.Client
	log   *slog.Logger
}

// New returns a Client. It does not contact the gateway.
func New(o Options) (*Client, error) {
	if o.APIID == "" {
		return nil, errors.New("sms: api id is required")
	}
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	if _, err := url.Parse(o.BaseURL); err != nil {
		return nil, fmt.Errorf("sms: base url: %w", err)
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	c := &Client{base: strings.TrimRight(o.BaseURL, "/"), apiID: o.APIID, from: o.From, test: o.Test, hc: o.HTTPClient, log: o.Logger}
	if c.hc == nil {
		// An own connection pool: nothing else that touches
		// http.DefaultTransport (closing its idle connections) breaks a send.
		c.hc = &http.Client{Timeout: o.Timeout, Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	return c, nil
}

type apiResponse struct {
	Status     string  `json:"status"`
	StatusCode int     `json:"status_code"`
	StatusText string  `json:"status_text"`
	Balance    float64 `json:"balance"`
	SMS        map[string]struct {
		Status     string `json:"status"`
		StatusCode int    `json:"status_code"`
		StatusText string `json:"status_text"`
		SMSID      string `json:"sms_id"`
	} `json:"sms"`
}

// Send sends m. On failure it returns an *Error; see Kind for what to do.
// A timeout after the request was written is reported as KindRetryable:
// the gateway may have sent the message, so a retried sign-in code can
// arrive twice, which is harmless.
func (c *Client) Send(ctx context.Context, m Message) (Result, error) {
	to, err := Normalize(m.To)
	if err != nil {
		return Result{}, &Error{Kind: KindRejected, Code: 202, Text: err.Error()}
	}
	if strings.TrimSpace(m.Text) == "" {
		return Result{}, &Error{Kind: KindRejected, Code: 203, Text: "empty text"}
	}
	form := url.Values{"api_id": {c.apiID}, "to": {to}, "msg": {m.Text}, "json": {"1"}}
	if c.from != "" {
		form.Set("from", c.from)
	}
	if c.test {
		form.Set("test", "1")
	}
	if m.TTL > 0 {
		mins := int(m.TTL.Round(time.Minute) / time.Minute)
		mins = max(1, min(mins, 1440))
		form.Set("ttl", strconv.Itoa(mins))
	}
	var resp apiResponse
	if err := c.post(ctx, "/sms/send", form, &resp); err != nil {
		c.logFailure(ctx, to, err)
		return Result{}, err
	}
	if resp.StatusCode != 100 {
		err := classifyCode(resp.StatusCode, resp.StatusText)
		c.logFailure(ctx, to, err)
		return Result{}, err
	}
	r, ok := resp.SMS[to]
	if !ok {
		err := &Error{Kind: KindRetryable, Code: resp.StatusCode, Text: "gateway answer has no entry for the number"}
		c.logFailure(ctx, to, err)
		return Result{}, err
	}
	if r.StatusCode != 100 {
		err := classifyCode(r.StatusCode, r.StatusText)
		c.logFailure(ctx, to, err)
		return Result{}, err
	}
	res := Result{ID: r.SMSID, Balance: toKopecks(resp.Balance)}
	c.log.LogAttrs(ctx, slog.LevelDebug, "sms_sent", slog.String("to", MaskPhone(to)), slog.String("sms_id", r.SMSID))
	return res, nil
}

// Balance returns the account balance in kopecks (GET /my/balance), e.g.
// for a readiness check or an alert before it runs out.
func (c *Client) Balance(ctx context.Context) (int64, error) {
	var resp apiResponse
	if err := c.post(ctx, "/my/balance", url.Values{"api_id": {c.apiID}, "json": {"1"}}, &resp); err != nil {
		return 0, err
	}
	if resp.StatusCode != 100 {
		return 0, classifyCode(resp.StatusCode, resp.StatusText)
	}
	return toKopecks(resp.Balance), nil
}

func (c *Client) post(ctx context.Context, path string, form url.Values, out *apiResponse) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return &Error{Kind: KindAccount, Text: "bad request: " + err.Error()}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		// url.Error carries the URL, which has no secrets (they are in the
		// body), so it is safe to keep.
		return &Error{Kind: KindRetryable, Text: "request failed", Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return &Error{Kind: KindRetryable, HTTPStatus: resp.StatusCode, Text: "reading answer failed", Err: err}
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return &Error{Kind: KindRateLimited, HTTPStatus: resp.StatusCode, Text: "gateway rate limit",
			retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"))}
	case resp.StatusCode >= 500:
		return &Error{Kind: KindRetryable, HTTPStatus: resp.StatusCode, Text: "gateway server error",
			retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"))}
	case resp.StatusCode != http.StatusOK:
		return &Error{Kind: KindAccount, HTTPStatus: resp.StatusCode, Text: "unexpected HTTP status (wrong base URL?)"}
	}
	if err := json.Unmarshal(body, out); err != nil {
		return &Error{Kind: KindRetryable, HTTPStatus: resp.StatusCode, Text: "answer is not JSON", Err: err}
	}
	return nil
}

func (c *Client) logFailure(ctx context.Context, to string, err error) {
	var e *Error
	if !errors.As(err, &e) {
		return
	}
	level := slog.LevelWarn
	if e.Kind == KindAccount {
		level = slog.LevelError
	}
	c.log.LogAttrs(ctx, level, "sms_send_failed", slog.String("to", MaskPhone(to)),
		slog.String("kind", e.Kind.String()), slog.Int("code", e.Code), slog.Int("http_status", e.HTTPStatus),
		slog.String("text", e.Text), slog.Any("error", e.Err))
}

func toKopecks(roubles float64) int64 {
	if roubles < 0 {
		return -1
	}
	// Gateways report balances with two decimals; round, never truncate.
	return int64(roubles*100 + 0.5)
}

// Normalize turns a phone number into the gateway's form: digits only,
// country code first ("79991234567"). A leading "8" of a Russian number
// written nationally ("8 999 …") becomes "7". It returns an error for
// anything that is not 11 to 15 digits after that.
func Normalize(phone string) (string, error) {
	var b strings.Builder
	for i, r := range phone {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0, r == ' ', r == '-', r == '(', r == ')':
		default:
			return "", errors.New("phone number has invalid characters")
		}
	}
	d := b.String()
	if len(d) == 11 && d[0] == '8' && !strings.HasPrefix(phone, "+") {
		d = "7" + d[1:]
	}
	if len(d) < 11 || len(d) > 15 {
		return "", errors.New("phone number must have 11 to 15 digits")
	}
	return d, nil
}

// MaskPhone hides the middle of a phone number for logs: "+7999***4567".
func MaskPhone(phone string) string {
	d, err := Normalize(phone)
	if err != nil {
		return "***"
	}
	return "+" + d[:4] + "***" + d[len(d)-4:]
}
