package points

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/catalog"
	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/rules"
)

// Service processes verified receipts. It is safe for concurrent use; it
// caches a matcher per client (rebuilt when catalog_versions moves) and
// parsed rule versions (immutable rows).
type Service struct {
	store        Store
	catalogStore Catalogs
	ledger       ledger.Postings
	clock        func() time.Time
	thresholds   rules.Thresholds
	returnWindow time.Duration
	actor        string
	log          *slog.Logger
	consents     ConsentChecker

	mu       sync.Mutex
	catalogs map[int64]*clientCatalog
	rules    map[ruleKey]rules.Rules
}

// Option configures a Service.
type Option func(*Service)

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.clock = now } }

// WithThresholds sets the anomaly thresholds (zero fields: defaults).
func WithThresholds(t rules.Thresholds) Option { return func(s *Service) { s.thresholds = t } }

// WithReturnWindow sets how long after a sale a return can reverse it
// (default 30 days).
func WithReturnWindow(d time.Duration) Option { return func(s *Service) { s.returnWindow = d } }

// WithConsents makes crediting ask c which consents the participant lacks
// that the program requires before crediting (without it nothing is asked).
func WithConsents(c ConsentChecker) Option { return func(s *Service) { s.consents = c } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// New returns a Service that reads and writes through store, matches
// against the catalogs of catalogs and posts through postings
// (*pointsdb.Store, *catalogdb.Store and ledgerdb.Postings), all in the
// transaction store.InTx runs in.
func New(store Store, catalogs Catalogs, postings ledger.Postings, opts ...Option) *Service {
	s := &Service{
		store:        store,
		catalogStore: catalogs,
		ledger:       postings,
		clock:        time.Now,
		returnWindow: 30 * 24 * time.Hour,
		actor:        "worker",
		log:          slog.New(slog.DiscardHandler),
		catalogs:     map[int64]*clientCatalog{},
		rules:        map[ruleKey]rules.Rules{},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

type clientCatalog struct {
	version int64
	matcher *catalog.Matcher
	ids     map[string]int64
	byCode  map[string]catalog.SKU
}

// Invalidate drops the cached matcher of a client. Process notices catalog
// changes by itself through catalog_versions; this is for tests and tools.
func (s *Service) Invalidate(clientID int64) {
	s.mu.Lock()
	delete(s.catalogs, clientID)
	s.mu.Unlock()
}

func (s *Service) catalogFor(ctx context.Context, clientID int64) (*clientCatalog, error) {
	v, err := s.catalogStore.Version(ctx, clientID)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	c := s.catalogs[clientID]
	s.mu.Unlock()
	if c != nil && c.version == v {
		return c, nil
	}
	cat, err := s.catalogStore.Active(ctx, clientID)
	if err != nil {
		return nil, err
	}
	c = newClientCatalog(cat)
	s.mu.Lock()
	if old := s.catalogs[clientID]; old == nil || old.version <= c.version {
		s.catalogs[clientID] = c
	}
	s.mu.Unlock()
	return c, nil
}

func newClientCatalog(cat catalog.Active) *clientCatalog {
	c := &clientCatalog{version: cat.Version, matcher: catalog.NewMatcher(cat.SKUs), ids: cat.IDs,
		byCode: make(map[string]catalog.SKU, len(cat.SKUs))}
	for _, k := range cat.SKUs {
		c.byCode[k.ID] = k
	}
	return c
}

// match fills each item's match fields and returns the rule lines.
func (c *clientCatalog) match(items []receipt.Item) []rules.Line {
	lines := make([]rules.Line, len(items))
	for i := range items {
		it := &items[i]
		m := c.matcher.Match(it.Name, it.GTIN)
		it.SKUID, it.MatchHow, it.MatchReason = nil, m.How, m.Reason
		l := rules.Line{LineNo: it.LineNo, QuantityMilli: it.QuantityMilli, SumKopecks: it.SumKopecks}
		if id, ok := c.ids[m.SKUID]; ok && m.SKUID != "" {
			it.SKUID = &id
			k := c.byCode[m.SKUID]
			l.SKU, l.Category, l.Brand, l.MarginBP = k.ID, k.Category, k.Brand, k.MarginWeight
		} else if m.How != catalog.HowNone {
			it.MatchHow, it.MatchReason = catalog.HowNone, "sku_unknown"
		}
		lines[i] = l
	}
	return lines
}

// Process takes a receipt that just became verified (items, seller and
// operation filled) through matching, rules and the ledger to credited,
// no_eligible_items, rejected or needs_review. It runs in the transaction
// that saves r, which ctx carries (Store.InTx joins it), so r's new status
// and its ledger postings commit together or not at all. A receipt in any
// other status is left alone (a retried task), so calling Process again
// after a commit changes nothing.
func (s *Service) Process(ctx context.Context, r *receipt.Receipt) error {
	if r.Status != receipt.Verified {
		return nil
	}
	return s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		return s.process(ctx, tx, r, s.actor, false)
	})
}

// ProcessApproved credits a receipt a moderator approved out of
// needs_review: the same evaluation without the anomaly check. actor is
// "user:<id>". Like Process it runs in the transaction ctx carries.
func (s *Service) ProcessApproved(ctx context.Context, r *receipt.Receipt, actor string) error {
	if r.Status != receipt.NeedsReview {
		return fmt.Errorf("receipt %s is %s, not needs_review", r.ID, r.Status)
	}
	return s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		return s.process(ctx, tx, r, actor, true)
	})
}

