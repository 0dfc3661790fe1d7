// Package tax is the platform's work as a tax agent for НДФЛ (personal
// income tax) on the rewards participants receive: the versioned rules of
// the Tax Code (НК РФ) the engine applies, the engine itself (taxable
// income per participant, per tax agent, per calendar year, computed on a
// cumulative basis and rounded to whole roubles), the gross-up of a cash
// part the client pays so the tax can be withheld, the payment deadlines
// and the monthly run of a tax agent.
//
// The package is pure: no database, no clock. The store is
// internal/postgres/taxdb; docs/tax.md is the table of the rules with the
// articles they come from.
package tax

import (
	"errors"
	"fmt"
	"sort"

	"github.com/loyaltyjam/loyaltyjam/internal/money"
)

// Residency is the participant's tax status (НК РФ ст. 207 п. 2: a resident
// is in Russia at least 183 days in 12 consecutive months).
type Residency string

// Residencies.
const (
	Resident    Residency = "resident"
	NonResident Residency = "non_resident"
)

// Valid reports whether r is a known residency.
func (r Residency) Valid() bool { return r == Resident || r == NonResident }

// RateKind is the program's choice of rate for the rewards it gives.
type RateKind string

// Rate kinds.
const (
	// Standard: a gift from an organisation (income code 2720), taxed at the
	// rates of ст. 224 п. 1 (residents) or п. 3 (non-residents).
	Standard RateKind = "standard"
	// Advertising: a prize of a contest held to advertise goods (income code
	// 2740), taxed at 35 % for residents (ст. 224 п. 2).
	Advertising RateKind = "advertising"
)

// Valid reports whether k is a known rate kind.
func (k RateKind) Valid() bool { return k == Standard || k == Advertising }

// Mode says who bears the tax.
type Mode string

// Modes.
const (
	// GrossUp: the client pays the tax. With each reward the participant
	// gets a cash part computed so the tax on the reward and on the cash part
	// is withheld from the cash part (ст. 226 п. 4).
	GrossUp Mode = "gross_up"
	// Notify: nothing can be withheld (the reward is in kind); the agent
	// informs the participant and the tax office of the tax not withheld by
	// 25 February of the next year (ст. 226 п. 5), and the participant pays
	// it by 1 December (ст. 228 п. 6).
	Notify Mode = "notify"
)

// Valid reports whether m is a known mode.
func (m Mode) Valid() bool { return m == GrossUp || m == Notify }

// Band is one step of a progressive scale: RateBP (basis points, 1300 =
// 13 %) applies to the part of the base above From.
type Band struct {
	From   money.Kopecks
	RateBP int64
}

// Rules are the figures of the Tax Code in force for the tax years from
// FromYear until the next version.
type Rules struct {
	Version  string
	FromYear int
	// Exemption is the yearly exempt amount of gifts and of advertising
	// prizes from organisations (ст. 217 п. 28): 4 000 ₽.
	Exemption money.Kopecks
	// Resident is the scale for residents' main tax base (ст. 224 п. 1).
	Resident []Band
	// NonResidentBP is the non-resident rate (ст. 224 п. 3).
	NonResidentBP int64
	// AdvertisingBP is the rate of advertising prizes for residents
	// (ст. 224 п. 2).
	AdvertisingBP int64
	// NonResidentAdvertisingBP is the rate of advertising prizes for
	// non-residents; the default follows ст. 224 п. 3 (30 % on all
	// non-residents' income), see docs/tax.md.
	NonResidentAdvertisingBP int64
	// WithholdCapBP bounds the tax withheld from one cash payment, as a
	// share of it (ст. 226 п. 4 says 50 %). The gross-up cash part is sized
	// so the tax fits under the cap. The default 10000 (the whole cash
	// part) is the common practice of prize campaigns where the cash part
	// exists only to pay the tax; see docs/tax.md.
	WithholdCapBP int64
	// Source names the law the version follows.
	Source string
}

// rouble is 1 ₽ in kopecks.
const rouble = money.Kopecks(100)

