package points

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/program"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/rules"
)

// where is the buyer as program eligibility sees them: role, shop, the
// shop's chain, and the shop's region (else the participant's).
func (b buyer) where() program.Where {
	w := program.Where{Role: b.participant.Role, ShopID: b.shopID, Region: b.participant.Region}
	if b.shop != nil {
		w.Chain = b.shop.Chain
		if b.shop.Region != "" {
			w.Region = b.shop.Region
		}
	}
	return w
}

// eligiblePrograms lists, oldest first, the client's receipt programs
// running on r's purchase date (test ones only for testers) whose
// eligibility b meets.
func eligiblePrograms(ctx context.Context, tx Tx, r *receipt.Receipt, b buyer) ([]Program, error) {
	all, err := tx.ReceiptPrograms(ctx, r.ClientID, r.PurchasedAt, b.participant.IsTest)
	if err != nil {
		return nil, err
	}
	w := b.where()
	out := all[:0]
	for _, p := range all {
		if p.Eligibility.Admits(w) == "" {
			out = append(out, p)
		}
	}
	return out, nil
}

// processSeveral evaluates the sale r against every program in progs and
// credits it once per program (each under its own ledger key), then
// settles r on the sum. The anomaly check runs once, before the first
// credit: when it fires nothing is posted and r goes to a moderator, whose
// approval evaluates every program again. r's program becomes the first
// that credited (else the first evaluated); every program's outcome is
// stored (Tx.SaveResults) and named in the event.
func (s *Service) processSeveral(ctx context.Context, tx Tx, r *receipt.Receipt, progs []Program, b buyer,
	lines []rules.Line, actor string, approved bool, now time.Time) error {
	checked := approved
	outs := make([]outcome, 0, len(progs))
	for _, prog := range progs {
		ruleSet, version, o, ok, err := s.rulesOf(ctx, tx, r, prog, approved)
		if err != nil {
			return err
		}
		if !ok {
			outs = append(outs, o)
			continue
		}
		lacking, err := s.lackingConsents(ctx, r, prog, approved)
		if err != nil {
			return err
		}
		if len(lacking) > 0 {
			// Not credited in this program; the others credit as ever.
			o.status, o.reason = receipt.NeedsReview, ReasonConsentRequired
			o.data["consents"] = lacking
			outs = append(outs, o)
			continue
		}
		c, err := s.newCredit(ctx, tx, r, prog, b, lines, ruleSet, version, now)
		if err != nil {
			return err
		}
		c.actor, c.checked, c.approved, c.several = actor, checked, approved, true
		if o, err = s.decide(ctx, c); err != nil {
			return err
		}
		if o.anomaly {
			r.ProgramID = &prog.ID
			return s.apply(r, actor, o)
		}
		checked = c.checked
		outs = append(outs, o)
	}
	results := make([]ProgramResult, len(outs))
	for i, o := range outs {
		results[i] = o.result()
	}
	if err := tx.SaveResults(ctx, r, results); err != nil {
		return err
	}
	return s.settleSeveral(r, actor, outs)
}

// rulesOf returns the rules version of prog in force on r's purchase date
// or, where none is (ok false), the outcome that stands for it: to a
// moderator, or after their approval the first version, or no points
// without any.
func (s *Service) rulesOf(ctx context.Context, tx Tx, r *receipt.Receipt, prog Program, approved bool) (rules.Rules, int, outcome, bool, error) {
	o := outcome{prog: prog, data: map[string]any{"program_id": prog.ID}}
	ruleSet, version, ok, err := s.loadRules(ctx, tx, prog.ID, r.PurchasedAt, false)
	if err != nil {
		return ruleSet, 0, o, false, err
	}
	if !ok && approved {
		if ruleSet, version, ok, err = s.loadRules(ctx, tx, prog.ID, r.PurchasedAt, true); err != nil {
			return ruleSet, 0, o, false, err
		}
		if !ok {
			o.status, o.reason = receipt.NoEligibleItems, ReasonNoRules
			return ruleSet, 0, o, false, nil
		}
	}
	if !ok {
		o.status, o.reason = receipt.NeedsReview, ReasonRulesMissing
		return ruleSet, 0, o, false, nil
	}
	return ruleSet, version, o, true, nil
}