func (s *Service) transition(r *receipt.Receipt, to receipt.Status, actor, reason string, data map[string]any) error {
	if data == nil {
		data = map[string]any{}
	}
	data["message"] = message(reason)
	return r.Transition(to, actor, reason, data)
}

// process takes r from verified (or, approved, from needs_review) to its
// outcome in five steps: load who and where it was bought (matchItems), the
// program (a return goes to reverse), the rules version that applies
// (rulesFor), what the caps and the budget leave (newCredit), and the
// evaluation that posts the points and settles r (settle). The store calls
// keep the order below, so the locks are taken in the same order as ever.
func (s *Service) process(ctx context.Context, tx Tx, r *receipt.Receipt, actor string, approved bool) error {
	now := s.clock()
	buyer, err := s.loadBuyer(ctx, tx, r)
	if err != nil {
		return err
	}
	lines, err := s.matchItems(ctx, r, actor)
	if err != nil {
		return err
	}
	// A sale counts in every receipt program running on its date whose
	// eligibility its seller meets; with more than one it is credited in
	// each (processSeveral). With one, or none (the receipt's own program,
	// else the client's latest, tells it why it earns nothing), as ever.
	var prog Program
	var ok bool
	if r.Operation != 2 {
		progs, err := eligiblePrograms(ctx, tx, r, buyer)
		if err != nil {
			return err
		}
		if len(progs) > 1 {
			return s.processSeveral(ctx, tx, r, progs, buyer, lines, actor, approved, now)
		}
		if len(progs) == 1 {
			prog, ok = progs[0], true
		}
	}
	if !ok {
		if prog, ok, err = tx.Program(ctx, r.ClientID, r.ProgramID, r.PurchasedAt); err != nil {
			return err
		}
		if !ok {
			return s.transition(r, receipt.Rejected, actor, ReasonNoProgram, nil)
		}
		if reason := prog.Eligibility.Admits(buyer.where()); reason != "" && r.Operation != 2 {
			r.ProgramID = &prog.ID
			for i := range r.Items {
				r.Items[i].PointsReason = reason
			}
			return s.transition(r, receipt.Rejected, actor, reason, map[string]any{"program_id": prog.ID})
		}
	}
	r.ProgramID = &prog.ID
	if r.Operation == 2 {
		return s.reverse(ctx, tx, r, prog, actor, approved)
	}
	ruleSet, version, ok, err := s.rulesFor(ctx, tx, r, prog, actor, approved)
	if err != nil || !ok {
		return err
	}
	lacking, err := s.lackingConsents(ctx, r, prog, approved)
	if err != nil {
		return err
	}
	if len(lacking) > 0 {
		for i := range r.Items {
			r.Items[i].PointsKopecks, r.Items[i].PointsReason = 0, ReasonConsentRequired
		}
		return s.transition(r, receipt.NeedsReview, actor, ReasonConsentRequired,
			map[string]any{"program_id": prog.ID, "consents": lacking})
	}
	c, err := s.newCredit(ctx, tx, r, prog, buyer, lines, ruleSet, version, now)
	if err != nil {
		return err
	}
	c.actor, c.checked, c.approved = actor, approved, approved
	return s.settle(ctx, c)
}

// ErrConsentRequired refuses a moderator's approval of a receipt whose
// participant still lacks consents its program requires before crediting:
// it stays in needs_review until they are given.
var ErrConsentRequired = apperr.New(apperr.Conflict, "consent_required",
	"Участник не дал согласий, которых программа требует перед начислением. Одобрите чек, когда они будут получены.")

