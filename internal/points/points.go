package points

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/catalog"
	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/catalogdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/rules"
)

// Service processes verified receipts. It is safe for concurrent use; it
// caches a matcher per client (rebuilt when catalog_versions moves) and
// parsed rule versions (immutable rows).
type Service struct {
	clock        func() time.Time
	thresholds   rules.Thresholds
	returnWindow time.Duration
	actor        string
	log          *slog.Logger

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

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// New returns a Service.
func New(opts ...Option) *Service {
	s := &Service{
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

func (s *Service) catalogFor(ctx context.Context, tx pgx.Tx, clientID int64) (*clientCatalog, error) {
	v, err := catalogdb.Version(ctx, tx, clientID)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	c := s.catalogs[clientID]
	s.mu.Unlock()
	if c != nil && c.version == v {
		return c, nil
	}
	cat, err := catalogdb.Load(ctx, tx, clientID)
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

func newClientCatalog(cat catalogdb.Catalog) *clientCatalog {
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
// no_eligible_items, rejected or needs_review, writing everything through
// tx. A receipt in any other status is left alone (a retried task), so
// calling Process again after a commit changes nothing.
func (s *Service) Process(ctx context.Context, tx pgx.Tx, r *receipt.Receipt) error {
	if r.Status != receipt.Verified {
		return nil
	}
	return s.process(ctx, tx, r, s.actor, false)
}

// ProcessApproved credits a receipt a moderator approved out of
// needs_review: the same evaluation without the anomaly check. actor is
// "user:<id>".
func (s *Service) ProcessApproved(ctx context.Context, tx pgx.Tx, r *receipt.Receipt, actor string) error {
	if r.Status != receipt.NeedsReview {
		return fmt.Errorf("receipt %s is %s, not needs_review", r.ID, r.Status)
	}
	return s.process(ctx, tx, r, actor, true)
}

func (s *Service) transition(r *receipt.Receipt, to receipt.Status, actor, reason string, data map[string]any) error {
	if data == nil {
		data = map[string]any{}
	}
	data["message"] = message(reason)
	return r.Transition(to, actor, reason, data)
}

func (s *Service) process(ctx context.Context, tx pgx.Tx, r *receipt.Receipt, actor string, approved bool) error {
	now := s.clock()
	participant, shopID, err := loadParticipant(ctx, tx, r.ParticipantID)
	if err != nil {
		return err
	}
	if r.ShopID == nil && shopID != 0 {
		r.ShopID = &shopID
	}
	var shop *rules.Shop
	if shopID != 0 {
		if shop, err = loadShop(ctx, tx, shopID); err != nil {
			return err
		}
	}
	cat, err := s.catalogFor(ctx, tx, r.ClientID)
	if err != nil {
		return err
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
	if err := s.transition(r, receipt.Matched, actor, "items_matched",
		map[string]any{"lines": len(lines), "matched": matched, "catalog_version": cat.version}); err != nil {
		return err
	}

	prog, ok, err := findProgram(ctx, tx, r.ClientID, r.ProgramID, r.PurchasedAt)
	if err != nil {
		return err
	}
	if !ok {
		return s.transition(r, receipt.Rejected, actor, ReasonNoProgram, nil)
	}
	r.ProgramID = &prog.ID
	if r.Operation == 2 {
		return s.reverse(ctx, tx, r, prog, actor)
	}
	ruleSet, version, ok, err := s.loadRules(ctx, tx, prog.ID, r.PurchasedAt)
	if err != nil {
		return err
	}
	if !ok {
		return s.transition(r, receipt.NeedsReview, actor, ReasonRulesMissing, map[string]any{"program_id": prog.ID})
	}
	// Serialize this program's credits from here to commit.
	budget, err := ledgerdb.LockBudget(ctx, tx, prog.ClientID, prog.ID)
	if err != nil {
		return err
	}
	day := dateOf(r.PurchasedAt)
	counters, err := earned(ctx, tx, prog.ID, r.ParticipantID, shopID, day)
	if err != nil {
		return err
	}
	uploaded := r.CreatedAt
	if uploaded.IsZero() {
		uploaded = now
	}
	res := rules.Evaluate(rules.Input{
		Now: now, Rules: ruleSet, Program: prog.Program, Participant: participant, Shop: shop,
		Receipt: rules.Receipt{Operation: r.Operation, PurchasedAt: r.PurchasedAt, UploadedAt: uploaded,
			SellerINN: r.SellerINN, KKTRegNumber: r.KKTRegNumber, Address: r.RetailAddress},
		Lines: lines, Earned: counters, BudgetKopecks: budget,
	})
	data := map[string]any{"program_id": prog.ID, "rule_version": version, "evaluation": res}
	if !res.Eligible {
		for i := range r.Items {
			r.Items[i].PointsReason = res.Reason
		}
		return s.transition(r, receipt.Rejected, actor, res.Reason, data)
	}
	for i, lr := range res.Lines {
		r.Items[i].PointsKopecks, r.Items[i].PointsReason = lr.PointsKopecks, lr.Reason
	}
	if res.TotalKopecks == 0 {
		reason := "no_eligible_items"
		if len(res.Caps) > 0 {
			reason = res.Caps[len(res.Caps)-1].Cap
			if reason != rules.CapBudget {
				reason = ReasonPointsCapped
			}
		}
		return s.transition(r, receipt.NoEligibleItems, actor, reason, data)
	}
	if !approved {
		a, err := activity(ctx, tx, r.ParticipantID, shopID, r.KKTRegNumber, uploaded, r.PurchasedAt)
		if err != nil {
			return err
		}
		if reason := rules.CheckAnomaly(a, s.thresholds); reason != "" {
			for i := range r.Items {
				r.Items[i].PointsKopecks = 0
			}
			data["activity"] = a
			data["proposed_kopecks"] = res.TotalKopecks
			return s.transition(r, receipt.NeedsReview, actor, reason, data)
		}
	}
	pending := prog.Crediting == "period_close"
	t := ledger.Transaction{
		IdempotencyKey: ledger.ReceiptKey(r.ID, version), Kind: ledger.KindReceiptCredit,
		ClientID: prog.ClientID, ProgramID: prog.ID, ParticipantID: r.ParticipantID, ReceiptID: r.ID,
		OccurredOn: day, Memo: "покупка " + r.PurchasedAt.Format("02.01.2006"),
		Postings: ledger.Credit(prog.ClientID, prog.ID, r.ParticipantID, res.TotalKopecks, pending),
	}
	switch _, err := ledgerdb.Post(ctx, tx, t); {
	case err == nil, errors.Is(err, ledger.ErrAlreadyPosted):
	case errors.Is(err, ledger.ErrBudgetExhausted):
		for i := range r.Items {
			r.Items[i].PointsKopecks, r.Items[i].PointsReason = 0, rules.CapBudget
		}
		return s.transition(r, receipt.NoEligibleItems, actor, rules.CapBudget, data)
	default:
		return err
	}
	r.PointsKopecks = res.TotalKopecks
	reason := "points_credited"
	if pending {
		reason = "points_pending"
	}
	data["points_kopecks"] = res.TotalKopecks
	return s.transition(r, receipt.Credited, actor, reason, data)
}

// reverse handles a return receipt: it finds the credited sale it undoes
// and takes that sale's points back (all of them when the whole sale comes
// back, else the points of the returned lines pro rata).
func (s *Service) reverse(ctx context.Context, tx pgx.Tx, r *receipt.Receipt, prog program, actor string) error {
	sales, err := returnCandidates(ctx, tx, r.ParticipantID, r.KKTRegNumber, r.SellerINN, r.PurchasedAt, s.returnWindow)
	if err != nil {
		return err
	}
	var found *sale
	var amount int64
	perLine := make([]int64, len(r.Items))
	for i := range sales {
		if a, ok := returnAmount(r, &sales[i], perLine); ok {
			found, amount = &sales[i], a
			break
		}
	}
	if found == nil || amount <= 0 {
		for i := range r.Items {
			r.Items[i].PointsReason = ReasonReturnNoSale
		}
		return s.transition(r, receipt.NoEligibleItems, actor, ReasonReturnNoSale, nil)
	}
	r.ProgramID = &found.ProgramID
	data := map[string]any{"sale_receipt_id": found.ID, "reversed_kopecks": amount}
	kind, err := creditedTo(ctx, tx, found.ID)
	if err != nil {
		return err
	}
	from := ledger.AvailableAccount(prog.ClientID, found.ProgramID, r.ParticipantID)
	if kind == string(ledger.ParticipantPending) {
		pend := ledger.PendingAccount(prog.ClientID, found.ProgramID, r.ParticipantID)
		bal, err := ledgerdb.AccountBalance(ctx, tx, pend)
		if err != nil {
			return err
		}
		if bal >= amount {
			from = pend
		}
	}
	t := ledger.Transaction{
		IdempotencyKey: ledger.ReversalKey(found.ID), Kind: ledger.KindReversal,
		ClientID: prog.ClientID, ProgramID: found.ProgramID, ParticipantID: r.ParticipantID, ReceiptID: r.ID,
		OccurredOn: dateOf(found.PurchasedAt), Memo: "возврат от " + r.PurchasedAt.Format("02.01.2006"),
		Postings: []ledger.Posting{
			{Account: from, AmountKopecks: -amount},
			{Account: ledger.BudgetAccount(prog.ClientID, found.ProgramID), AmountKopecks: amount},
		},
	}
	switch _, err := ledgerdb.Post(ctx, tx, t); {
	case err == nil:
	case errors.Is(err, ledger.ErrInsufficientBalance):
		return s.transition(r, receipt.NeedsReview, actor, ReasonReturnNoBalance, data)
	case errors.Is(err, ledger.ErrAlreadyPosted):
		// Another return took this sale back first.
		return s.transition(r, receipt.NoEligibleItems, actor, ReasonReturnNoSale, data)
	default:
		return err
	}
	for i := range r.Items {
		r.Items[i].PointsKopecks, r.Items[i].PointsReason = -perLine[i], "return_reversed"
	}
	r.PointsKopecks = -amount
	return s.transition(r, receipt.Credited, actor, "return_reversed", data)
}

// returnAmount decides whether the return r undoes sale and how many
// points it takes back; perLine receives the share of each return line.
// Every returned line must be a line of the sale (same SKU, else same GTIN,
// else same printed name) in no greater quantity, and the return's sum must
// not exceed the sale's.
func returnAmount(r *receipt.Receipt, sale *sale, perLine []int64) (int64, bool) {
	if r.SumKopecks > sale.SumKopecks || len(r.Items) == 0 {
		return 0, false
	}
	left := make([]int64, len(sale.Items))
	for i, it := range sale.Items {
		left[i] = it.QuantityMilli
	}
	var total int64
	for i, it := range r.Items {
		j := -1
		for k, si := range sale.Items {
			if left[k] < it.QuantityMilli {
				continue
			}
			same := (it.SKUID != nil && si.SKUID != nil && *it.SKUID == *si.SKUID) ||
				(it.GTIN != "" && it.GTIN == si.GTIN) || (it.Name != "" && it.Name == si.Name)
			if same {
				j = k
				break
			}
		}
		if j < 0 {
			return 0, false
		}
		si := sale.Items[j]
		left[j] -= it.QuantityMilli
		perLine[i] = 0
		if si.QuantityMilli > 0 {
			perLine[i] = si.Points * it.QuantityMilli / si.QuantityMilli
		}
		total += perLine[i]
	}
	if r.SumKopecks == sale.SumKopecks {
		// The whole sale came back: its bonus too.
		total = sale.Points
	}
	return total, true
}
