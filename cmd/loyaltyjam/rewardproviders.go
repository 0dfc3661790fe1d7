package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/config"
	"github.com/loyaltyjam/loyaltyjam/internal/reward/giftery"
	"github.com/loyaltyjam/loyaltyjam/internal/reward/giftery/gifterysim"
	"github.com/loyaltyjam/loyaltyjam/internal/reward/provider"
	"github.com/loyaltyjam/loyaltyjam/internal/reward/qiwi"
	"github.com/loyaltyjam/loyaltyjam/internal/reward/qiwi/qiwisim"
)

// rewardRegistry builds a client of every reward provider the
// configuration enables (REWARD_PROVIDERS), with this environment's URLs
// and credentials, and returns them by name: redemption looks a reward's
// provider up here, so an operator switches a reward to another provider
// by renaming it in the catalog.
func rewardRegistry(r config.Rewards) (*provider.Registry, error) {
	var ps []provider.Provider
	for _, name := range r.Providers {
		switch name {
		case giftery.Name:
			c, err := giftery.New(giftery.Options{BaseURL: r.GifteryURL, ClientID: r.GifteryClientID,
				Secret: r.GifterySecret.Value(), Timeout: r.CallTimeout, TestMode: r.GifteryTestMode})
			if err != nil {
				return nil, err
			}
			ps = append(ps, c)
		case qiwi.Name:
			c, err := qiwi.New(qiwi.Options{BaseURL: r.QIWIURL, TerminalID: r.QIWITerminalID,
				Password: r.QIWIPassword.Value(), Timeout: r.CallTimeout})
			if err != nil {
				return nil, err
			}
			ps = append(ps, c)
		default:
			return nil, fmt.Errorf("reward provider %q: no client", name) // config rejects it first
		}
	}
	return provider.NewRegistry(ps...)
}

// rewardSimFlags are the reward simulators' listen addresses and their
// "processing" duration.
type rewardSimFlags struct {
	gifteryAddr, qiwiAddr string
	processingFor         time.Duration
}

// The development credentials, the simulators' defaults.
const (
	devGifteryClientID = "1001"
	devGifterySecret   = "dev-giftery-secret"
	devQIWITerminal    = "1001"
	devQIWIPassword    = "dev-qiwi-password"
)

var devRewardSims = rewardSimFlags{gifteryAddr: "127.0.0.1:8095", qiwiAddr: "127.0.0.1:8096", processingFor: 3 * time.Minute}

type rewardSimURLs struct{ giftery, qiwi string }

// startRewardSims starts the Giftery and QIWI simulators in-process until
// ctx is done; stop stops them.
func startRewardSims(ctx context.Context, f rewardSimFlags, log *slog.Logger) (rewardSimURLs, func(), error) {
	g := gifterysim.New(gifterysim.Options{Clients: map[string]string{devGifteryClientID: devGifterySecret},
		ProcessingFor: f.processingFor, Logger: log.With("sim", "giftery")})
	gu, err := g.Start(ctx, f.gifteryAddr)
	if err != nil {
		return rewardSimURLs{}, nil, err
	}
	q := qiwisim.New(qiwisim.Options{Agents: map[string]string{devQIWITerminal: devQIWIPassword},
		ProcessingFor: f.processingFor, Logger: log.With("sim", "qiwi")})
	qu, err := q.Start(ctx, f.qiwiAddr)
	if err != nil {
		_ = g.Close()
		return rewardSimURLs{}, nil, err
	}
	stop := func() {
		for _, c := range []func() error{g.Close, q.Close} {
			if err := c(); err != nil {
				log.Warn("reward_sim_close_failed", slog.Any("error", err))
			}
		}
	}
	return rewardSimURLs{giftery: gu, qiwi: qu}, stop, nil
}

// devRewardDefaults point the reward providers at the simulators.
func devRewardDefaults(defaults map[string]string, f rewardSimFlags) {
	defaults["REWARD_PROVIDERS"] = "giftery,qiwi"
	defaults["REWARD_CALL_TIMEOUT"] = "10s"
	defaults["GIFTERY_URL"] = "http://" + f.gifteryAddr
	defaults["GIFTERY_CLIENT_ID"] = devGifteryClientID
	defaults["GIFTERY_SECRET"] = devGifterySecret
	defaults["QIWI_TOPUP_URL"] = "http://" + f.qiwiAddr
	defaults["QIWI_TERMINAL_ID"] = devQIWITerminal
	defaults["QIWI_PASSWORD"] = devQIWIPassword
}