// lackingConsents returns the consents r's participant lacks that prog
// requires before crediting (none without a checker). Approved, a lack is
// ErrConsentRequired: sending the receipt back to review would loop.
func (s *Service) lackingConsents(ctx context.Context, r *receipt.Receipt, prog Program, approved bool) ([]string, error) {
	if s.consents == nil {
		return nil, nil
	}
	lacking, err := s.consents.LackingForCrediting(ctx, r.ClientID, prog.ID, r.ParticipantID)
	if err != nil {
		return nil, fmt.Errorf("points: consents: %w", err)
	}
	if len(lacking) > 0 && approved {
		return nil, ErrConsentRequired
	}
	return lacking, nil
}

// buyer is who uploaded a receipt and the shop they sell in (shopID 0 and
// shop nil when they have none).
type buyer struct {
	participant rules.Participant
	shopID      int64
	shop        *rules.Shop
}

// loadBuyer reads r's participant and their shop; a receipt without a
// shop of its own takes the participant's.
func (s *Service) loadBuyer(ctx context.Context, tx Tx, r *receipt.Receipt) (buyer, error) {
	var b buyer
	var err error
	b.participant, b.shopID, err = tx.Participant(ctx, r.ParticipantID)
	if err != nil {
		return b, err
	}
	if r.ShopID == nil && b.shopID != 0 {
		shopID := b.shopID
		r.ShopID = &shopID
	}
	if b.shopID != 0 {
		if b.shop, err = tx.Shop(ctx, b.shopID); err != nil {
			return b, err
		}
	}
	return b, nil
}

// matchItems matches r's items against its client's catalog, clears the
// points of an earlier evaluation and moves r to matched.
func (s *Service) matchItems(ctx context.Context, r *receipt.Receipt, actor string) ([]rules.Line, error) {
	cat, err := s.catalogFor(ctx, r.ClientID)
	if err != nil {
		return nil, err
	}
	lines := cat.match(r.Items)
	for i := range r.Items {
		r.Items[i].PointsKopecks, r.Items[i].PointsReason = 0, ""
	}
	r.ItemsChanged = true
	r.PointsKopecks = 0
	matched := 0
	for _, l := range lines {
		if l.SKU != "" {
			matched++
		}
	}
	err = s.transition(r, receipt.Matched, actor, "items_matched",
		map[string]any{"lines": len(lines), "matched": matched, "catalog_version": cat.version})
	return lines, err
}

// rulesFor returns the rules version that applies to the sale r. Where
// none does it settles r instead and reports ok false: rejected outside
// the program's dates, to a moderator before the first rules took effect,
// or (approved there already) the first rules, or no points without any.
func (s *Service) rulesFor(ctx context.Context, tx Tx, r *receipt.Receipt, prog Program, actor string, approved bool) (rules.Rules, int, bool, error) {
	// Outside the program's dates no rules version applies, whatever
	// versions exist: rejected as such, never sent to a moderator.
	if rules.OutsideProgram(prog.Program, r.PurchasedAt) {
		for i := range r.Items {
			r.Items[i].PointsReason = rules.ReasonOutsideProgram
		}
		return rules.Rules{}, 0, false, s.transition(r, receipt.Rejected, actor, rules.ReasonOutsideProgram, map[string]any{"program_id": prog.ID})
	}
	ruleSet, version, ok, err := s.loadRules(ctx, tx, prog.ID, r.PurchasedAt, false)
	if err != nil {
		return ruleSet, version, false, err
	}
	if !ok && approved {
		// A moderator approved a purchase made within the program's dates
		// but before its first rules took effect: those first rules
		// apply. Sending it back to review would loop.
		if ruleSet, version, ok, err = s.loadRules(ctx, tx, prog.ID, r.PurchasedAt, true); err != nil {
			return ruleSet, version, false, err
		}
		if !ok {
			return ruleSet, version, false, s.transition(r, receipt.NoEligibleItems, actor, ReasonNoRules, map[string]any{"program_id": prog.ID})
		}
	}
	if !ok {
		return ruleSet, version, false, s.transition(r, receipt.NeedsReview, actor, ReasonRulesMissing, map[string]any{"program_id": prog.ID})
	}
	return ruleSet, version, true, nil
}

// credit is a sale on its way to the ledger: the evaluation's input and
// what settle needs besides.
type credit struct {
	tx       Tx
	ledger   ledger.Postings
	r        *receipt.Receipt
	prog     Program
	actor    string
	version  int
	shopID   int64
	uploaded time.Time
	day      time.Time
	in       rules.Input
	// budgetLocked: in.BudgetKopecks was read under the budget lock.
	budgetLocked bool
	// checked: the anomaly check passed, or does not apply (approved).
	checked bool
	// approved: a moderator approved the receipt out of needs_review; a
	// budget short of it then pays what it can rather than sending it
	// back to review.
	approved bool
	// several: the sale is evaluated against more than one program.
	several bool
}

