package tax

import (
	"errors"
	"fmt"

	"github.com/loyaltyjam/loyaltyjam/internal/money"
)

// Position is what one tax agent has paid one participant in one calendar
// year so far, and the tax it has computed on it. The tax is computed on a
// cumulative basis (ст. 226 п. 3): each event reassesses the whole year and
// its tax is the difference from what was computed before, so the events
// of a year always add up to the year's assessment.
type Position struct {
	Standard    money.Kopecks // gross income at the standard rates (gifts, gross-up cash)
	Advertising money.Kopecks // gross income at the advertising-prize rate
	Computed    money.Kopecks // tax computed so far (whole roubles)
}

// Income is the year's gross income.
func (p Position) Income() money.Kopecks { return p.Standard + p.Advertising }

// Assessment is the tax of a position.
type Assessment struct {
	ExemptStandard    money.Kopecks
	ExemptAdvertising money.Kopecks
	BaseStandard      money.Kopecks
	BaseAdvertising   money.Kopecks
	TaxStandard       money.Kopecks // whole roubles, in kopecks
	TaxAdvertising    money.Kopecks // whole roubles, in kopecks
}

// Tax is the total tax of the assessment.
func (a Assessment) Tax() money.Kopecks { return a.TaxStandard + a.TaxAdvertising }

// Exempt is the part of the income the exemption covers.
func (a Assessment) Exempt() money.Kopecks { return a.ExemptStandard + a.ExemptAdvertising }

// Assess computes the tax of the year's position p for a participant of
// residency res. The exemption (ст. 217 п. 28) covers advertising prizes
// first, then gifts: the Code sets no order, and this one never costs the
// participant more. Each base's tax is rounded to whole roubles (ст. 52
// п. 6: under 50 kopecks dropped, 50 and more make a rouble).
func (r Rules) Assess(p Position, res Residency) Assessment {
	var a Assessment
	left := r.Exemption
	a.ExemptAdvertising = min(max(p.Advertising, 0), left)
	left -= a.ExemptAdvertising
	a.ExemptStandard = min(max(p.Standard, 0), left)
	a.BaseAdvertising = max(p.Advertising-a.ExemptAdvertising, 0)
	a.BaseStandard = max(p.Standard-a.ExemptStandard, 0)
	if res == NonResident {
		a.TaxStandard = roundRoubles(int64(a.BaseStandard) * r.NonResidentBP)
		a.TaxAdvertising = roundRoubles(int64(a.BaseAdvertising) * r.NonResidentAdvertisingBP)
		return a
	}
	a.TaxAdvertising = roundRoubles(int64(a.BaseAdvertising) * r.AdvertisingBP)
	var exact int64 // kopecks × basis points
	for i, b := range r.Resident {
		if a.BaseStandard <= b.From {
			break
		}
		top := a.BaseStandard
		if i+1 < len(r.Resident) && r.Resident[i+1].From < top {
			top = r.Resident[i+1].From
		}
		exact += int64(top-b.From) * b.RateBP
	}
	a.TaxStandard = roundRoubles(exact)
	return a
}

// roundRoubles turns kopecks × basis points into whole roubles (in kopecks)
// by ст. 52 п. 6. The argument is never negative.
func roundRoubles(kopBP int64) money.Kopecks {
	const perRouble = 100 * 10000
	return money.Kopecks((kopBP + perRouble/2) / perRouble * 100)
}

// Delivery is a reward delivered to a participant.
type Delivery struct {
	Value money.Kopecks // the reward's value (its price to the agent), > 0
	Kind  RateKind
	Mode  Mode
}

// Outcome is the tax of one event.
type Outcome struct {
	Cash        money.Kopecks // the gross-up cash part paid with the reward (0 in notify mode)
	Income      money.Kopecks // the income the event adds (negative for a reversal): value + cash
	Tax         money.Kopecks // tax computed by the event (negative: less tax than before)
	Withheld    money.Kopecks // of Tax, withheld from the cash part (negative: to refund)
	NotWithheld money.Kopecks // of Tax, not withheld: to be notified
	After       Position
}

// Errors of the engine.
var (
	ErrBadDelivery = errors.New("tax: a delivery needs a positive value, a rate kind and a mode")
	ErrNoGrossUp   = errors.New("tax: the gross-up does not converge under these rules")
)

