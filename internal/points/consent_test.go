package points_test

import (
	"context"
	"errors"
	"testing"

	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/points"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/catalogdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pointsdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/taxdb"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/rules"
	"github.com/loyaltyjam/loyaltyjam/internal/sealbox"
	"github.com/loyaltyjam/loyaltyjam/internal/tax"
)

// TestCreditingRequiresConsents: a program that requires the personal-data
// and employer consents before crediting (the offer not required) holds
// the receipt of a seller lacking them in needs_review with
// consent_required and posts nothing; a moderator's approval is refused
// until the consents are given, then credits; after the participant
// withdraws one the next receipt is held again; and a second program
// without the requirement credits the same receipt while the first gives
// nothing for it.
func TestCreditingRequiresConsents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, "immediate", 1_000_000, testRules())
	taxes := taxdb.New(e.db, ledgerdb.Postings{}, auditdb.New(e.db), sealbox.Random(), nil)
	e.svc = points.New(pointsdb.New(e.db), catalogdb.New(e.db), ledgerdb.Postings{}, points.WithConsents(taxes))
	sys := audit.Actor{Kind: audit.System, Name: "test"}
	must(t, taxes.SaveSettings(ctx, taxdb.Settings{ClientID: e.client, ProgramID: e.program, Agent: "client", Mode: tax.Notify,
		Kind: tax.Standard, Requirements: tax.Requirements{PersonalData: true, Employer: true, BeforeCrediting: true}}, sys))

	r := e.process(e.newVerified(1, yesterday(), saleItems()))
	if r.Status != receipt.NeedsReview || r.StatusReason != points.ReasonConsentRequired || r.PointsKopecks != 0 ||
		r.Items[0].PointsReason != points.ReasonConsentRequired {
		t.Fatalf("lacking consents: %s/%s %d %+v", r.Status, r.StatusReason, r.PointsKopecks, r.Items[0])
	}
	if msg := receipt.Message(r.StatusReason); msg == "" || !receipt.HasMessage(r.StatusReason) {
		t.Fatalf("no message for %s", r.StatusReason)
	}
	if b := e.balance(); b.AvailableKopecks != 0 || b.PendingKopecks != 0 {
		t.Fatalf("balance while held %+v", b)
	}
	approve := func(id string) error {
		return e.receipts.Modify(ctx, id, func(ctx context.Context, x *receipt.Receipt) error {
			x.Note("user:1", receipt.ReasonModeratorApproved, nil)
			return e.svc.ProcessApproved(ctx, x, "user:1")
		})
	}
	if err := approve(r.ID); !errors.Is(err, points.ErrConsentRequired) {
		t.Fatalf("approval without consents: %v", err)
	}
	if got, _ := e.receipts.Get(ctx, r.ID); got.Status != receipt.NeedsReview {
		t.Fatalf("after the refused approval: %s", got.Status)
	}

	me := audit.Actor{Kind: audit.Participant, ID: e.participant}
	pd, err := taxes.Grant(ctx, taxdb.Consent{ClientID: e.client, Kind: tax.ConsentPersonalData, ParticipantID: e.participant,
		TextVersion: "pd-1", Channel: "app", Evidence: "test"}, me)
	must(t, err)
	// Still lacking the employer's: held.
	if err := approve(r.ID); !errors.Is(err, points.ErrConsentRequired) {
		t.Fatalf("approval without the employer's consent: %v", err)
	}
	_, err = taxes.Grant(ctx, taxdb.Consent{ClientID: e.client, Kind: tax.ConsentEmployer, ShopID: e.shop,
		TextVersion: "emp-1", Channel: "paper", Evidence: "письмо №1", GivenBy: "владелец"}, sys)
	must(t, err)
	must(t, approve(r.ID))
	r, err = e.receipts.Get(ctx, r.ID)
	must(t, err)
	if r.Status != receipt.Credited || r.PointsKopecks != saleKopecks {
		t.Fatalf("approved with consents: %s/%s %d", r.Status, r.StatusReason, r.PointsKopecks)
	}
	// With them in force a receipt credits at once.
	if r := e.process(e.newVerified(1, yesterday(), saleItems())); r.Status != receipt.Credited || r.PointsKopecks != saleKopecks {
		t.Fatalf("with consents: %s/%s %d", r.Status, r.StatusReason, r.PointsKopecks)
	}

	// Withdrawn: the next receipt is held again.
	must(t, taxes.Withdraw(ctx, e.client, e.participant, pd.ID, "app", me))
	held := e.process(e.newVerified(1, yesterday(), saleItems()))
	if held.Status != receipt.NeedsReview || held.StatusReason != points.ReasonConsentRequired {
		t.Fatalf("after withdrawal: %s/%s", held.Status, held.StatusReason)
	}
	if b := e.balance(); b.AvailableKopecks != 2*saleKopecks {
		t.Fatalf("balance after withdrawal %+v, want %d", b, 2*saleKopecks)
	}

	// A second program without the requirement credits the sale; the first
	// gives nothing for it and says why.
	second := rules.Rules{Earn: []rules.Earn{{PercentBP: 1000}}}
	p2 := e.addProgram("second", "live", []string{"receipts"}, &second, "")
	const secondKopecks = 9000 + 11200
	id := e.newVerified(1, yesterday(), saleItems())
	r = e.process(id)
	if r.Status != receipt.Credited || r.PointsKopecks != secondKopecks || r.ProgramID == nil || *r.ProgramID != p2 {
		t.Fatalf("two programs: %s/%s %d %v", r.Status, r.StatusReason, r.PointsKopecks, r.ProgramID)
	}
	res := e.results(id)
	if res[e.program].status != string(receipt.NeedsReview) || res[e.program].reason != points.ReasonConsentRequired ||
		res[e.program].points != 0 || res[p2].status != string(receipt.Credited) || res[p2].points != secondKopecks {
		t.Fatalf("per program: %+v", res)
	}
	if c := e.credits(id); c[e.program] != 0 || c[p2] != 1 {
		t.Fatalf("credits %v", c)
	}
	e.checkLedger()
}