// newCredit locks the caps and reads what they and the budget leave for
// r into the evaluation's input.
func (s *Service) newCredit(ctx context.Context, tx Tx, r *receipt.Receipt, prog Program, b buyer, lines []rules.Line, ruleSet rules.Rules, version int, now time.Time) (*credit, error) {
	// The cap windows are read under locks on what they count (the
	// participant, and the shop when the rules cap it), held to commit, so
	// two receipts of one participant or shop cannot both spend the same
	// room. The budget is not locked here: Post locks the budget account
	// and refuses to overdraw it. Whenever the budget would decide the
	// amount (it cut the points, or Post refused them) the receipt is
	// evaluated again under the budget lock, so the outcome is the one a
	// locked read would give. One program's credits thus serialize only
	// from the budget update to commit, not through the whole evaluation.
	if err := tx.LockCaps(ctx, prog.ID, r.ParticipantID, b.shopID, ruleSet.Caps.ShopDay > 0); err != nil {
		return nil, err
	}
	budget, err := s.ledger.Balance(ctx, ledger.BudgetAccount(prog.ClientID, prog.ID))
	if err != nil {
		return nil, err
	}
	day := dateOf(r.PurchasedAt)
	counters, err := tx.Earned(ctx, prog.ID, r.ParticipantID, b.shopID, day)
	if err != nil {
		return nil, err
	}
	uploaded := r.CreatedAt
	if uploaded.IsZero() {
		uploaded = now
	}
	return &credit{
		tx: tx, ledger: s.ledger, r: r, prog: prog, version: version, shopID: b.shopID, uploaded: uploaded, day: day,
		in: rules.Input{
			Now: now, Rules: ruleSet, Program: prog.Program, Participant: b.participant, Shop: b.shop,
			Receipt: rules.Receipt{Operation: r.Operation, PurchasedAt: r.PurchasedAt, UploadedAt: uploaded,
				SellerINN: r.SellerINN, KKTRegNumber: r.KKTRegNumber, FN: r.FN, Address: r.RetailAddress},
			Lines: lines, Earned: counters, BudgetKopecks: budget,
		},
	}, nil
}

// lockBudget re-reads the budget under its lock, held to commit.
func (c *credit) lockBudget(ctx context.Context) error {
	var err error
	c.in.BudgetKopecks, err = c.ledger.LockBudget(ctx, c.prog.ClientID, c.prog.ID)
	c.budgetLocked = err == nil
	return err
}

// outcome is what one program gives a sale: the receipt status it leads
// to, its reason, the evaluation and the event data.
type outcome struct {
	prog    Program
	version int
	status  receipt.Status
	reason  string
	res     rules.Result
	pending bool
	// anomaly: the anomaly check held the receipt (nothing was posted).
	anomaly bool
	data    map[string]any
}

// result is o as stored per (receipt, program).
func (o outcome) result() ProgramResult {
	pr := ProgramResult{ProgramID: o.prog.ID, Status: o.status, Reason: o.reason, RuleVersion: o.version, Pending: o.pending}
	if o.status == receipt.Credited {
		pr.PointsKopecks = o.res.TotalKopecks
	}
	if o.version > 0 {
		res := o.res
		pr.Evaluation = &res
	}
	return pr
}

// settle evaluates c and settles its receipt: rejected, no points, to a
// moderator (anomaly), or credited; and records the program's result.
func (s *Service) settle(ctx context.Context, c *credit) error {
	o, err := s.decide(ctx, c)
	if err != nil {
		return err
	}
	if err := c.tx.SaveResults(ctx, c.r, []ProgramResult{o.result()}); err != nil {
		return err
	}
	return s.apply(c.r, c.actor, o)
}

