package program

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/fiscal"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/rules"
)

// DryReceipt is a receipt a dry run evaluates: a past one of the client's
// (its participant, shop and fiscal data) or lines typed in.
type DryReceipt struct {
	ReceiptID   string
	Participant *rules.Participant // nil: a generic active seller
	Shop        *rules.Shop
	Receipt     rules.Receipt
	Items       []receipt.Item
}

// Receipts finds the receipt a dry run evaluates (programdb.Store).
type Receipts interface {
	// DryReceipt returns the client's receipt id, or (id "") the client's
	// receipt with the QR's fiscal identity; ErrNoReceipt when the client
	// has none.
	DryReceipt(ctx context.Context, clientID int64, id string, qr *fiscal.Payload) (DryReceipt, error)
}

// Matcher matches receipt lines to the client's catalog
// (points.Service.MatchLines).
type Matcher interface {
	MatchLines(ctx context.Context, clientID int64, items []receipt.Item) ([]rules.Line, error)
}

// ErrNoReceipt: the dry run's receipt is not the client's, or unknown.
var ErrNoReceipt = apperr.New(apperr.NotFound, "dry_run_receipt_not_found",
	"Такого чека у клиента нет. Для чека, который ещё не загружали, введите его строки вручную.")

// DryInput says what to evaluate: one of ReceiptID, QR (a past receipt of
// the client with that fiscal identity) or Items with PurchasedAt. Draft,
// when set, is evaluated too as unsaved version 0.
type DryInput struct {
	ReceiptID   string
	QR          string
	Items       []receipt.Item
	PurchasedAt time.Time
	Draft       *rules.Rules
}

// Max lines typed into a dry run.
const MaxDryLines = 500

// DryLine is one line's outcome under one version.
type DryLine struct {
	LineNo        int    `json:"line_no"`
	Name          string `json:"name"`
	SKU           string `json:"sku,omitempty"`
	QuantityMilli int64  `json:"quantity_milli"`
	SumKopecks    int64  `json:"sum_kopecks"`
	PointsKopecks int64  `json:"points_kopecks"`
	Reason        string `json:"reason"`
	ReasonText    string `json:"reason_text"`
	PercentBP     int64  `json:"percent_bp,omitempty"`
	FixedKopecks  int64  `json:"fixed_per_unit_kopecks,omitempty"`
	FactorBP      int64  `json:"factor_bp,omitempty"`
	Promo         string `json:"promo,omitempty"`
}

// DryVersion is what one rules version would credit.
type DryVersion struct {
	Version       int                `json:"version"` // 0: the unsaved draft
	EffectiveFrom string             `json:"effective_from,omitempty"`
	InForce       bool               `json:"in_force"` // the version a real evaluation would use
	Eligible      bool               `json:"eligible"`
	Reason        string             `json:"reason,omitempty"`
	ReasonText    string             `json:"reason_text,omitempty"`
	TotalKopecks  int64              `json:"total_kopecks"`
	Lines         []DryLine          `json:"lines"`
	Bonus         *rules.BonusResult `json:"bonus,omitempty"`
	Caps          []rules.CapHit     `json:"caps,omitempty"`
	Description   rules.Description  `json:"description"`
}

// DryRun is what each version of a program's rules would credit a receipt.
type DryRun struct {
	ProgramID   int64        `json:"program_id"`
	ReceiptID   string       `json:"receipt_id,omitempty"`
	PurchasedAt string       `json:"purchased_at"`
	Notes       []string     `json:"notes"`
	Versions    []DryVersion `json:"versions"`
}

