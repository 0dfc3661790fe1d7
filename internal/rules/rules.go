package rules

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Rules are one version of a program's earning rules.
type Rules struct {
	// Earn lists the earning rules; a line earns by the first whose
	// selector takes its SKU. A SKU no rule takes earns nothing.
	Earn []Earn `json:"earn"`
	// Bonuses are receipt-level bonuses; the one with the highest
	// MinDistinctSKUs the receipt reaches is paid (they are tiers).
	Bonuses []Bonus `json:"bonuses,omitempty"`
	// Promos multiply the points of the lines they select on purchase dates
	// within their window; where several apply, the highest multiplier wins.
	Promos []Promo `json:"promos,omitempty"`
	// Roles that may earn; empty means every role.
	Roles []string `json:"roles,omitempty"`
	// SellerCheck says how the receipt's seller is tied to the participant's
	// shop: "shop" (default: the KKT registration number is one of the
	// shop's, or the seller INN is the shop's and the address agrees),
	// "kkt" (the KKT registration number must be one of the shop's) or
	// "none" (no check).
	SellerCheck string `json:"seller_check,omitempty"`
	// Caps limit the points; zero fields are no limit.
	Caps Caps `json:"caps,omitempty"`
}

// Selector picks SKUs by client article code, category or brand. A SKU is
// selected if any listed value matches; an empty selector selects every SKU.
type Selector struct {
	SKUs       []string `json:"skus,omitempty"`
	Categories []string `json:"categories,omitempty"`
	Brands     []string `json:"brands,omitempty"`
}

func (s Selector) empty() bool { return len(s.SKUs)+len(s.Categories)+len(s.Brands) == 0 }

func (s Selector) takes(l Line) bool {
	if s.empty() {
		return true
	}
	return slices.Contains(s.SKUs, l.SKU) || containsFold(s.Categories, l.Category) || containsFold(s.Brands, l.Brand)
}

func containsFold(list []string, v string) bool {
	if v == "" {
		return false
	}
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

// Earn is one earning rule: exactly one of FixedPerUnitKopecks and
// PercentBP is set.
type Earn struct {
	Selector
	// FixedPerUnitKopecks is paid per unit sold (weighed goods: per unit of
	// quantity, pro rata).
	FixedPerUnitKopecks int64 `json:"fixed_per_unit_kopecks,omitempty"`
	// PercentBP is a share of the line sum in basis points (5 % = 500).
	PercentBP int64 `json:"percent_bp,omitempty"`
}

// Bonus pays Kopecks once for a receipt with at least MinDistinctSKUs
// distinct SKUs that earned points.
type Bonus struct {
	Name            string `json:"name"`
	MinDistinctSKUs int    `json:"min_distinct_skus"`
	Kopecks         int64  `json:"kopecks"`
}

// Promo multiplies the points of selected lines purchased From..To
// (inclusive dates) by MultiplierBP (×2 = 20000).
type Promo struct {
	Name         string `json:"name"`
	From         Date   `json:"from"`
	To           Date   `json:"to"`
	MultiplierBP int64  `json:"multiplier_bp"`
	Selector
}

// Caps limit points in kopecks; 0 is no limit. Days and weeks are those of
// the purchase date (weeks run Monday to Sunday); the period is the whole
// program.
type Caps struct {
	PerReceipt        int64 `json:"per_receipt,omitempty"`
	ParticipantDay    int64 `json:"participant_day,omitempty"`
	ParticipantWeek   int64 `json:"participant_week,omitempty"`
	ParticipantPeriod int64 `json:"participant_period,omitempty"`
	ShopDay           int64 `json:"shop_day,omitempty"`
}

// Date is a calendar date, "2006-01-02" in JSON.
type Date struct{ time.Time }

// MustDate parses "2006-01-02" and panics on error (for literals).
func MustDate(s string) Date {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return Date{t}
}

// MarshalJSON writes the date as "2006-01-02".
func (d Date) MarshalJSON() ([]byte, error) { return json.Marshal(d.Format(time.DateOnly)) }

// UnmarshalJSON reads "2006-01-02".
func (d *Date) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	d.Time = t
	return nil
}

// Bounds that keep every product of Evaluate within 128 bits and every
// result within int64.
const (
	maxFixedKopecks = 100_000_00 // 100 000 ₽ per unit
	maxPercentBP    = 100_000    // 1000 %
	maxMultiplierBP = 100_000    // ×10
	maxBonusKopecks = 1_000_000_00
	maxMarginBP     = 100_000 // ×10, as skus.margin_weight_bp
)

var validRoles = []string{"seller", "sales_rep", "merchandiser", "dealer", "manager"}

// Parse decodes and validates a JSON rules body; unknown fields are errors,
// so a typo in a cap name cannot silently disable the cap.
func Parse(body []byte) (Rules, error) {
	var r Rules
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Rules{}, fmt.Errorf("rules: %w", err)
	}
	return r, r.Validate()
}

// Validate reports every problem of r at once.
func (r Rules) Validate() error {
	var errs []error
	if len(r.Earn) == 0 {
		errs = append(errs, errors.New("earn: at least one earning rule is required"))
	}
	for i, e := range r.Earn {
		switch {
		case (e.FixedPerUnitKopecks > 0) == (e.PercentBP > 0):
			errs = append(errs, fmt.Errorf("earn[%d]: set exactly one of fixed_per_unit_kopecks and percent_bp", i))
		case e.FixedPerUnitKopecks < 0 || e.FixedPerUnitKopecks > maxFixedKopecks:
			errs = append(errs, fmt.Errorf("earn[%d]: fixed_per_unit_kopecks out of range 1..%d", i, maxFixedKopecks))
		case e.PercentBP < 0 || e.PercentBP > maxPercentBP:
			errs = append(errs, fmt.Errorf("earn[%d]: percent_bp out of range 1..%d", i, maxPercentBP))
		}
	}
	for i, b := range r.Bonuses {
		if b.MinDistinctSKUs < 1 || b.Kopecks <= 0 || b.Kopecks > maxBonusKopecks {
			errs = append(errs, fmt.Errorf("bonuses[%d]: min_distinct_skus ≥ 1 and 0 < kopecks ≤ %d", i, maxBonusKopecks))
		}
	}
	for i, p := range r.Promos {
		if p.From.IsZero() || p.To.IsZero() || p.To.Before(p.From.Time) {
			errs = append(errs, fmt.Errorf("promos[%d]: from and to are required and from ≤ to", i))
		}
		if p.MultiplierBP < 1 || p.MultiplierBP > maxMultiplierBP {
			errs = append(errs, fmt.Errorf("promos[%d]: multiplier_bp out of range 1..%d", i, maxMultiplierBP))
		}
	}
	for _, role := range r.Roles {
		if !slices.Contains(validRoles, role) {
			errs = append(errs, fmt.Errorf("roles: unknown role %q", role))
		}
	}
	switch r.SellerCheck {
	case "", "shop", "kkt", "none":
	default:
		errs = append(errs, fmt.Errorf("seller_check: %q, want shop, kkt or none", r.SellerCheck))
	}
	c := r.Caps
	if c.PerReceipt < 0 || c.ParticipantDay < 0 || c.ParticipantWeek < 0 || c.ParticipantPeriod < 0 || c.ShopDay < 0 {
		errs = append(errs, errors.New("caps: must not be negative"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("rules: %w", errors.Join(errs...))
	}
	return nil
}