// decide evaluates c and, when it earns, runs the anomaly check (unless
// c.checked) and posts the credit. Whenever the budget decides the amount
// it evaluates again under the budget lock. It changes nothing on the
// receipt: apply does.
func (s *Service) decide(ctx context.Context, c *credit) (outcome, error) {
	for {
		res := rules.Evaluate(c.in)
		if !c.budgetLocked && budgetCut(res) {
			// The budget decides the amount: decide it on the locked
			// balance, as every credit did before, not on a read that
			// may be stale.
			if err := c.lockBudget(ctx); err != nil {
				return outcome{}, err
			}
			continue
		}
		o := outcome{prog: c.prog, version: c.version, res: res,
			data: map[string]any{"program_id": c.prog.ID, "rule_version": c.version, "evaluation": res}}
		if c.holdsForBudget(res) {
			return c.budgetHold(o), nil
		}
		if !res.Eligible {
			o.status, o.reason = receipt.Rejected, res.Reason
			return o, nil
		}
		if res.TotalKopecks == 0 {
			o.status, o.reason = receipt.NoEligibleItems, "no_eligible_items"
			if len(res.Caps) > 0 {
				o.reason = res.Caps[len(res.Caps)-1].Cap
				if o.reason == rules.CapBudget {
					// The program pauses crediting at zero: the seller reads
					// that, not a bare «budget exhausted».
					o.reason = ReasonBudgetPaused
				} else {
					o.reason = ReasonPointsCapped
				}
			}
			return o, nil
		}
		if !c.checked {
			a, reason, err := s.anomaly(ctx, c)
			if err != nil {
				return o, err
			}
			if reason != "" {
				o.status, o.reason, o.anomaly = receipt.NeedsReview, reason, true
				o.data["activity"] = a
				o.data["proposed_kopecks"] = res.TotalKopecks
				return o, nil
			}
			// The anomaly check does not depend on the amount: once is enough.
			c.checked = true
		}
		o.pending = c.prog.Crediting == "period_close"
		switch _, err := c.ledger.Post(ctx, c.transaction(res, o.pending)); {
		case err == nil, errors.Is(err, ledger.ErrAlreadyPosted):
		case errors.Is(err, ledger.ErrBudgetExhausted) && !c.budgetLocked:
			// The balance read above was spent meanwhile (or never was
			// there). Take the budget lock, as every credit of the program
			// did before, and evaluate again against what is left: the
			// receipt gets the budget's rest, or nothing.
			if err := c.lockBudget(ctx); err != nil {
				return o, err
			}
			continue
		case errors.Is(err, ledger.ErrBudgetExhausted):
			if c.prog.AtZero == AtZeroReview && !c.approved {
				return c.budgetHold(o), nil
			}
			o.res.Lines = slices.Clone(o.res.Lines)
			for i := range o.res.Lines {
				o.res.Lines[i].PointsKopecks, o.res.Lines[i].Reason = 0, rules.CapBudget
			}
			o.res.TotalKopecks = 0
			o.status, o.reason = receipt.NoEligibleItems, ReasonBudgetPaused
			return o, nil
		default:
			return o, err
		}
		o.status, o.reason = receipt.Credited, "points_credited"
		if o.pending {
			o.reason = "points_pending"
		}
		o.data["points_kopecks"] = res.TotalKopecks
		return o, nil
	}
}

// apply writes o's per-line points onto r's items and settles r.
func (s *Service) apply(r *receipt.Receipt, actor string, o outcome) error {
	setItems(r, o)
	if o.status == receipt.Credited {
		r.PointsKopecks = o.res.TotalKopecks
	}
	return s.transition(r, o.status, actor, o.reason, o.data)
}

// setItems writes o's line points and reasons onto r's items: a receipt
// the rules refuse carries the refusal on every line, one held for a
// moderator keeps the reasons and no points.
func setItems(r *receipt.Receipt, o outcome) {
	if !o.res.Eligible {
		for i := range r.Items {
			r.Items[i].PointsReason = o.res.Reason
		}
		return
	}
	for i, lr := range o.res.Lines {
		if i >= len(r.Items) {
			break
		}
		r.Items[i].PointsKopecks, r.Items[i].PointsReason = lr.PointsKopecks, lr.Reason
		if o.status != receipt.Credited {
			r.Items[i].PointsKopecks = 0
		}
	}
}

// anomaly runs the anomaly check on c's participant, shop and till: the
// activity and the reason it fires ("" if it does not).
func (s *Service) anomaly(ctx context.Context, c *credit) (rules.Activity, string, error) {
	r := c.r
	a, err := c.tx.Activity(ctx, r.ParticipantID, c.shopID, r.KKTRegNumber, c.uploaded, c.day)
	if err != nil {
		return a, "", err
	}
	return a, rules.CheckAnomaly(a, s.thresholds), nil
}

