package reward

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/reward/provider"
)

// SagaStore is what the saga needs from storage (rewarddb.Store). Every
// method is one database transaction; the transitions are guarded by the
// order's current status, so two workers on one order cannot both act.
type SagaStore interface {
	// Load returns an order (its goods sealed: Code etc. empty).
	Load(ctx context.Context, id string) (Redemption, error)
	// BeginPlacing moves a queued order to placing and counts the attempt,
	// committed BEFORE the provider is called: from then on the order is
	// reconciled by Status first. ok is false when the order is not queued.
	BeginPlacing(ctx context.Context, id string) (r Redemption, ok bool, err error)
	// Requeue moves a placing order back to queued: the provider certainly
	// did not receive it (ErrNotSent, or Status said ErrOrderNotFound).
	Requeue(ctx context.Context, id, why string) error
	// Processing records that the provider accepted the order and has not
	// finished (ref is its own order id), or, with ref "", that the
	// outcome is unknown (why says what happened); the order stays open.
	Processing(ctx context.Context, id string, st Status, ref, why string) error
	// Deliver settles an open order as delivered: the hold is committed to
	// the client's redemption account, the goods sealed, the participant
	// notified and the DeliverySubscribers called, all in one transaction.
	// An order already final is left alone (nil).
	Deliver(ctx context.Context, id string, res provider.Result) error
	// Fail settles an open (or moderation) order as failed: the hold is
	// voided back to available with the reason, the participant notified.
	// An order already final is left alone (nil).
	Fail(ctx context.Context, id, code, detail string) error
}

// Providers finds a provider by name.
type Providers interface {
	Provider(name string) (provider.Provider, bool)
}

// ProviderMap is a Providers over a map.
type ProviderMap map[string]provider.Provider

// Provider returns the provider named name.
func (m ProviderMap) Provider(name string) (provider.Provider, bool) {
	p, ok := m[name]
	return p, ok
}

// ErrNotSettled: the order is still open (the provider is processing it,
// or its outcome is unknown); run the saga again later. Task handlers
// retry on it.
var ErrNotSettled = errors.New("reward: order not settled yet")

// Saga runs orders to a final status.
type Saga struct {
	store     SagaStore
	providers Providers
	log       *slog.Logger
}

// NewSaga returns the saga.
func NewSaga(store SagaStore, providers Providers, log *slog.Logger) *Saga {
	if log == nil {
		log = slog.Default()
	}
	return &Saga{store: store, providers: providers, log: log}
}

// Run advances order id as far as it can now. It returns nil when the
// order is final (or waits for a moderator), ErrNotSettled when it must be
// run again later, and other errors for outages (retry too).
//
// Exactly once: an order in placing may have reached the provider, so it
// is first reconciled by Status; it is placed again only when the
// provider says it never received it. The provider treats our order id as
// its idempotency key, so even a second Place after a lost answer cannot
// fulfil twice.
func (s *Saga) Run(ctx context.Context, id string) error {
	r, err := s.store.Load(ctx, id)
	if err != nil {
		return err
	}
	if r.Status.Final() || r.Status == Moderation {
		return nil
	}
	p, ok := s.providers.Provider(r.Provider)
	if !ok {
		// Nothing was ever sent through a provider we do not know of, unless
		// it was switched off meanwhile: keep the order open for the
		// operator rather than guess.
		if r.Status == Queued {
			return s.store.Fail(ctx, id, "no_provider", "provider "+r.Provider+" is not configured")
		}
		return fmt.Errorf("%w: provider %q not configured for %s", ErrNotSettled, r.Provider, r)
	}
	if r.Status == Placing || r.Status == Processing {
		res, err := p.Status(ctx, r.Order())
		switch {
		case errors.Is(err, provider.ErrOrderNotFound):
			if r.Status == Processing {
				// It accepted the order once; an order it now forgets is
				// not ours to place again. The operator decides.
				return fmt.Errorf("%w: provider lost accepted %s", ErrNotSettled, r)
			}
			if err := s.store.Requeue(ctx, id, "provider never received the order"); err != nil {
				return err
			}
		case err != nil:
			_ = s.store.Processing(ctx, id, r.Status, "", "status: "+err.Error())
			return fmt.Errorf("%w: status of %s: %v", ErrNotSettled, r, err)
		default:
			return s.settle(ctx, r, res, nil)
		}
	}
	r, ok, err = s.store.BeginPlacing(ctx, id)
	if err != nil {
		return err
	}
	if !ok {
		// Someone else moved it meanwhile; run again to see where it is.
		return ErrNotSettled
	}
	res, err := p.Place(ctx, r.Order())
	return s.settle(ctx, r, res, err)
}

