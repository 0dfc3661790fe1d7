package rules

import (
	"math/bits"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Program is what evaluation needs of a program.
type Program struct {
	ID                int64
	Status            string    // draft, test, live, closed
	StartsOn, EndsOn  time.Time // dates, inclusive
	MaxReceiptAgeDays int
}

// Participant is what evaluation needs of a participant.
type Participant struct {
	ID     int64
	Role   string
	IsTest bool
	Status string // invited, active, blocked
	Region string
}

// Shop is the participant's shop as the client registered it.
type Shop struct {
	ID            int64
	INN           string
	KKTRegNumbers []string
	// FNNumbers are the fiscal drive numbers of the shop's registers
	// (imported with its shops by operations); a receipt from one of them
	// is the shop's as surely as by its KKT number.
	FNNumbers     []string
	Address       string
	Chain, Region string
}

// Receipt holds the fiscal facts of the receipt.
type Receipt struct {
	Operation    int       // 1 sale, 2 return of a sale
	PurchasedAt  time.Time // local wall-clock time of the shop
	UploadedAt   time.Time // when the participant sent it
	SellerINN    string
	KKTRegNumber string
	FN           string // fiscal drive number (the QR's fn)
	Address      string
}

// Line is one receipt line with its matched SKU (SKU empty: unmatched).
type Line struct {
	LineNo        int
	SKU           string // client article code
	Category      string
	Brand         string
	MarginBP      int64 // the SKU's margin weight, 10000 = ×1
	QuantityMilli int64
	SumKopecks    int64
}

// Earned are the points already credited in the cap windows of this
// receipt's purchase date (same program).
type Earned struct {
	ParticipantDay    int64
	ParticipantWeek   int64
	ParticipantPeriod int64
	ShopDay           int64
}

// Input is everything Evaluate looks at.
type Input struct {
	// Now is the evaluation clock (injected; used when UploadedAt is
	// unknown and to refuse purchase dates in the future).
	Now         time.Time
	Rules       Rules
	Program     Program
	Participant Participant
	Shop        *Shop // nil: the participant has no shop
	Receipt     Receipt
	Lines       []Line
	Earned      Earned
	// BudgetKopecks is what the program budget can still pay.
	BudgetKopecks int64
}

// LineResult is the outcome of one line.
type LineResult struct {
	LineNo int
	SKU    string
	// RawKopecks is what the line earns before caps.
	RawKopecks int64
	// PointsKopecks is what it is paid.
	PointsKopecks int64
	// Reason is a stable code: earned, earned_promo, not_matched,
	// sku_not_in_program, zero_quantity, rounded_to_zero, or the cap that
	// cut it (cap_per_receipt, …, budget_exhausted).
	Reason string
	// Promo names the promo applied, if any.
	Promo string `json:",omitempty"`
	// The rate that applied to an earning line, so a seller can be shown
	// why it earned what it did: PercentBP of the line's sum (500 = 5 %) or
	// FixedPerUnitKopecks per unit, times FactorBP (the SKU's margin weight
	// times the promo multiplier, 10000 = ×1). Zero when no rule applied.
	PercentBP           int64 `json:",omitempty"`
	FixedPerUnitKopecks int64 `json:",omitempty"`
	FactorBP            int64 `json:",omitempty"`
}

// BonusResult is the receipt bonus paid, if any.
type BonusResult struct {
	Name          string
	RawKopecks    int64
	PointsKopecks int64
	Reason        string // bonus, or the cap that cut it
}

// CapHit records a cap that bit: how much it cut.
type CapHit struct {
	Cap          string // cap_per_receipt, cap_participant_day, …, budget_exhausted
	LimitKopecks int64
	// EarnedBefore is what the window held before this receipt.
	EarnedBefore int64
	CutKopecks   int64
}

// Result is the outcome of Evaluate.
type Result struct {
	// Eligible is false when the receipt as a whole earns nothing (Reason
	// says why); Lines then all carry that reason.
	Eligible bool
	Reason   string `json:",omitempty"`
	Lines    []LineResult
	Bonus    *BonusResult `json:",omitempty"`
	Caps     []CapHit     `json:",omitempty"`
	// TotalKopecks is the sum of the lines' and the bonus's points.
	TotalKopecks int64
}

// Receipt-level reasons of Result.Reason.
const (
	ReasonNotASale          = "not_a_sale"
	ReasonProgramNotActive  = "program_not_active"
	ReasonParticipantBlock  = "participant_blocked"
	ReasonRoleNotEligible   = "role_not_eligible"
	ReasonOutsideProgram    = "outside_program_dates"
	ReasonTooOld            = "receipt_too_old"
	ReasonInFuture          = "purchase_in_future"
	ReasonNoShop            = "no_shop"
	ReasonShopMismatch      = "shop_mismatch"
	ReasonEarned            = "earned"
	ReasonEarnedPromo       = "earned_promo"
	ReasonNotMatched        = "not_matched"
	ReasonNotInProgram      = "sku_not_in_program"
	ReasonZeroQuantity      = "zero_quantity"
	ReasonRoundedToZero     = "rounded_to_zero"
	ReasonBonus             = "bonus"
	CapPerReceipt           = "cap_per_receipt"
	CapParticipantDay       = "cap_participant_day"
	CapParticipantWeek      = "cap_participant_week"
	CapParticipantPeriod    = "cap_participant_period"
	CapShopDay              = "cap_shop_day"
	CapBudget               = "budget_exhausted"
	basisPoints             = 10_000
	quantityScale           = 1_000
	hoursPerDay             = 24 * time.Hour
	defaultMaxReceiptAgeDay = 30
)

// Evaluate computes the points of a receipt. It is pure and deterministic:
// the same Input always gives the same Result.
func Evaluate(in Input) Result {
	res := Result{Lines: make([]LineResult, len(in.Lines))}
	for i, l := range in.Lines {
		res.Lines[i] = LineResult{LineNo: l.LineNo, SKU: l.SKU}
	}
	if reason := eligibility(in); reason != "" {
		res.Reason = reason
		for i := range res.Lines {
			res.Lines[i].Reason = reason
		}
		return res
	}
	res.Eligible = true
	day := dateOf(in.Receipt.PurchasedAt)
	distinct := map[string]bool{}
	for i, l := range in.Lines {
		if earnLine(in.Rules, day, l, &res.Lines[i]) {
			distinct[l.SKU] = true
		}
	}
	bonus := pickBonus(in.Rules.Bonuses, len(distinct))
	c := newCapper(in)
	for i := range res.Lines {
		lr := &res.Lines[i]
		if lr.RawKopecks == 0 {
			continue
		}
		var capName string
		lr.PointsKopecks, capName = c.pay(lr.RawKopecks)
		if capName != "" {
			lr.Reason = capName
		}
		res.TotalKopecks += lr.PointsKopecks
	}
	if bonus != nil {
		br := &BonusResult{Name: bonus.Name, RawKopecks: bonus.Kopecks, Reason: ReasonBonus}
		var capName string
		br.PointsKopecks, capName = c.pay(bonus.Kopecks)
		if capName != "" {
			br.Reason = capName
		}
		res.Bonus = br
		res.TotalKopecks += br.PointsKopecks
	}
	res.Caps = c.hits()
	return res
}

// earnLine fills lr with the raw points of line l (before caps) and the
// reason, and reports whether the line earns (it counts towards the
// distinct SKUs of a bonus).
func earnLine(r Rules, day time.Time, l Line, lr *LineResult) bool {
	if l.SKU == "" {
		lr.Reason = ReasonNotMatched
		return false
	}
	rule := slices.IndexFunc(r.Earn, func(e Earn) bool { return e.takes(l) })
	if rule < 0 {
		lr.Reason = ReasonNotInProgram
		return false
	}
	if l.QuantityMilli <= 0 || l.SumKopecks <= 0 {
		lr.Reason = ReasonZeroQuantity
		return false
	}
	mult := int64(basisPoints)
	for _, p := range r.Promos {
		if !day.Before(p.From.Time) && !day.After(p.To.Time) && p.takes(l) && (lr.Promo == "" || p.MultiplierBP > mult) {
			mult, lr.Promo = p.MultiplierBP, p.Name
		}
	}
	margin := min(max(l.MarginBP, 1), maxMarginBP)
	e := r.Earn[rule]
	lr.PercentBP, lr.FixedPerUnitKopecks = e.PercentBP, e.FixedPerUnitKopecks
	if e.FixedPerUnitKopecks > 0 {
		lr.PercentBP = 0
	}
	lr.FactorBP = mulDivHalfDown(margin, mult, basisPoints)
	if e.FixedPerUnitKopecks > 0 {
		lr.RawKopecks = mulDivHalfDown(e.FixedPerUnitKopecks*min(l.QuantityMilli, 1<<30), margin*mult,
			quantityScale*basisPoints*basisPoints)
	} else {
		lr.RawKopecks = mulDivHalfDown(min(l.SumKopecks, 1<<42)*e.PercentBP, margin*mult,
			basisPoints*basisPoints*basisPoints)
	}
	switch {
	case lr.RawKopecks == 0:
		lr.Reason = ReasonRoundedToZero
		return false
	case lr.Promo != "":
		lr.Reason = ReasonEarnedPromo
	default:
		lr.Reason = ReasonEarned
	}
	return true
}

// pickBonus returns the bonus a receipt of distinct earning SKUs gets: the
// one with the highest threshold it reaches, the larger on a tie; nil if
// none.
func pickBonus(bonuses []Bonus, distinct int) *Bonus {
	var bonus *Bonus
	for i, b := range bonuses {
		if distinct >= b.MinDistinctSKUs && (bonus == nil || b.MinDistinctSKUs > bonus.MinDistinctSKUs ||
			(b.MinDistinctSKUs == bonus.MinDistinctSKUs && b.Kopecks > bonus.Kopecks)) {
			bonus = &bonuses[i]
		}
	}
	return bonus
}

// capLimit is one cap of a receipt: its limit and what was earned under it
// before this receipt.
type capLimit struct {
	name          string
	limit, before int64
}

// numCaps is the number of caps a receipt is paid under.
const numCaps = 6

// capper pays amounts under every cap at once: each payable amount is cut
// to the smallest allowance left, in the order paid (lines, then the
// bonus), and the cut is booked on the cap that bit. Fixed-size arrays:
// Evaluate keeps it in its frame, off the heap.
type capper struct {
	caps  [numCaps]capLimit
	allow [numCaps]int64 // allowance left per cap; -1: no limit
	cut   [numCaps]int64 // kopecks cut per cap
}

func newCapper(in Input) capper {
	c := in.Rules.Caps
	cp := capper{caps: [numCaps]capLimit{
		{CapPerReceipt, c.PerReceipt, 0},
		{CapParticipantDay, c.ParticipantDay, in.Earned.ParticipantDay},
		{CapParticipantWeek, c.ParticipantWeek, in.Earned.ParticipantWeek},
		{CapParticipantPeriod, c.ParticipantPeriod, in.Earned.ParticipantPeriod},
		{CapShopDay, c.ShopDay, in.Earned.ShopDay},
		{CapBudget, max(in.BudgetKopecks, 0), 0},
	}}
	for i, l := range cp.caps {
		cp.allow[i] = -1 // no limit
		if l.limit > 0 || l.name == CapBudget {
			cp.allow[i] = max(l.limit-l.before, 0)
		}
	}
	return cp
}

// pay returns how much of raw is paid and the cap that cut it ("" if none),
// and takes the payment off every allowance.
func (c *capper) pay(raw int64) (int64, string) {
	p, bit := raw, -1
	for i := range c.caps {
		if c.allow[i] >= 0 && p > c.allow[i] {
			p, bit = c.allow[i], i
		}
	}
	for i := range c.caps {
		if c.allow[i] >= 0 {
			c.allow[i] -= p
		}
	}
	if bit < 0 {
		return p, ""
	}
	c.cut[bit] += raw - p
	return p, c.caps[bit].name
}

// hits returns the caps that cut something, in cap order.
func (c *capper) hits() []CapHit {
	var hits []CapHit
	for i, l := range c.caps {
		if c.cut[i] > 0 {
			hits = append(hits, CapHit{Cap: l.name, LimitKopecks: l.limit, EarnedBefore: l.before, CutKopecks: c.cut[i]})
		}
	}
	return hits
}

// eligibility returns why the receipt as a whole earns nothing, or "".
func eligibility(in Input) string {
	if in.Receipt.Operation != 1 {
		return ReasonNotASale
	}
	switch in.Program.Status {
	case "live":
	case "test":
		if !in.Participant.IsTest {
			return ReasonProgramNotActive
		}
	default:
		return ReasonProgramNotActive
	}
	if in.Participant.Status == "blocked" {
		return ReasonParticipantBlock
	}
	if len(in.Rules.Roles) > 0 && !slices.Contains(in.Rules.Roles, in.Participant.Role) {
		return ReasonRoleNotEligible
	}
	day := dateOf(in.Receipt.PurchasedAt)
	if OutsideProgram(in.Program, in.Receipt.PurchasedAt) {
		return ReasonOutsideProgram
	}
	uploaded := in.Receipt.UploadedAt
	if uploaded.IsZero() {
		uploaded = in.Now
	}
	// Purchase times are the shop's wall clock; allow a day for time zones.
	if day.After(dateOf(in.Now).Add(hoursPerDay)) {
		return ReasonInFuture
	}
	maxAge := in.Program.MaxReceiptAgeDays
	if maxAge <= 0 {
		maxAge = defaultMaxReceiptAgeDay
	}
	if dateOf(uploaded).Sub(day) > time.Duration(maxAge)*hoursPerDay {
		return ReasonTooOld
	}
	return sellerCheck(in)
}

func sellerCheck(in Input) string {
	mode := in.Rules.SellerCheck
	if mode == "none" {
		return ""
	}
	s := in.Shop
	if s == nil {
		return ReasonNoShop
	}
	r := in.Receipt
	kkt := strings.TrimLeft(strings.TrimSpace(r.KKTRegNumber), "0")
	for _, k := range s.KKTRegNumbers {
		if kkt != "" && strings.TrimLeft(strings.TrimSpace(k), "0") == kkt {
			return ""
		}
	}
	if fn := strings.TrimSpace(r.FN); fn != "" {
		for _, f := range s.FNNumbers {
			if f == fn {
				return ""
			}
		}
	}
	if mode == "kkt" {
		return ReasonShopMismatch
	}
	if s.INN != "" && strings.TrimSpace(r.SellerINN) == s.INN {
		if s.Address == "" || r.Address == "" || AddressMatches(r.Address, s.Address) {
			return ""
		}
		return ReasonShopMismatch
	}
	if s.INN == "" && len(s.KKTRegNumbers) == 0 && len(s.FNNumbers) == 0 && s.Address != "" && AddressMatches(r.Address, s.Address) {
		return ""
	}
	return ReasonShopMismatch
}

// addressStop are words of Russian addresses that say nothing about which
// address it is.
var addressStop = map[string]bool{
	"г": true, "город": true, "ул": true, "улица": true, "д": true, "дом": true, "пр": true, "пр-т": true,
	"проспект": true, "пер": true, "переулок": true, "обл": true, "область": true, "р-н": true, "район": true,
	"стр": true, "строение": true, "корп": true, "к": true, "помещ": true, "пом": true, "россия": true,
	"рф": true, "ш": true, "шоссе": true, "пл": true, "площадь": true, "мкр": true, "наб": true,
}

// addressTokens splits an address into lower-case words and numbers,
// ё→е, without punctuation and filler words.
func addressTokens(s string) []string {
	s = strings.ReplaceAll(strings.ToLower(s), "ё", "е")
	f := strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' })
	out := f[:0]
	for _, w := range f {
		w = strings.Trim(w, "-")
		if w != "" && !addressStop[w] && !(len(w) == 6 && isDigits(w)) { // postcodes vary in print
			out = append(out, w)
		}
	}
	return out
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// AddressMatches reports whether the receipt's address names the shop's:
// every significant word and number of the shop address appears in the
// receipt address (the fiscal data often adds region and postcode).
func AddressMatches(receiptAddr, shopAddr string) bool {
	want := addressTokens(shopAddr)
	if len(want) == 0 {
		return false
	}
	have := map[string]bool{}
	for _, w := range addressTokens(receiptAddr) {
		have[w] = true
	}
	for _, w := range want {
		if !have[w] {
			return false
		}
	}
	return true
}

// OutsideProgram reports whether a purchase at purchased (the shop's wall
// clock) falls outside the program's dates, both days included. Such a
// receipt is rejected with ReasonOutsideProgram whether or not the program
// has rules for that day.
func OutsideProgram(p Program, purchased time.Time) bool {
	day := dateOf(purchased)
	return day.Before(dateOf(p.StartsOn)) || day.After(dateOf(p.EndsOn))
}

func dateOf(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// mulDivHalfDown returns a×b/d rounded half down, for non-negative a, b and
// positive d, with the product in 128 bits. Callers keep a×b/d within int64
// by the bounds Validate enforces.
func mulDivHalfDown(a, b, d int64) int64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi >= uint64(d) {
		return 1<<63 - 1 // cannot happen within the bounds; saturate rather than panic
	}
	q, r := bits.Div64(hi, lo, uint64(d))
	if r > uint64(d)-r { // strictly more than half
		q++
	}
	return int64(q)
}