// transaction is the ledger credit of res for c's receipt. A receipt
// evaluated against several programs is credited once per program, each
// under a key naming the program.
func (c *credit) transaction(res rules.Result, pending bool) ledger.Transaction {
	r, prog := c.r, c.prog
	key := ledger.ReceiptKey(r.ID, c.version)
	if c.several {
		key = ReceiptProgramKey(r.ID, prog.ID, c.version)
	}
	return ledger.Transaction{
		IdempotencyKey: key, Kind: ledger.KindReceiptCredit,
		ClientID: prog.ClientID, ProgramID: prog.ID, ParticipantID: r.ParticipantID, ReceiptID: r.ID,
		OccurredOn: c.day, Memo: "покупка " + r.PurchasedAt.Format("02.01.2006"),
		Postings: ledger.Credit(prog.ClientID, prog.ID, r.ParticipantID, res.TotalKopecks, pending),
	}
}

// holdsForBudget reports whether c's receipt waits for a moderator
// because the budget, read under its lock, cut res's points and the
// program queues such receipts for review (not once a moderator approved
// it: then it gets what the budget pays).
func (c *credit) holdsForBudget(res rules.Result) bool {
	return c.prog.AtZero == AtZeroReview && !c.approved && c.budgetLocked && res.Eligible && budgetCut(res)
}

// budgetHold sends o's receipt to the moderation queue with the points it
// would earn were the budget there (proposed_kopecks), nothing posted.
func (c *credit) budgetHold(o outcome) outcome {
	proposed := o.res.TotalKopecks
	for _, h := range o.res.Caps {
		if h.Cap == rules.CapBudget {
			proposed += h.CutKopecks
		}
	}
	o.status, o.reason = receipt.NeedsReview, ReasonBudgetReview
	o.data["proposed_kopecks"] = proposed
	return o
}

// ReceiptProgramKey is the ledger idempotency key of a sale's credit in one
// of several programs it was evaluated against: once per (receipt,
// program, rules version).
func ReceiptProgramKey(receiptID string, programID int64, ruleVersion int) string {
	return fmt.Sprintf("receipt:%s:p%d:v%d", receiptID, programID, ruleVersion)
}

// budgetCut reports whether the budget cut res's points.
func budgetCut(res rules.Result) bool {
	for _, c := range res.Caps {
		if c.Cap == rules.CapBudget {
			return true
		}
	}
	return false
}

// reverse handles a return receipt: it finds the credited sale it undoes
// and takes back the points of the returned lines (pro rata by quantity;
// the rest of the sale's points, bonus included, once the sale has come back
// in full). A sale may be returned in several receipts: each reversal is
// keyed on the return receipt, earlier returns of the sale are counted line
// by line, and no sale is ever reversed beyond what it was credited.
//
// A return the participant's balance cannot cover goes to a moderator;
// approved, it takes back what the balance still holds (nothing left: it
// ends without points), so the approval settles it.
func (s *Service) reverse(ctx context.Context, tx Tx, r *receipt.Receipt, prog Program, actor string, approved bool) error {
	perLine := make([]int64, len(r.Items))
	// The same return sent through again (a retried task): report what it
	// already reversed, post nothing.
	prior, err := priorReversal(ctx, tx, r.ParticipantID, r.ID)
	if err != nil {
		return err
	}
	if prior.ok {
		return s.reversedBefore(ctx, tx, r, actor, prior, perLine)
	}
	found, amount, err := s.findSale(ctx, tx, r, perLine)
	if err != nil {
		return err
	}
	if found == nil {
		for i := range r.Items {
			r.Items[i].PointsReason = ReasonReturnNoSale
		}
		return s.transition(r, receipt.NoEligibleItems, actor, ReasonReturnNoSale, nil)
	}
	r.ProgramID = &found.ProgramID
	shares, err := tx.SalePrograms(ctx, found.ID)
	if err != nil {
		return err
	}
	if len(shares) > 1 {
		return s.reverseSeveral(ctx, tx, r, found, shares, amount, perLine, actor, approved)
	}
	data := map[string]any{"sale_receipt_id": found.ID, "reversed_kopecks": amount}
	from, err := s.reversalAccount(ctx, tx, r, prog, found, amount)
	if err != nil {
		return err
	}
	t := ledger.Transaction{
		IdempotencyKey: returnKey(found.ID, r.ID), Kind: ledger.KindReversal,
		ClientID: prog.ClientID, ProgramID: found.ProgramID, ParticipantID: r.ParticipantID, ReceiptID: r.ID,
		OccurredOn: dateOf(found.PurchasedAt), Memo: "возврат от " + r.PurchasedAt.Format("02.01.2006"),
		Postings: []ledger.Posting{
			{Account: from, AmountKopecks: -amount},
			{Account: ledger.BudgetAccount(prog.ClientID, found.ProgramID), AmountKopecks: amount},
		},
	}
	switch _, err := s.ledger.Post(ctx, t); {
	case err == nil, errors.Is(err, ledger.ErrAlreadyPosted):
		// ErrAlreadyPosted: this very return reversed this sale already.
	case errors.Is(err, ledger.ErrInsufficientBalance) && !approved:
		return s.transition(r, receipt.NeedsReview, actor, ReasonReturnNoBalance, data)
	case errors.Is(err, ledger.ErrInsufficientBalance):
		return s.reverseWhatIsLeft(ctx, r, actor, found.ID, t, perLine, data)
	default:
		return err
	}
	return s.reversed(r, actor, found.ID, amount, perLine)
}