// settle records what Place or Status said of r.
func (s *Saga) settle(ctx context.Context, r Redemption, res provider.Result, err error) error {
	if err != nil {
		if code, definite := FailureCode(err); definite {
			return s.store.Fail(ctx, r.ID, code, err.Error())
		}
		if errors.Is(err, provider.ErrNotSent) {
			if rerr := s.store.Requeue(ctx, r.ID, err.Error()); rerr != nil {
				return rerr
			}
			return fmt.Errorf("%w: %s not sent: %v", ErrNotSettled, r, err)
		}
		// Unknown outcome: stays placing, reconciled by Status next time.
		s.log.WarnContext(ctx, "redemption_outcome_unknown", slog.String("redemption_id", r.ID), slog.Any("error", err))
		if perr := s.store.Processing(ctx, r.ID, Placing, "", "place: "+err.Error()); perr != nil {
			return perr
		}
		return fmt.Errorf("%w: %s: %v", ErrNotSettled, r, err)
	}
	switch res.Status {
	case provider.Done:
		return s.store.Deliver(ctx, r.ID, res)
	case provider.Failed:
		code := "provider_failed"
		if c, ok := FailureCode(errors.New(res.Reason)); ok {
			code = c
		}
		return s.store.Fail(ctx, r.ID, code, res.Reason)
	default:
		if perr := s.store.Processing(ctx, r.ID, Processing, res.ProviderRef, "processing"); perr != nil {
			return perr
		}
		return fmt.Errorf("%w: %s processing at the provider", ErrNotSettled, r)
	}
}

// Void settles an open order as failed on an operator's word, but only
// when the provider cannot fulfil it any more: a queued or moderation
// order was never sent; a placing or processing one only after the
// provider says it never received it (or lost it) or failed it. One the
// provider is still processing is not voided; one it delivered meanwhile
// is recorded as delivered (ErrNotVoidable).
func (s *Saga) Void(ctx context.Context, id, code string) error {
	r, err := s.store.Load(ctx, id)
	if err != nil {
		return err
	}
	switch r.Status {
	case Delivered, Failed:
		return ErrNotVoidable
	case Queued, Moderation:
		return s.store.Fail(ctx, id, code, "")
	}
	p, ok := s.providers.Provider(r.Provider)
	if !ok {
		return ErrNotVoidable
	}
	res, err := p.Status(ctx, r.Order())
	switch {
	case errors.Is(err, provider.ErrOrderNotFound):
		return s.store.Fail(ctx, id, code, "provider never received the order")
	case err != nil:
		return fmt.Errorf("void %s: %w", r, err)
	case res.Status == provider.Failed:
		return s.store.Fail(ctx, id, code, res.Reason)
	case res.Status == provider.Done:
		// Delivered after all: record it, and say the order could not be
		// voided.
		if err := s.store.Deliver(ctx, id, res); err != nil {
			return err
		}
	}
	return ErrNotVoidable
}

// Stuck lists open orders untouched since before; the sweeper runs them
// again.
type Stuck interface {
	StuckOrders(ctx context.Context, before time.Time, limit int) ([]string, error)
}
