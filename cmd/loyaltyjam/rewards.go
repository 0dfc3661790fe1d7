package main

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/dashboard"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/notifydb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/rewarddb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/taxdb"
	"github.com/loyaltyjam/loyaltyjam/internal/queue"
	"github.com/loyaltyjam/loyaltyjam/internal/reward"
	"github.com/loyaltyjam/loyaltyjam/internal/sealbox"
	"github.com/loyaltyjam/loyaltyjam/internal/tax"
)

// Rewards wiring (issue 17, docs/rewards.md). The ports other domains
// implement are plugged in here: the tax domain answers redemption's
// question whether a tax profile is needed first (tax.Gate) and records
// the income of every delivered or reversed reward in the transaction that
// delivers or reverses it (taxDeliveries); without TAX_DATA_KEY there is
// no tax store, and redemption then asks for no profile. The providers
// are the clients REWARD_PROVIDERS enables (rewardproviders.go).

// rewardProviders is the provider clients by name, built from d's
// configuration once per deps (not once per process: two deps with other
// settings — tests starting the product twice — must not share the first
// one's clients).
func rewardProviders(d *deps) reward.ProviderMap {
	providersMu.Lock()
	defer providersMu.Unlock()
	if ps, ok := providersOf[d]; ok {
		return ps
	}
	ps := reward.ProviderMap{}
	providersOf[d] = ps
	reg, err := rewardRegistry(d.cfg.Rewards)
	if err != nil {
		// config.Load validated the provider settings; a client that
		// still refuses them is logged, and its rewards wait.
		d.log.Error("reward providers", "err", err)
		return ps
	}
	for _, name := range reg.Names() {
		p, err := reg.Get(name)
		if err == nil {
			ps[name] = p
		}
	}
	return ps
}

var (
	providersMu sync.Mutex
	providersOf = map[*deps]reward.ProviderMap{}
)

// taxDeliveries records a delivered reward's value as the participant's
// income in kind (and takes it back with a reversal), in the delivering
// transaction.
type taxDeliveries struct{ s *taxdb.Store }

func (t taxDeliveries) RewardDelivered(ctx context.Context, tx pgx.Tx, d reward.Delivery) error {
	return t.s.Delivered(ctx, tx, d.RedemptionID, d.ClientID, d.ProgramID, d.ParticipantID, d.Face, d.At)
}

func (t taxDeliveries) RewardReversed(ctx context.Context, tx pgx.Tx, d reward.Delivery, _ string) error {
	return t.s.Reversed(ctx, tx, d.RedemptionID)
}

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
	opts := []rewarddb.Option{rewarddb.WithNotifier(notifydb.Notifier{})}
	if ts := d.taxStore(); ts != nil {
		opts = append(opts, rewarddb.WithTaxGate(tax.Gate{Store: ts}), rewarddb.WithDeliverySubscribers(taxDeliveries{ts}),
			rewarddb.WithConsentGate(ts))
	}
	return rewarddb.New(d.db, ledgerdb.Postings{}, auditdb.New(d.db), d.codeBox(), opts...)
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

// seedRewardOffers gives the demo its prize catalog: the simulators'
// products synced into the global catalog (as the worker does hourly) and
// offered in every live program that offers nothing yet.
func seedRewardOffers(ctx context.Context, d *deps) error {
	store := d.rewardStore()
	syncRewardCatalog(ctx, d, store)
	n, err := store.OfferAllInLivePrograms(ctx)
	if err != nil {
		return err
	}
	d.log.InfoContext(ctx, "demo prize offers", "created", n)
	return nil
}
