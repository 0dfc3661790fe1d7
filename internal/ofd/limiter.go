package ofd

import "context"

// Limiter is the shared budget of provider calls that Limited consults
// before every call (ofdredis.Limiter keeps it in Redis, so every worker
// process shares it).
type Limiter interface {
	// Take accounts one call to provider. It returns nil when the call may
	// proceed, a *RateLimitedError (Reason "local_rate" or
	// "local_daily_quota") when the budget is spent, or a *TransientError
	// when the budget cannot be checked (a paid quota is not spent blind).
	Take(ctx context.Context, provider string) error
}

// Limited wraps f so that every Fetch first takes a slot from l under the
// given provider name; when the budget is spent the provider is not called.
func Limited(provider string, f Fetcher, l Limiter) Fetcher {
	return &limited{name: provider, f: f, l: l}
}

type limited struct {
	name string
	f    Fetcher
	l    Limiter
}

func (x *limited) Fetch(ctx context.Context, q Query) (Receipt, error) {
	if err := CheckOperation(x.name, q.Operation); err != nil {
		return Receipt{}, err
	}
	if err := x.l.Take(ctx, x.name); err != nil {
		return Receipt{}, err
	}
	return x.f.Fetch(ctx, q)
}
