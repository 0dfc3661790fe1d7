package ofd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// Chain tries providers in order. A provider's receipt, ErrNotYet and
// *RejectedError are answers and end the chain (a rejection is never
// second-guessed by another provider). A *RateLimitedError or a transient
// error moves on to the next provider. When every provider failed, Fetch
// returns a *RateLimitedError (the shortest RetryAfter) if all of them were
// rate limited, else the last transient error joined with the others.
type Chain struct {
	providers []Fetcher
	log       *slog.Logger
}

var _ Fetcher = (*Chain)(nil)

// NewChain returns a Chain over providers, in order of preference.
func NewChain(providers ...Fetcher) *Chain {
	return &Chain{providers: providers, log: orDiscard(nil)}
}

// WithLogger returns c logging fall-throughs to l.
func (c *Chain) WithLogger(l *slog.Logger) *Chain {
	return &Chain{providers: c.providers, log: orDiscard(l)}
}

// Fetch implements Fetcher.
func (c *Chain) Fetch(ctx context.Context, q Query) (Receipt, error) {
	if len(c.providers) == 0 {
		return Receipt{}, &TransientError{Provider: "chain", Op: "config", Err: errors.New("no providers")}
	}
	var (
		errs       []error
		minLimited *RateLimitedError
		allLimited = true
	)
	for i, p := range c.providers {
		r, err := p.Fetch(ctx, q)
		if err == nil {
			return r, nil
		}
		if ctx.Err() != nil {
			return Receipt{}, err
		}
		var rl *RateLimitedError
		switch {
		case errors.As(err, &rl):
			if minLimited == nil || rl.RetryAfter < minLimited.RetryAfter {
				minLimited = rl
			}
		case IsTransient(err):
			allLimited = false
		default:
			// ErrNotYet, *RejectedError, or an error we cannot classify: an answer.
			return Receipt{}, err
		}
		errs = append(errs, err)
		if i < len(c.providers)-1 {
			c.log.LogAttrs(ctx, slog.LevelInfo, "ofd_fallthrough", slog.Int("provider_index", i), slog.String("error", err.Error()))
		}
	}
	if allLimited && minLimited != nil {
		return Receipt{}, minLimited
	}
	// Wrap only the last transient error: wrapping the rate-limit errors
	// too would make errors.As(*RateLimitedError) true for a chain that
	// must be retried as "provider down".
	var last error
	msgs := make([]string, 0, len(errs))
	for _, e := range errs {
		msgs = append(msgs, e.Error())
		if IsTransient(e) && !IsRateLimited(e) {
			last = e
		}
	}
	return Receipt{}, &TransientError{Provider: "chain", Op: "all_failed", Err: fmt.Errorf("%w (all: %s)", last, strings.Join(msgs, "; "))}
}
