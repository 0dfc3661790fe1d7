package tax

import (
	"context"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/money"
)

// GateStore is what the Gate reads: the participant's income this tax
// year from every agent, and whether their tax profile is complete
// (internal/postgres/taxdb.Store).
type GateStore interface {
	YearIncome(ctx context.Context, participantID int64, year int) (income money.Kopecks, complete bool, err error)
}

// Gate answers redemption's question before a reward is delivered: does
// this participant need a complete tax profile first? They do when the
// year's income with the reward would exceed the exemption (ст. 217
// п. 28) and their profile is not complete: the tax must then be computed
// and reported by name.
type Gate struct {
	Store GateStore
	Rules RuleSet          // tax.Defaults() when nil
	Now   func() time.Time // time.Now when nil
	Zone  *time.Location   // the year's zone; Europe/Moscow (UTC+3) when nil
}

// NeedsProfile reports whether participantID must complete their tax
// profile before receiving a reward of value. The income of every agent
// counts: a conservative answer, as the exemption is per agent.
func (g Gate) NeedsProfile(ctx context.Context, participantID int64, value money.Kopecks) (bool, error) {
	now := time.Now
	if g.Now != nil {
		now = g.Now
	}
	zone := g.Zone
	if zone == nil {
		zone = time.FixedZone("MSK", 3*3600)
	}
	rs := g.Rules
	if rs == nil {
		rs = Defaults()
	}
	year := now().In(zone).Year()
	rules, err := rs.For(year)
	if err != nil {
		return false, err
	}
	income, complete, err := g.Store.YearIncome(ctx, participantID, year)
	if err != nil {
		return false, err
	}
	return !complete && rules.NeedsProfile(income, value), nil
}

// NeedsTaxProfile is NeedsProfile in the shape of redemption's port
// (reward.TaxGate): the client does not change the answer, as the income
// of every agent counts.
func (g Gate) NeedsTaxProfile(ctx context.Context, clientID, participantID int64, price money.Kopecks) (bool, error) {
	return g.NeedsProfile(ctx, participantID, price)
}