// reversedBefore reports on r the reversal it posted before (prior) of
// its sale, posting nothing.
func (s *Service) reversedBefore(ctx context.Context, tx Tx, r *receipt.Receipt, actor string, prior reversalRecord, perLine []int64) error {
	sale, err := tx.Sale(ctx, prior.saleID)
	if err != nil {
		return err
	}
	if err := loadReturned(ctx, tx, r.ParticipantID, &sale, prior.txID); err != nil {
		return err
	}
	returnAmount(r, &sale, perLine)
	r.ProgramID = &sale.ProgramID
	return s.reversed(r, actor, sale.ID, prior.amount, perLine)
}

// findSale returns the first of the participant's return candidates that
// the return r undoes, with the points it takes back (perLine receives
// each line's share); nil if none does. Each candidate is locked before
// what was already returned of it is read.
func (s *Service) findSale(ctx context.Context, tx Tx, r *receipt.Receipt, perLine []int64) (*Sale, int64, error) {
	sales, err := tx.ReturnCandidates(ctx, r.ParticipantID, r.KKTRegNumber, r.SellerINN, r.PurchasedAt, s.returnWindow)
	if err != nil {
		return nil, 0, err
	}
	for i := range sales {
		// Serialize returns of one sale: what was already returned is read
		// under the sale's row lock.
		if err := tx.LockSale(ctx, sales[i].ID); err != nil {
			return nil, 0, err
		}
		if err := loadReturned(ctx, tx, r.ParticipantID, &sales[i], 0); err != nil {
			return nil, 0, err
		}
		if a, ok := returnAmount(r, &sales[i], perLine); ok && a > 0 {
			return &sales[i], a, nil
		}
	}
	return nil, 0, nil
}

// reversalAccount is the participant account a reversal of amount takes
// the sale's points from: the pending one when the sale was credited there
// and it still holds amount, else the available one.
func (s *Service) reversalAccount(ctx context.Context, tx Tx, r *receipt.Receipt, prog Program, sale *Sale, amount int64) (ledger.Account, error) {
	from := ledger.AvailableAccount(prog.ClientID, sale.ProgramID, r.ParticipantID)
	kind, err := tx.CreditedTo(ctx, sale.ID)
	if err != nil {
		return from, err
	}
	if kind == ledger.ParticipantPending {
		pend := ledger.PendingAccount(prog.ClientID, sale.ProgramID, r.ParticipantID)
		bal, err := s.ledger.Balance(ctx, pend)
		if err != nil {
			return from, err
		}
		if bal >= amount {
			from = pend
		}
	}
	return from, nil
}

// reverseWhatIsLeft settles an approved return the participant's balance
// cannot cover: it posts t scaled down to what the account still holds, or,
// when nothing is left, ends r without points.
func (s *Service) reverseWhatIsLeft(ctx context.Context, r *receipt.Receipt, actor, saleID string, t ledger.Transaction, perLine []int64, data map[string]any) error {
	amount := t.Postings[1].AmountKopecks
	left, err := s.ledger.Balance(ctx, t.Postings[0].Account)
	if err != nil {
		return err
	}
	if left <= 0 {
		for i := range r.Items {
			r.Items[i].PointsReason = ReasonReturnNothingLeft
		}
		return s.transition(r, receipt.NoEligibleItems, actor, ReasonReturnNothingLeft, data)
	}
	scaleLines(perLine, amount, left)
	amount = left
	t.Postings[0].AmountKopecks, t.Postings[1].AmountKopecks = -amount, amount
	if _, err := s.ledger.Post(ctx, t); err != nil {
		return err
	}
	return s.reversed(r, actor, saleID, amount, perLine)
}

