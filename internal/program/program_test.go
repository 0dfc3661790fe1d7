package program

import (
	"fmt"
	"testing"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/rules"
)

// The whole lifecycle table: every (from, to) pair, with and without
// rules, and going live after the end date.
func TestLifecycleTransitions(t *testing.T) {
	t.Parallel()
	today := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	p := Program{Mechanics: []string{MechReceipts}, StartsOn: today.AddDate(0, -1, 0), EndsOn: today.AddDate(0, 1, 0)}
	want := map[string]string{ // from>to: "" allowed, else the refusal's code
		"draft>draft": "program_transition_refused", "draft>test": "", "draft>live": "program_transition_refused", "draft>closed": "",
		"test>draft": "", "test>test": "program_transition_refused", "test>live": "", "test>closed": "",
		"live>draft": "program_transition_refused", "live>test": "program_transition_refused", "live>live": "program_transition_refused", "live>closed": "",
		"closed>draft": "program_transition_refused", "closed>test": "program_transition_refused", "closed>live": "program_transition_refused", "closed>closed": "program_transition_refused",
	}
	all := []Status{Draft, Test, Live, Closed}
	for _, from := range all {
		for _, to := range all {
			p.Status = from
			key := fmt.Sprintf("%s>%s", from, to)
			err := CanMove(p, to, Facts{HasRules: true, Today: today})
			if got := code(err); got != want[key] {
				t.Errorf("%s with rules: %q, want %q", key, got, want[key])
			}
			if Allowed(from, to) != (want[key] == "") {
				t.Errorf("%s: Allowed disagrees with CanMove", key)
			}
			// Without rules, test and live are refused for a receipt program;
			// a registry-only program needs none.
			err = CanMove(p, to, Facts{Today: today})
			wantNo := want[key]
			if wantNo == "" && (to == Test || to == Live) {
				wantNo = "program_rules_required"
			}
			if got := code(err); got != wantNo {
				t.Errorf("%s without rules: %q, want %q", key, got, wantNo)
			}
			reg := p
			reg.Mechanics = []string{MechRegistries}
			if got := code(CanMove(reg, to, Facts{Today: today})); got != want[key] {
				t.Errorf("%s registry-only without rules: %q, want %q", key, got, want[key])
			}
		}
	}
	p.Status, p.EndsOn = Test, today.AddDate(0, 0, -1)
	if got := code(CanMove(p, Live, Facts{HasRules: true, Today: today})); got != "program_ended" {
		t.Errorf("live after the end date: %q", got)
	}
	if got := code(CanMove(p, Closed, Facts{HasRules: true, Today: today})); got != "" {
		t.Errorf("closing after the end date: %q", got)
	}
}

func code(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := apperr.As(err); ok {
		return e.Code
	}
	return err.Error()
}

func TestEligibility(t *testing.T) {
	t.Parallel()
	w := Where{Role: "seller", ShopID: 7, Chain: "Лента", Region: "Кострома"}
	for _, c := range []struct {
		e    Eligibility
		want string
	}{
		{Eligibility{}, ""},
		{Eligibility{ShopIDs: []int64{7, 8}, Chains: []string{"лента "}, Regions: []string{"КОСТРОМА"}, Roles: []string{"seller"}}, ""},
		{Eligibility{ShopIDs: []int64{8}}, ReasonShop},
		{Eligibility{Chains: []string{"Магнит"}}, ReasonChain},
		{Eligibility{Regions: []string{"Ярославль"}}, ReasonRegion},
		{Eligibility{Roles: []string{"merchandiser"}}, ReasonRole},
	} {
		if got := c.e.Admits(w); got != c.want {
			t.Errorf("%+v: %q, want %q", c.e, got, c.want)
		}
	}
	if got := (Eligibility{Chains: []string{"Лента"}}).Admits(Where{Role: "seller"}); got != ReasonChain {
		t.Errorf("no shop, chain required: %q", got)
	}
}

func TestInForce(t *testing.T) {
	t.Parallel()
	d := func(s string) time.Time { t, _ := time.Parse(time.DateOnly, s); return t }
	vs := []RuleVersion{{Version: 1, EffectiveFrom: d("2026-01-01")}, {Version: 2, EffectiveFrom: d("2026-03-01")},
		{Version: 3, EffectiveFrom: d("2026-03-01")}, {Version: 4, EffectiveFrom: d("2026-02-01")}}
	for day, want := range map[string]int{"2026-01-15": 1, "2026-02-01": 4, "2026-02-28": 4, "2026-03-01": 3, "2027-01-01": 3} {
		if v, ok := InForce(vs, d(day), false); !ok || v.Version != want {
			t.Errorf("%s: v%d %v, want v%d", day, v.Version, ok, want)
		}
	}
	if _, ok := InForce(vs, d("2025-12-31"), false); ok {
		t.Error("a day before every version has one in force")
	}
	if v, ok := InForce(vs, d("2025-12-31"), true); !ok || v.Version != 1 {
		t.Errorf("orFirst: v%d", v.Version)
	}
}

func TestRulesProblemsInRussian(t *testing.T) {
	t.Parallel()
	if p := RulesProblems(rules.Rules{Earn: []rules.Earn{{PercentBP: 500}}}); len(p) != 0 {
		t.Fatalf("valid rules: %v", p)
	}
	p := RulesProblems(rules.Rules{Promos: []rules.Promo{{MultiplierBP: 0}}, SellerCheck: "x", Roles: []string{"boss"}})
	if len(p) != 6 {
		t.Fatalf("problems %q", p)
	}
	for _, s := range p {
		if r := []rune(s); len(r) == 0 || r[0] < 'А' || r[0] > 'я' { // every message starts with a Cyrillic letter
			t.Errorf("not Russian: %q", s)
		}
	}
}
