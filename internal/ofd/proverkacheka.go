package ofd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/money"
)

// ProviderProverkacheka is the provider name of the proverkacheka.com client.
const ProviderProverkacheka = "proverkacheka"

// DefaultProverkachekaURL is the production base URL of proverkacheka.com.
const DefaultProverkachekaURL = "https://proverkacheka.com"

// ProverkachekaConfig configures a Proverkacheka client.
type ProverkachekaConfig struct {
	// BaseURL without the path; default DefaultProverkachekaURL.
	BaseURL string
	// Token is the API token (secret; never logged).
	Token string
	// Timeout is the deadline of one HTTP call; default DefaultTimeout.
	Timeout time.Duration
	// RateLimitBackoff is RetryAfter for code 3 (too many requests) when the
	// service gives no hint; default 10 minutes.
	RateLimitBackoff time.Duration
	// WaitBackoff is RetryAfter for code 4 (wait before retry); default 1 minute.
	WaitBackoff time.Duration
	// UseFields sends the requisites (fn, fd, fp, t, n, s) instead of qrraw
	// even when Query.Raw is set.
	UseFields bool
	// HTTPClient defaults to a new client without a global timeout.
	HTTPClient *http.Client
	Logger     *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Proverkacheka is a client of the proverkacheka.com API
// (POST /api/v1/check/get). It answers HTTP 200 with an application code:
//
//	0 → *RejectedError{ReasonInvalidReceipt}   1 → Receipt
//	2 → ErrNotYet ("not_yet_received")         3 → *RateLimitedError ("provider")
//	4 → *RateLimitedError ("wait")             5 → ErrNotYet ("no_data")
//
// HTTP 429 → *RateLimitedError; other non-200 statuses, unknown codes and
// malformed bodies → transient.
type Proverkacheka struct {
	cfg ProverkachekaConfig
	log *slog.Logger
}

var _ Fetcher = (*Proverkacheka)(nil)

// NewProverkacheka returns a client; it fails when the token is empty or
// BaseURL does not parse.
func NewProverkacheka(cfg ProverkachekaConfig) (*Proverkacheka, error) {
	if cfg.Token == "" {
		return nil, errors.New("ofd: proverkacheka: token is required")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultProverkachekaURL
	}
	if _, err := url.Parse(cfg.BaseURL); err != nil {
		return nil, fmt.Errorf("ofd: proverkacheka: base URL: %w", err)
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()} // an own connection pool
	}
	if cfg.RateLimitBackoff <= 0 {
		cfg.RateLimitBackoff = 10 * time.Minute
	}
	if cfg.WaitBackoff <= 0 {
		cfg.WaitBackoff = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Proverkacheka{cfg: cfg, log: orDiscard(cfg.Logger)}, nil
}

// Name returns ProviderProverkacheka.
func (c *Proverkacheka) Name() string { return ProviderProverkacheka }

// proverkachekaResponse is the envelope; data is a string on errors and
// {"json":…, "html":…} on success.
type proverkachekaResponse struct {
	Code  *int            `json:"code"`
	First int             `json:"first"`
	Data  json.RawMessage `json:"data"`
}

// Fetch implements Fetcher.
func (c *Proverkacheka) Fetch(ctx context.Context, q Query) (Receipt, error) {
	if err := CheckOperation(ProviderProverkacheka, q.Operation); err != nil {
		return Receipt{}, err
	}
	form := url.Values{"token": {c.cfg.Token}}
	if q.Raw != "" && !c.cfg.UseFields {
		form.Set("qrraw", q.Raw)
	} else {
		form.Set("fn", q.FN)
		form.Set("fd", strconv.FormatUint(q.FD, 10))
		form.Set("fp", strconv.FormatUint(q.FP, 10))
		form.Set("t", q.Time.Format("20060102T1504"))
		form.Set("n", strconv.Itoa(q.Operation))
		form.Set("s", money.Kopecks(q.SumKopecks).String())
		form.Set("qr", "0")
	}
	req, err := http.NewRequest(http.MethodPost, c.cfg.BaseURL+"/api/v1/check/get", strings.NewReader(form.Encode()))
	if err != nil {
		return Receipt{}, fmt.Errorf("ofd: proverkacheka: build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	start := c.cfg.Now()
	r, err := c.do(ctx, req, q)
	c.log.LogAttrs(ctx, slog.LevelDebug, "ofd_fetch", slog.String("provider", ProviderProverkacheka),
		slog.String("fn", q.FN), slog.Uint64("fd", q.FD), slog.Duration("took", c.cfg.Now().Sub(start)), slog.Any("error", err))
	return r, err
}

func (c *Proverkacheka) do(ctx context.Context, req *http.Request, q Query) (Receipt, error) {
	const p = ProviderProverkacheka
	status, hdr, body, err := doHTTP(ctx, c.cfg.HTTPClient, c.cfg.Timeout, p, req)
	if err != nil {
		return Receipt{}, err
	}
	switch {
	case status == http.StatusTooManyRequests:
		return Receipt{}, &RateLimitedError{Provider: p, Reason: "provider", RetryAfter: retryAfter(hdr, c.cfg.Now(), c.cfg.RateLimitBackoff), Message: snippet(body)}
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return Receipt{}, &TransientError{Provider: p, Op: "auth", Status: status, Err: errors.New("token refused")}
	case status != http.StatusOK:
		return Receipt{}, statusError(p, status, body)
	}
	var env proverkachekaResponse
	if err := json.Unmarshal(body, &env); err != nil || env.Code == nil {
		if err == nil {
			err = errors.New("no code in response")
		}
		return Receipt{}, &TransientError{Provider: p, Op: "decode", Status: status, Err: fmt.Errorf("%w: %s", err, snippet(body))}
	}
	msg := dataMessage(env.Data)
	switch *env.Code {
	case 1:
		r, err := DecodeReceipt(env.Data)
		if err != nil {
			return Receipt{}, &TransientError{Provider: p, Op: "decode", Status: status, Err: err}
		}
		r.Provider = p
		if err := CrossCheck(q, r); err != nil {
			return Receipt{}, err
		}
		return r, nil
	case 0:
		return Receipt{}, &RejectedError{Provider: p, Reason: ReasonInvalidReceipt, Message: msg}
	case 2:
		return Receipt{}, &PendingError{Provider: p, Reason: "not_yet_received", Message: msg}
	case 3:
		return Receipt{}, &RateLimitedError{Provider: p, Reason: "provider", RetryAfter: c.cfg.RateLimitBackoff, Message: msg}
	case 4:
		return Receipt{}, &RateLimitedError{Provider: p, Reason: "wait", RetryAfter: c.cfg.WaitBackoff, Message: msg}
	case 5:
		return Receipt{}, &PendingError{Provider: p, Reason: "no_data", Message: msg}
	}
	return Receipt{}, &TransientError{Provider: p, Op: "unknown_code", Status: status, Err: fmt.Errorf("code %d: %s", *env.Code, msg)}
}

// dataMessage returns data when it is a string (error answers).
func dataMessage(d json.RawMessage) string {
	d = bytes.TrimSpace(d)
	var s string
	if len(d) > 0 && d[0] == '"' && json.Unmarshal(d, &s) == nil {
		return s
	}
	return ""
}