// scaleLines scales the per-line amounts of a reversal of total to one of
// part (0 < part < total): each line its share rounded down, and the
// kopecks the rounding lost (fewer than the lines with an amount) back one
// each to the first lines that had one, so the lines keep their share of
// the total (a receipt bonus is no line's).
func scaleLines(perLine []int64, total, part int64) {
	had := make([]bool, len(perLine))
	var lines, sum int64
	for i, v := range perLine {
		had[i] = v > 0
		lines += v
		perLine[i] = v * part / total
		sum += perLine[i]
	}
	want := lines * part / total
	for i := 0; sum < want && i < len(perLine); i++ {
		if had[i] {
			perLine[i]++
			sum++
		}
	}
}

// reversed records on the return receipt that it took amount back from the
// sale saleID.
func (s *Service) reversed(r *receipt.Receipt, actor, saleID string, amount int64, perLine []int64) error {
	for i := range r.Items {
		r.Items[i].PointsKopecks, r.Items[i].PointsReason = -perLine[i], "return_reversed"
	}
	r.PointsKopecks = -amount
	return s.transition(r, receipt.Credited, actor, "return_reversed",
		map[string]any{"sale_receipt_id": saleID, "reversed_kopecks": amount})
}

// returnKey is the idempotency key of the reversal a return receipt makes
// of a sale: one per return receipt, so a sale returned unit by unit in
// several receipts is reversed by each of them, and a return processed
// twice reverses once. (ledger.ReversalKey, "reversal:<sale id>", is the
// older one-reversal-per-sale key; a sale reversed under it counts as
// fully reversed.)
func returnKey(saleID, returnID string) string {
	return ledger.ReversalKey(saleID) + ":return:" + returnID
}

// returnAmount decides whether the return r undoes (part of what is left
// of) sale and how many points it takes back; perLine receives the share of
// each return line. Every returned line must be a line of the sale (same
// SKU, else same GTIN, else same printed name) with at least that quantity
// not yet returned, and the return's sum must not exceed what is left of
// the sale's. A line's points are taken back pro rata by quantity,
// cumulatively (so returning every unit takes back exactly the line's
// points); the return that completes the sale takes back all that is left,
// bonus included. The amount never exceeds the sale's points not yet
// reversed.
func returnAmount(r *receipt.Receipt, sale *Sale, perLine []int64) (int64, bool) {
	if len(r.Items) == 0 || r.SumKopecks > sale.SumKopecks-sale.ReturnedSum {
		return 0, false
	}
	left := make([]int64, len(sale.Items))
	for i, it := range sale.Items {
		left[i] = it.QuantityMilli - sale.ReturnedQty[i]
	}
	var total int64
	for i, it := range r.Items {
		j := assignLine(sale.Items, left, it.SKUID, it.GTIN, it.Name, it.QuantityMilli)
		if j < 0 {
			return 0, false
		}
		si := sale.Items[j]
		before := si.QuantityMilli - left[j]
		left[j] -= it.QuantityMilli
		perLine[i] = proRata(si.Points, before+it.QuantityMilli, si.QuantityMilli) - proRata(si.Points, before, si.QuantityMilli)
		total += perLine[i]
	}
	remaining := sale.Points - sale.Reversed
	complete := sale.ReturnedSum+r.SumKopecks == sale.SumKopecks
	if !complete {
		complete = true
		for _, l := range left {
			if l > 0 {
				complete = false
				break
			}
		}
	}
	if complete {
		// The whole sale has come back: the rest of its points, bonus too.
		total = remaining
	}
	return min(total, remaining), true
}

// assignLine picks the sale line a returned line is (same SKU, else GTIN,
// else printed name) with at least qty left, consuming nothing; -1 if none.
func assignLine(items []SaleItem, left []int64, skuID *int64, gtin, name string, qty int64) int {
	for k, si := range items {
		if left[k] < qty {
			continue
		}
		if (skuID != nil && si.SKUID != nil && *skuID == *si.SKUID) ||
			(gtin != "" && gtin == si.GTIN) || (name != "" && name == si.Name) {
			return k
		}
	}
	return -1
}

// proRata is points × part / whole, rounded down.
func proRata(points, part, whole int64) int64 {
	if whole <= 0 {
		return 0
	}
	if part >= whole {
		return points
	}
	return points * part / whole
}

// MatchLines matches items against the client's catalog as Process would
// (the cached matcher), for a dry run of the rules: the rule lines, the
// items left untouched.
func (s *Service) MatchLines(ctx context.Context, clientID int64, items []receipt.Item) ([]rules.Line, error) {
	cat, err := s.catalogFor(ctx, clientID)
	if err != nil {
		return nil, err
	}
	return cat.match(slices.Clone(items)), nil
}
