package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Rewards configures the outside providers that fulfil rewards: Giftery's
// B2B API (gift certificates) and QIWI's Top-Up API (mobile and e-wallet
// top-ups). Each environment has its own credentials; development points
// both at their simulators.
type Rewards struct {
	// Providers are the enabled providers (REWARD_PROVIDERS, comma
	// separated: giftery, qiwi). Empty: none, nothing can be redeemed.
	Providers []string
	// CallTimeout bounds one call to a provider (REWARD_CALL_TIMEOUT).
	CallTimeout time.Duration

	GifteryURL      string // GIFTERY_URL
	GifteryClientID string // GIFTERY_CLIENT_ID
	GifterySecret   Secret // GIFTERY_SECRET
	GifteryTestMode bool   // GIFTERY_TESTMODE=1: orders are not charged

	QIWIURL        string // QIWI_TOPUP_URL
	QIWITerminalID string // QIWI_TERMINAL_ID
	QIWIPassword   Secret // QIWI_PASSWORD
}

// Enabled reports whether the provider called name is enabled.
func (r Rewards) Enabled(name string) bool {
	for _, p := range r.Providers {
		if p == name {
			return true
		}
	}
	return false
}

func (e *env) rewards() Rewards {
	r := Rewards{
		Providers:       e.list("REWARD_PROVIDERS", nil),
		CallTimeout:     e.duration("REWARD_CALL_TIMEOUT", 30*time.Second),
		GifteryURL:      e.optionalURL("GIFTERY_URL", "https://ssl-api.giftery.ru", "http", "https"),
		GifteryClientID: e.str("GIFTERY_CLIENT_ID", ""),
		GifterySecret:   e.secret("GIFTERY_SECRET", ""),
		GifteryTestMode: e.oneOf("GIFTERY_TESTMODE", "0", "0", "1") == "1",
		QIWIURL:         e.optionalURL("QIWI_TOPUP_URL", "https://api.qiwi.com", "http", "https"),
		QIWITerminalID:  e.str("QIWI_TERMINAL_ID", ""),
		QIWIPassword:    e.secret("QIWI_PASSWORD", ""),
	}
	seen := map[string]bool{}
	for _, p := range r.Providers {
		switch {
		case seen[p]:
			e.fail("REWARD_PROVIDERS", fmt.Sprintf("lists %q twice", p))
		case p == "giftery":
			if _, err := strconv.ParseUint(r.GifteryClientID, 10, 64); err != nil {
				e.fail("GIFTERY_CLIENT_ID", "must be Giftery's numeric client id when REWARD_PROVIDERS has giftery")
			}
			if r.GifterySecret == "" {
				e.fail("GIFTERY_SECRET", "is required when REWARD_PROVIDERS has giftery")
			}
		case p == "qiwi":
			if _, err := strconv.ParseUint(r.QIWITerminalID, 10, 64); err != nil {
				e.fail("QIWI_TERMINAL_ID", "must be the numeric agent id when REWARD_PROVIDERS has qiwi")
			}
			if r.QIWIPassword == "" {
				e.fail("QIWI_PASSWORD", "is required when REWARD_PROVIDERS has qiwi")
			}
		default:
			e.fail("REWARD_PROVIDERS", fmt.Sprintf("lists unknown provider %q (giftery, qiwi)", p))
		}
		seen[p] = true
	}
	return r
}

// addTo puts the settings, secrets masked, into String's map.
func (r Rewards) addTo(kv map[string]string) {
	kv["REWARD_PROVIDERS"] = strings.Join(r.Providers, ",")
	kv["REWARD_CALL_TIMEOUT"] = r.CallTimeout.String()
	kv["GIFTERY_URL"], kv["GIFTERY_CLIENT_ID"], kv["GIFTERY_SECRET"] = r.GifteryURL, r.GifteryClientID, r.GifterySecret.String()
	kv["QIWI_TOPUP_URL"], kv["QIWI_TERMINAL_ID"], kv["QIWI_PASSWORD"] = r.QIWIURL, r.QIWITerminalID, r.QIWIPassword.String()
}