// Dry runs in evaluates nothing into the ledger: it shows, line by line
// with reasons, what every saved version of program id's rules (and the
// draft, if given) would credit the receipt, as if the program were live,
// with no points earned before in the cap windows and the budget not
// limiting.
func (s *Service) Dry(ctx context.Context, st access.Staff, id int64, in DryInput, recs Receipts, m Matcher) (DryRun, error) {
	p, versions, err := s.Rules(ctx, st, id)
	if err != nil {
		return DryRun{}, err
	}
	if in.Draft != nil {
		if err := CheckRules(*in.Draft); err != nil {
			return DryRun{}, errRules(err)
		}
	}
	out := DryRun{ProgramID: id, Notes: []string{
		"Расчёт как для работающей программы: лимиты — без учёта баллов, начисленных раньше; бюджет не ограничивает.",
	}}
	var dr DryReceipt
	switch {
	case in.ReceiptID != "" || in.QR != "":
		var qr *fiscal.Payload
		if in.ReceiptID == "" {
			pl, err := fiscal.Parse(in.QR)
			if err != nil {
				return out, &apperr.Error{Kind: apperr.Invalid, Code: "dry_run_qr_invalid", Field: "qr",
					Message: "Это не QR-код кассового чека (нужна строка вида t=…&s=…&fn=…&i=…&fp=…&n=1)."}
			}
			qr = &pl
		}
		if dr, err = recs.DryReceipt(ctx, p.ClientID, in.ReceiptID, qr); err != nil {
			return out, err
		}
		if len(dr.Items) == 0 {
			return out, &apperr.Error{Kind: apperr.Conflict, Code: "dry_run_no_items",
				Message: "У этого чека ещё нет строк из ФНС. Дождитесь проверки или введите строки вручную."}
		}
	case len(in.Items) > 0:
		if len(in.Items) > MaxDryLines {
			return out, &apperr.Error{Kind: apperr.Invalid, Code: "dry_run_too_many_lines", Field: "items",
				Message: "Слишком много строк: не больше 500."}
		}
		if in.PurchasedAt.IsZero() {
			return out, &apperr.Error{Kind: apperr.Invalid, Code: "dry_run_date_required", Field: "purchased_at",
				Message: "Укажите дату покупки."}
		}
		for i := range in.Items {
			it := &in.Items[i]
			it.LineNo = i + 1
			if it.QuantityMilli < 0 || it.SumKopecks < 0 || it.QuantityMilli > 1_000_000_000 || it.SumKopecks > 1_000_000_000_00 {
				return out, &apperr.Error{Kind: apperr.Invalid, Code: "dry_run_line_invalid", Field: "items",
					Message: "Строка " + strconv.Itoa(i+1) + ": количество и сумма — неотрицательные и разумного размера."}
			}
		}
		dr = DryReceipt{Items: in.Items, Receipt: rules.Receipt{Operation: 1, PurchasedAt: in.PurchasedAt, UploadedAt: in.PurchasedAt}}
		out.Notes = append(out.Notes, "Строки введены вручную: магазин продажи не проверяется, чек считается загруженным в день покупки.")
	default:
		return out, &apperr.Error{Kind: apperr.Invalid, Code: "dry_run_input_required",
			Message: "Вставьте QR-код чека, выберите прошлый чек или введите строки."}
	}
	lines, err := m.MatchLines(ctx, p.ClientID, dr.Items)
	if err != nil {
		return out, err
	}
	out.ReceiptID = dr.ReceiptID
	out.PurchasedAt = dr.Receipt.PurchasedAt.Format("2006-01-02 15:04")
	part := rules.Participant{Role: "seller", Status: "active", IsTest: true}
	if dr.Participant != nil {
		part = *dr.Participant
	}
	now := s.now()
	if dr.Receipt.UploadedAt.IsZero() {
		dr.Receipt.UploadedAt = now
	}
	day := time.Date(dr.Receipt.PurchasedAt.Year(), dr.Receipt.PurchasedAt.Month(), dr.Receipt.PurchasedAt.Day(), 0, 0, 0, 0, time.UTC)
	inForce, hasInForce := InForce(versions, day, false)
	eval := func(v int, from string, r rules.Rules) DryVersion {
		if dr.ReceiptID == "" {
			r.SellerCheck = "none"
		}
		prog := rules.Program{ID: p.ID, Status: string(Live), StartsOn: p.StartsOn, EndsOn: p.EndsOn, MaxReceiptAgeDays: p.MaxAgeDays}
		res := rules.Evaluate(rules.Input{Now: now, Rules: r, Program: prog, Participant: part, Shop: dr.Shop,
			Receipt: dr.Receipt, Lines: lines, BudgetKopecks: 1 << 50})
		dv := DryVersion{Version: v, EffectiveFrom: from, Eligible: res.Eligible, Reason: res.Reason,
			ReasonText: receipt.Message(res.Reason), TotalKopecks: res.TotalKopecks, Bonus: res.Bonus, Caps: res.Caps,
			Description: rules.Describe(r), InForce: v > 0 && hasInForce && v == inForce.Version}
		for i, lr := range res.Lines {
			it := dr.Items[i]
			dv.Lines = append(dv.Lines, DryLine{LineNo: it.LineNo, Name: it.Name, SKU: lr.SKU, QuantityMilli: it.QuantityMilli,
				SumKopecks: it.SumKopecks, PointsKopecks: lr.PointsKopecks, Reason: lr.Reason, ReasonText: receipt.Message(lr.Reason),
				PercentBP: lr.PercentBP, FixedKopecks: lr.FixedPerUnitKopecks, FactorBP: lr.FactorBP, Promo: lr.Promo})
		}
		return dv
	}
	for _, v := range versions {
		out.Versions = append(out.Versions, eval(v.Version, v.EffectiveFrom.Format(time.DateOnly), v.Rules))
	}
	if in.Draft != nil {
		out.Versions = append(out.Versions, eval(0, "", *in.Draft))
	}
	if !hasInForce {
		out.Notes = append(out.Notes, "На дату покупки ни одна сохранённая версия правил ещё не действовала.")
	}
	return out, nil
}

// Outcome is what one program gave a receipt (receipt_program_results).
type Outcome struct {
	ProgramID     int64           `json:"program_id"`
	ProgramName   string          `json:"program_name"`
	Status        string          `json:"status"`
	Reason        string          `json:"reason"`
	ReasonText    string          `json:"reason_text"`
	RuleVersion   int             `json:"rule_version"`
	PointsKopecks int64           `json:"points_kopecks"`
	Pending       bool            `json:"pending"`
	Evaluation    json.RawMessage `json:"evaluation,omitempty"`
}