// Deliver computes the tax of delivering d to a participant whose year so
// far is before. In gross-up mode it sizes the cash part: the least amount
// in kopecks whose tax, together with the reward's, fits under the
// withholding cap of the cash part.
func (r Rules) Deliver(before Position, res Residency, d Delivery) (Outcome, error) {
	if d.Value <= 0 || !d.Kind.Valid() || !d.Mode.Valid() {
		return Outcome{}, ErrBadDelivery
	}
	with := func(cash money.Kopecks) Position {
		p := before
		if d.Kind == Advertising {
			p.Advertising += d.Value
		} else {
			p.Standard += d.Value
		}
		// The cash part is money paid with the prize: the same kind of
		// income as the prize it comes with.
		if d.Kind == Advertising {
			p.Advertising += cash
		} else {
			p.Standard += cash
		}
		return p
	}
	taxOf := func(cash money.Kopecks) money.Kopecks {
		return r.Assess(with(cash), res).Tax() - before.Computed
	}
	var cash money.Kopecks
	if d.Mode == GrossUp {
		if r.WithholdCapBP <= 0 {
			return Outcome{}, ErrNoGrossUp
		}
		// The least fixed point of cash = ceil(tax(cash) / cap): the
		// iteration from zero climbs to it, since the tax grows with the cash.
		for i := 0; ; i++ {
			t := max(taxOf(cash), 0)
			need := money.Kopecks((int64(t)*10000 + r.WithholdCapBP - 1) / r.WithholdCapBP)
			if need <= cash {
				break
			}
			if i > 200 {
				return Outcome{}, ErrNoGrossUp
			}
			cash = need
		}
	}
	after := with(cash)
	tax := r.Assess(after, res).Tax() - before.Computed
	after.Computed = before.Computed + tax
	o := Outcome{Cash: cash, Income: d.Value + cash, Tax: tax, After: after}
	o.Withheld, o.NotWithheld = split(tax, cash, d.Mode, r.WithholdCapBP)
	return o, nil
}

// split divides a tax between what is withheld from the cash part and what
// is notified. A negative tax (the residency changed, or the reward was
// reversed) follows the mode: withheld tax is refunded, notified tax is
// notified less.
func split(tax, cash money.Kopecks, mode Mode, capBP int64) (withheld, notWithheld money.Kopecks) {
	if mode != GrossUp {
		return 0, tax
	}
	if tax <= 0 {
		return tax, 0
	}
	limit := money.Kopecks(int64(cash) * capBP / 10000)
	withheld = min(tax, limit)
	return withheld, tax - withheld
}

// Reversal is a delivered reward taken back: its value and the cash part
// paid with it leave the year's income.
type Reversal struct {
	Value money.Kopecks // > 0
	Cash  money.Kopecks // >= 0, the cash part the delivery had
	Kind  RateKind
	Mode  Mode // the delivery's mode: withheld tax is refunded, notified tax notified less
}

// Reverse computes the tax of reversing rv for a participant whose year so
// far is before. The tax is negative or zero: the year is reassessed
// without the reward.
func (r Rules) Reverse(before Position, res Residency, rv Reversal) (Outcome, error) {
	if rv.Value <= 0 || rv.Cash < 0 || !rv.Kind.Valid() || !rv.Mode.Valid() {
		return Outcome{}, ErrBadDelivery
	}
	after := before
	if rv.Kind == Advertising {
		after.Advertising -= rv.Value + rv.Cash
	} else {
		after.Standard -= rv.Value + rv.Cash
	}
	if after.Advertising < 0 || after.Standard < 0 {
		return Outcome{}, fmt.Errorf("tax: reversing %s more than the year's income", rv.Value+rv.Cash)
	}
	tax := r.Assess(after, res).Tax() - before.Computed
	after.Computed = before.Computed + tax
	o := Outcome{Income: -(rv.Value + rv.Cash), Tax: tax, After: after}
	o.Withheld, o.NotWithheld = split(tax, 0, rv.Mode, r.WithholdCapBP)
	return o, nil
}

// NeedsProfile reports whether a participant whose year's income from one
// agent is income, about to receive value more, needs a complete tax
// profile first: the income would exceed the exemption, so there is tax
// to compute and report by name.
func (r Rules) NeedsProfile(income, value money.Kopecks) bool {
	return income+value > r.Exemption
}

// BandPart is the part of a resident's standard base in one band of the
// scale, with its tax.
type BandPart struct {
	RateBP int64
	Base   money.Kopecks
	Tax    money.Kopecks // whole roubles
}

// Bands splits a resident's standard base across the scale, as 6-НДФЛ
// reports it by rate. The tax of every band below the top one is whole
// roubles already (each step's tax is: 312 000, 702 000, … ₽), so rounding
// only the top band gives parts that add up to Assess's tax exactly.
func (r Rules) Bands(base money.Kopecks) []BandPart {
	var out []BandPart
	var exactBelow int64
	for i, b := range r.Resident {
		if base <= b.From {
			break
		}
		top := base
		if i+1 < len(r.Resident) && r.Resident[i+1].From < top {
			top = r.Resident[i+1].From
		}
		exact := int64(top-b.From) * b.RateBP
		out = append(out, BandPart{RateBP: b.RateBP, Base: top - b.From})
		exactBelow += exact
	}
	// every band's tax exact, the last one taking the rounding
	var sum money.Kopecks
	for i := range out {
		if i < len(out)-1 {
			out[i].Tax = money.Kopecks(int64(out[i].Base) * out[i].RateBP / 10000)
			sum += out[i].Tax
		} else {
			out[i].Tax = roundRoubles(exactBelow) - sum
		}
	}
	return out
}
