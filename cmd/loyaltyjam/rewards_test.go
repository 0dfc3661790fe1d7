package main

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/config"
	"github.com/loyaltyjam/loyaltyjam/internal/reward/provider"
)

// The dev run's wiring: the simulators as `dev` starts them, the settings
// `dev` defaults to, and the registry built from that configuration fulfil
// a certificate and a top-up; an unknown provider name is refused.
func TestRewardProvidersFromConfig(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	urls, stop, err := startRewardSims(ctx, rewardSimFlags{gifteryAddr: "127.0.0.1:0", qiwiAddr: "127.0.0.1:0", processingFor: time.Minute},
		slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	env := map[string]string{"DATABASE_URL": "postgres://u@localhost/db"}
	devRewardDefaults(env, rewardSimFlags{gifteryAddr: strings.TrimPrefix(urls.giftery, "http://"), qiwiAddr: strings.TrimPrefix(urls.qiwi, "http://")})
	cfg, err := config.LoadFrom(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	reg, err := rewardRegistry(cfg.Rewards)
	if err != nil {
		t.Fatal(err)
	}
	if got := reg.Names(); !slices.Equal(got, []string{"giftery", "qiwi"}) {
		t.Fatalf("providers %v", got)
	}
	g, err := reg.Get("giftery")
	if err != nil {
		t.Fatal(err)
	}
	ps, err := g.Products(ctx)
	if err != nil || len(ps) == 0 {
		t.Fatalf("giftery products: %d, %v", len(ps), err)
	}
	res, err := g.Place(ctx, provider.Order{ID: "dev-wiring-1", ProductID: "13103", Face: 50000, Email: "a@example.com"})
	if err != nil || res.Status != provider.Done || res.Code == "" {
		t.Fatalf("giftery Place = %+v, %v", res, err)
	}
	q, err := reg.Get("qiwi")
	if err != nil {
		t.Fatal(err)
	}
	res, err = q.Place(ctx, provider.Order{ID: "dev-wiring-2", ProductID: "mobile", Face: 10000, Phone: "+79161234567"})
	if err != nil || res.Status != provider.Done {
		t.Fatalf("qiwi Place = %+v, %v", res, err)
	}
	if _, err := reg.Get("acme"); !errors.Is(err, provider.ErrUnknownProvider) {
		t.Fatalf("Get(acme) = %v", err)
	}
}

func TestRewardRegistryEmptyAndDuplicates(t *testing.T) {
	t.Parallel()
	reg, err := rewardRegistry(config.Rewards{})
	if err != nil || len(reg.Names()) != 0 {
		t.Fatalf("no providers: %v, %v", reg.Names(), err)
	}
	r := config.Rewards{Providers: []string{"qiwi", "qiwi"}, QIWIURL: "http://127.0.0.1:1", QIWITerminalID: "1", QIWIPassword: "p"}
	if _, err := rewardRegistry(r); err == nil {
		t.Fatal("two providers of one name accepted")
	}
}
