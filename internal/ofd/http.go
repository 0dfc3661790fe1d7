package ofd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// maxBody caps what we read from a provider: a receipt is a few tens of KB.
const maxBody = 4 << 20

// DefaultTimeout is the per-call deadline when a config leaves Timeout zero.
const DefaultTimeout = 15 * time.Second

// doHTTP performs req with a per-call deadline and returns status, headers
// and body. A failure of the transport or the per-call deadline is a
// *TransientError; the parent context's own cancellation is returned as is.
func doHTTP(ctx context.Context, hc *http.Client, timeout time.Duration, provider string, req *http.Request) (int, http.Header, []byte, error) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := hc.Do(req.WithContext(cctx))
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, nil, ctx.Err()
		}
		op := "http"
		if errors.Is(err, context.DeadlineExceeded) {
			op = "timeout"
		}
		return 0, nil, nil, &TransientError{Provider: provider, Op: op, Err: scrubURL(err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, nil, ctx.Err()
		}
		op := "http"
		if errors.Is(err, context.DeadlineExceeded) {
			op = "timeout"
		}
		return 0, nil, nil, &TransientError{Provider: provider, Op: op, Status: resp.StatusCode, Err: err}
	}
	return resp.StatusCode, resp.Header, body, nil
}

// scrubURL drops the URL from *url.Error so that a token passed in a query
// string can never reach a log line.
func scrubURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// retryAfter parses a Retry-After header (seconds or HTTP date), falling back to def.
func retryAfter(h http.Header, now time.Time, def time.Duration) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return def
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return def
}

func snippet(b []byte) string {
	const n = 200
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

func statusError(provider string, status int, body []byte) error {
	return &TransientError{Provider: provider, Op: "status", Status: status, Err: fmt.Errorf("unexpected HTTP status: %s", snippet(body))}
}
