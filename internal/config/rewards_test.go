package config

import (
	"strings"
	"testing"
)

func TestRewardsOffByDefault(t *testing.T) {
	t.Parallel()
	c, err := LoadFrom(lookup(map[string]string{"DATABASE_URL": "postgres://u@localhost/db"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Rewards.Providers) != 0 || c.Rewards.Enabled("giftery") || c.Rewards.GifteryURL != "https://ssl-api.giftery.ru" {
		t.Fatalf("rewards defaults: %+v", c.Rewards)
	}
}

func TestRewardsNeedCredentials(t *testing.T) {
	t.Parallel()
	_, err := LoadFrom(lookup(map[string]string{"DATABASE_URL": "postgres://u@localhost/db",
		"REWARD_PROVIDERS": "giftery,qiwi,acme,qiwi", "GIFTERY_CLIENT_ID": "abc"}))
	if err == nil {
		t.Fatal("enabled providers without credentials accepted")
	}
	for _, want := range []string{"GIFTERY_CLIENT_ID", "GIFTERY_SECRET", "QIWI_TERMINAL_ID", "QIWI_PASSWORD", `"acme"`, `"qiwi" twice`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %s: %v", want, err)
		}
	}
}

func TestRewardsConfiguredAndMasked(t *testing.T) {
	t.Parallel()
	c, err := LoadFrom(lookup(map[string]string{"DATABASE_URL": "postgres://u@localhost/db",
		"REWARD_PROVIDERS": "giftery, qiwi", "GIFTERY_URL": "http://127.0.0.1:8095", "GIFTERY_CLIENT_ID": "1001",
		"GIFTERY_SECRET": "gift-secret-1", "QIWI_TERMINAL_ID": "1001", "QIWI_PASSWORD": "qiwi-pass-1", "REWARD_CALL_TIMEOUT": "5s"}))
	if err != nil {
		t.Fatal(err)
	}
	r := c.Rewards
	if !r.Enabled("giftery") || !r.Enabled("qiwi") || r.GifteryURL != "http://127.0.0.1:8095" || r.CallTimeout.Seconds() != 5 {
		t.Fatalf("rewards %+v", r)
	}
	s := c.String()
	if strings.Contains(s, "gift-secret-1") || strings.Contains(s, "qiwi-pass-1") || !strings.Contains(s, "REWARD_PROVIDERS=giftery,qiwi") {
		t.Fatalf("String():\n%s", s)
	}
}
