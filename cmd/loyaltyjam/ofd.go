package main

import (
	"fmt"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/ofd"
	"github.com/loyaltyjam/loyaltyjam/internal/ofd/ofdredis"
)

// buildOFD builds the fiscal data provider chain of the configuration: each
// provider rate-limited and quota-counted in Redis (shared by every worker
// process), tried in OFD_PROVIDERS order.
func buildOFD(d *deps) (*ofd.Chain, *ofdredis.Limiter, error) {
	c := d.cfg.OFD
	limits := map[string]ofdredis.Limit{}
	for _, name := range c.Providers {
		limits[name] = ofdredis.Limit{Rate: c.RatePerMinute, Per: time.Minute, DailyQuota: int64(c.DailyQuota)}
	}
	limiter, err := ofdredis.New(ofdredis.Config{Client: d.redis, Prefix: "loyaltyjam:ofd", Limits: limits})
	if err != nil {
		return nil, nil, err
	}
	var fetchers []ofd.Fetcher
	for _, name := range c.Providers {
		var f ofd.Fetcher
		switch name {
		case "proverkacheka":
			f, err = ofd.NewProverkacheka(ofd.ProverkachekaConfig{BaseURL: c.ProverkachekaURL,
				Token: c.ProverkachekaKey.Value(), Timeout: c.CallTimeout, Logger: d.log})
		case "fns_openapi":
			f, err = ofd.NewOpenAPI(ofd.OpenAPIConfig{BaseURL: c.FNSOpenAPIURL,
				MasterToken: c.FNSOpenAPIToken.Value(), Timeout: c.CallTimeout, Logger: d.log})
		default:
			return nil, nil, fmt.Errorf("OFD_PROVIDERS: unknown provider %q (proverkacheka, fns_openapi)", name)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("OFD provider %s: %w", name, err)
		}
		fetchers = append(fetchers, ofd.Limited(name, f, limiter))
	}
	return ofd.NewChain(fetchers...).WithLogger(d.log), limiter, nil
}