// Versions of the rules shipped with the product, oldest first.
var (
	// Rules2024 is the scale of 2021–2024: 13 % up to 5 million ₽ and
	// 15 % above (ст. 224 п. 1 in the wording of Federal law 372-ФЗ of
	// 23.11.2020).
	Rules2024 = Rules{
		Version: "2021", FromYear: 2021, Exemption: 4000 * rouble,
		Resident:      []Band{{0, 1300}, {5_000_000 * rouble, 1500}},
		NonResidentBP: 3000, AdvertisingBP: 3500, NonResidentAdvertisingBP: 3000,
		WithholdCapBP: 10000,
		Source:        "НК РФ ст. 217 п. 28, ст. 224 пп. 1–3 (ред. 372-ФЗ от 23.11.2020)",
	}
	// Rules2025 is the progressive scale in force from 2025: 13/15/18/20/22 %
	// with steps at 2.4, 5, 20 and 50 million ₽ (ст. 224 п. 1 in the wording
	// of Federal law 176-ФЗ of 12.07.2024).
	Rules2025 = Rules{
		Version: "2025", FromYear: 2025, Exemption: 4000 * rouble,
		Resident: []Band{{0, 1300}, {2_400_000 * rouble, 1500}, {5_000_000 * rouble, 1800},
			{20_000_000 * rouble, 2000}, {50_000_000 * rouble, 2200}},
		NonResidentBP: 3000, AdvertisingBP: 3500, NonResidentAdvertisingBP: 3000,
		WithholdCapBP: 10000,
		Source:        "НК РФ ст. 217 п. 28, ст. 224 пп. 1–3 (ред. 176-ФЗ от 12.07.2024)",
	}
)

// Defaults is the rule set the product ships with.
func Defaults() RuleSet { return RuleSet{Rules2024, Rules2025} }

// RuleSet is every version of the rules; For picks the one of a year.
type RuleSet []Rules

// ErrNoRules is returned for a year before every version.
var ErrNoRules = errors.New("tax: no rules for this year")

// For returns the version in force in year: the latest with FromYear <= year.
func (rs RuleSet) For(year int) (Rules, error) {
	sorted := append(RuleSet(nil), rs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].FromYear < sorted[j].FromYear })
	var found *Rules
	for i := range sorted {
		if sorted[i].FromYear <= year {
			found = &sorted[i]
		}
	}
	if found == nil {
		return Rules{}, fmt.Errorf("%w: %d", ErrNoRules, year)
	}
	return *found, nil
}

// Validate checks r is usable: bands ascending from zero, rates between 0
// and 100 %, a positive withholding cap above every marginal rate (else a
// gross-up never converges).
func (r Rules) Validate() error {
	if r.Version == "" || r.FromYear < 2000 {
		return errors.New("tax: rules need a version and a first year")
	}
	if r.Exemption < 0 {
		return errors.New("tax: negative exemption")
	}
	if len(r.Resident) == 0 || r.Resident[0].From != 0 {
		return errors.New("tax: the resident scale must start at 0")
	}
	maxRate := max(r.NonResidentBP, r.AdvertisingBP, r.NonResidentAdvertisingBP)
	for i, b := range r.Resident {
		if i > 0 && b.From <= r.Resident[i-1].From {
			return errors.New("tax: resident bands must ascend")
		}
		maxRate = max(maxRate, b.RateBP)
		if b.RateBP < 0 || b.RateBP > 10000 {
			return errors.New("tax: a rate must be between 0 and 100 %")
		}
	}
	for _, bp := range []int64{r.NonResidentBP, r.AdvertisingBP, r.NonResidentAdvertisingBP} {
		if bp < 0 || bp > 10000 {
			return errors.New("tax: a rate must be between 0 and 100 %")
		}
	}
	if r.WithholdCapBP <= maxRate || r.WithholdCapBP > 10000 {
		return errors.New("tax: the withholding cap must exceed every rate and be at most 100 %")
	}
	return nil
}