// settleSeveral settles r on the outcomes of its programs: credited with
// their sum when any credited (each line its points summed over the
// programs), else to a moderator when a program lacks rules, else as the
// first program decided.
func (s *Service) settleSeveral(r *receipt.Receipt, actor string, outs []outcome) error {
	summary := make([]map[string]any, len(outs))
	var credited []outcome
	var total int64
	allPending := true
	for i, o := range outs {
		pts := int64(0)
		if o.status == receipt.Credited {
			credited = append(credited, o)
			pts = o.res.TotalKopecks
			total += pts
			allPending = allPending && o.pending
		}
		summary[i] = map[string]any{"program_id": o.prog.ID, "program": o.prog.Name, "status": string(o.status),
			"reason": o.reason, "rule_version": o.version, "points_kopecks": pts}
	}
	data := map[string]any{"programs": summary}
	if len(credited) > 0 {
		first := credited[0]
		r.ProgramID = &first.prog.ID
		for i := range r.Items {
			r.Items[i].PointsKopecks, r.Items[i].PointsReason = 0, ""
			for _, o := range credited {
				if i < len(o.res.Lines) {
					lr := o.res.Lines[i]
					r.Items[i].PointsKopecks += lr.PointsKopecks
					if r.Items[i].PointsReason == "" && lr.PointsKopecks > 0 {
						r.Items[i].PointsReason = lr.Reason
					}
				}
			}
			if r.Items[i].PointsReason == "" && i < len(first.res.Lines) {
				r.Items[i].PointsReason = first.res.Lines[i].Reason
			}
		}
		r.PointsKopecks = total
		reason := "points_credited"
		if allPending {
			reason = "points_pending"
		}
		data["points_kopecks"] = total
		return s.transition(r, receipt.Credited, actor, reason, data)
	}
	pick := outs[0]
	for _, o := range outs {
		if o.status == receipt.NeedsReview {
			pick = o
			break
		}
	}
	r.ProgramID = &pick.prog.ID
	setItems(r, pick)
	return s.transition(r, pick.status, actor, pick.reason, data)
}

// reverseSeveral takes back amount from a sale credited in several
// programs: each program its share in proportion to what it credited (the
// rounding's kopecks to the first programs), from the account it credited
// (pending while that still holds it), back to its budget, one reversal per
// program keyed on the return and the program. Balances are checked before
// anything is posted, so a return the balances cannot cover posts nothing
// and goes to a moderator; approved, each program takes back what its
// account still holds.
func (s *Service) reverseSeveral(ctx context.Context, tx Tx, r *receipt.Receipt, sale *Sale, shares []SaleProgram,
	amount int64, perLine []int64, actor string, approved bool) error {
	var total int64
	for _, sh := range shares {
		total += sh.Points
	}
	parts := make([]int64, len(shares))
	var given int64
	for i, sh := range shares {
		parts[i] = amount * sh.Points / total
		given += parts[i]
	}
	for i := 0; given < amount; i = (i + 1) % len(shares) {
		if parts[i] < shares[i].Points {
			parts[i]++
			given++
		}
	}
	from := make([]ledger.Account, len(shares))
	short := false
	for i, sh := range shares {
		from[i] = ledger.AvailableAccount(sh.ClientID, sh.ProgramID, r.ParticipantID)
		if sh.Pending {
			pend := ledger.PendingAccount(sh.ClientID, sh.ProgramID, r.ParticipantID)
			bal, err := s.ledger.Balance(ctx, pend)
			if err != nil {
				return err
			}
			if bal >= parts[i] {
				from[i] = pend
			}
		}
		bal, err := s.ledger.Balance(ctx, from[i])
		if err != nil {
			return err
		}
		if bal < parts[i] {
			short = true
			parts[i] = max(bal, 0)
		}
	}
	data := map[string]any{"sale_receipt_id": sale.ID, "reversed_kopecks": amount}
	if short && !approved {
		return s.transition(r, receipt.NeedsReview, actor, ReasonReturnNoBalance, data)
	}
	var taken int64
	for _, p := range parts {
		taken += p
	}
	if taken == 0 {
		for i := range r.Items {
			r.Items[i].PointsReason = ReasonReturnNothingLeft
		}
		return s.transition(r, receipt.NoEligibleItems, actor, ReasonReturnNothingLeft, data)
	}
	if taken < amount {
		scaleLines(perLine, amount, taken)
	}
	for i, sh := range shares {
		if parts[i] == 0 {
			continue
		}
		t := ledger.Transaction{
			IdempotencyKey: fmt.Sprintf("%s:p%d", returnKey(sale.ID, r.ID), sh.ProgramID), Kind: ledger.KindReversal,
			ClientID: sh.ClientID, ProgramID: sh.ProgramID, ParticipantID: r.ParticipantID, ReceiptID: r.ID,
			OccurredOn: dateOf(sale.PurchasedAt), Memo: "возврат от " + r.PurchasedAt.Format("02.01.2006"),
			Postings: []ledger.Posting{
				{Account: from[i], AmountKopecks: -parts[i]},
				{Account: ledger.BudgetAccount(sh.ClientID, sh.ProgramID), AmountKopecks: parts[i]},
			},
		}
		if _, err := s.ledger.Post(ctx, t); err != nil && !errors.Is(err, ledger.ErrAlreadyPosted) {
			return err
		}
	}
	return s.reversed(r, actor, sale.ID, taken, perLine)
}
