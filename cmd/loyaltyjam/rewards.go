package main

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/dashboard"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/rewarddb"
	"github.com/loyaltyjam/loyaltyjam/internal/queue"
	"github.com/loyaltyjam/loyaltyjam/internal/reward"
	"github.com/loyaltyjam/loyaltyjam/internal/sealbox"
)

// Rewards wiring (issue 17, docs/rewards.md). The ports other domains
// implement are plugged in here:
//
//   - rewardTaxGate: the tax domain's reward.TaxGate. nil means redemption
//     does not ask for a tax profile (documented in docs/rewards.md).
//   - rewardDeliverySubscribers: called in the transaction that delivers
//     (or reverses) a reward; the tax domain records income there.
//   - rewardProviders: the provider clients by name (Giftery, top-up),
//     built from their configuration.
var (
	rewardTaxGate             reward.TaxGate
	rewardDeliverySubscribers []reward.DeliverySubscriber[pgx.Tx]
	rewardProviders           = func(d *deps) reward.ProviderMap { return reward.ProviderMap{} }
)

// rewardSweepEvery and rewardStuckAfter: how often the worker looks for
// open orders untouched for rewardStuckAfter and runs their saga again.
const (
	rewardCatalogEvery = time.Hour
	rewardSweepEvery   = time.Minute
	rewardStuckAfter   = 5 * time.Minute
)

var (
	boxOnce sync.Once
	box     *sealbox.Box
)

// codeBox seals delivered certificate codes with CREDENTIALS_KEY (required
// in production); without one, a random key of this process: codes sealed
// by one process then open only in it, which holds in `loyaltyjam dev`
// (API and workers in one process).
func (d *deps) codeBox() *sealbox.Box {
	boxOnce.Do(func() {
		if len(d.cfg.CredentialsKey) > 0 {
			b, err := sealbox.New(d.cfg.CredentialsKey)
			if err != nil {
				panic(err) // config checked the length
			}
			box = b
			return
		}
		box = sealbox.Random()
	})
	return box
}

// rewardStore is the reward store with its ports.
func (d *deps) rewardStore() *rewarddb.Store {
	opts := []rewarddb.Option{rewarddb.WithDeliverySubscribers(rewardDeliverySubscribers...)}
	if rewardTaxGate != nil {
		opts = append(opts, rewarddb.WithTaxGate(rewardTaxGate))
	}
	return rewarddb.New(d.db, d.codeBox(), opts...)
}

// rewardOrders backs the dashboard's orders page.
func (d *deps) rewardOrders(store *rewarddb.Store) dashboard.DefaultRewardOrders {
	return dashboard.DefaultRewardOrders{Store: store, Saga: reward.NewSaga(store, rewardProviders(d), d.log),
		Audit:   auditdb.New(d.db),
		Enqueue: func(ctx context.Context, id string) error { return queue.EnqueueRewardPlace(ctx, d.queue, id) }}
}

// syncRewardCatalog writes every configured provider's product list into
// the global catalog (the operator never types products by hand); a
// provider that fails is logged and tried again next time.
func syncRewardCatalog(ctx context.Context, d *deps, store *rewarddb.Store) {
	for name, p := range rewardProviders(d) {
		products, err := p.Products(ctx)
		if err != nil {
			d.log.ErrorContext(ctx, "reward catalog fetch failed", "provider", name, "err", err)
			continue
		}
		n, err := store.SyncProducts(ctx, name, products)
		if err != nil {
			d.log.ErrorContext(ctx, "reward catalog sync failed", "provider", name, "err", err)
			continue
		}
		d.log.InfoContext(ctx, "reward catalog synced", "provider", name, "products", n)
	}
}
