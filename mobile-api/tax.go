package mobileapi

// The tax routes: the participant's own legal data (GET/PUT
// /v1/me/tax-profile) with what was withheld or is owed this year, and
// their consents (GET/POST /v1/me/consents, DELETE /v1/me/consents/:id).
// The legal data is never logged: handlers pass it to the store only.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/taxdb"
	"github.com/loyaltyjam/loyaltyjam/internal/tax"
)

// TaxProfiles is what the tax routes use (taxdb.Store implements it).
type TaxProfiles interface {
	Profile(ctx context.Context, participantID int64) (taxdb.Profile, error)
	SaveProfile(ctx context.Context, clientID, participantID int64, d tax.LegalData, actor audit.Actor) (taxdb.Profile, error)
	ParticipantYear(ctx context.Context, participantID int64, year int) (taxdb.YearSummary, error)
	ParticipantEvents(ctx context.Context, participantID int64, year int) ([]taxdb.Event, error)
	Consents(ctx context.Context, clientID, participantID int64) ([]taxdb.Consent, error)
	Grant(ctx context.Context, c taxdb.Consent, actor audit.Actor) (taxdb.Consent, error)
	Withdraw(ctx context.Context, clientID, participantID, id int64, channel string, actor audit.Actor) error
}

func (a *API) registerTax(v1 fiber.Router, authn fiber.Handler) {
	v1.Get("/me/tax-profile", authn, a.getTaxProfile)
	v1.Get("/me/tax", authn, a.getTaxYear)
	v1.Put("/me/tax-profile", authn, a.putTaxProfile)
	v1.Get("/me/consents", authn, a.listConsents)
	v1.Post("/me/consents", authn, a.grantConsent)
	v1.Delete("/me/consents/:id", authn, a.withdrawConsent)
}

type taxYearDTO struct {
	Year               int    `json:"year"`
	IncomeKopecks      int64  `json:"income_kopecks"`
	ExemptionKopecks   int64  `json:"exemption_kopecks"`
	TaxKopecks         int64  `json:"tax_kopecks"`
	WithheldKopecks    int64  `json:"withheld_kopecks"`
	NotWithheldKopecks int64  `json:"not_withheld_kopecks"`
	Explanation        string `json:"explanation"`
}

type taxEventDTO struct {
	Date               string `json:"date"`
	Event              string `json:"event"`
	RateKind           string `json:"rate_kind"`
	Mode               string `json:"mode"`
	ValueKopecks       int64  `json:"value_kopecks"`
	CashKopecks        int64  `json:"cash_kopecks"`
	TaxKopecks         int64  `json:"tax_kopecks"`
	WithheldKopecks    int64  `json:"withheld_kopecks"`
	NotWithheldKopecks int64  `json:"not_withheld_kopecks"`
}

// getTaxYear is the caller's tax year: the totals with their explanation
// and every reward's tax (GET /v1/me/tax?year=).
func (a *API) getTaxYear(c *fiber.Ctx) error {
	who := callerOf(c)
	ctx := c.UserContext()
	y, err := a.taxYear(ctx, who.ID)
	if err != nil {
		return err
	}
	if q := c.Query("year"); q != "" {
		year, err := strconv.Atoi(q)
		if err != nil || year < 2021 || year > y.Year {
			return apperr.New(apperr.Invalid, "bad_year", "Год: с 2021 по текущий.")
		}
		if year != y.Year {
			if y, err = a.taxYearOf(ctx, who.ID, year); err != nil {
				return err
			}
		}
	}
	evs, err := a.tax.ParticipantEvents(ctx, who.ID, y.Year)
	if err != nil {
		return err
	}
	out := make([]taxEventDTO, 0, len(evs))
	for _, e := range evs {
		out = append(out, taxEventDTO{Date: e.Day.Format(time.DateOnly), Event: e.Event, RateKind: string(e.Kind), Mode: string(e.Mode),
			ValueKopecks: int64(e.Value), CashKopecks: int64(e.Cash), TaxKopecks: int64(e.Tax), WithheldKopecks: int64(e.Withheld),
			NotWithheldKopecks: int64(e.NotWithheld)})
	}
	return c.JSON(fiber.Map{"year": y, "events": out})
}

type taxProfileResponse struct {
	Version  int           `json:"version"`
	Complete bool          `json:"complete"`
	Missing  []string      `json:"missing"`
	Data     tax.LegalData `json:"data"`
	Year     taxYearDTO    `json:"year"`
}

func (a *API) taxYear(ctx context.Context, pid int64) (taxYearDTO, error) {
	return a.taxYearOf(ctx, pid, a.now().In(time.FixedZone("MSK", 3*3600)).Year())
}

func (a *API) taxYearOf(ctx context.Context, pid int64, year int) (taxYearDTO, error) {
	s, err := a.tax.ParticipantYear(ctx, pid, year)
	if err != nil {
		return taxYearDTO{}, err
	}
	rules, _ := tax.Defaults().For(year)
	d := taxYearDTO{Year: year, IncomeKopecks: int64(s.Income), ExemptionKopecks: int64(rules.Exemption),
		TaxKopecks: int64(s.Computed), WithheldKopecks: int64(s.Withheld), NotWithheldKopecks: int64(s.NotWithheld)}
	switch {
	case s.Income <= rules.Exemption:
		d.Explanation = fmt.Sprintf("Подарки и призы до %s в год не облагаются НДФЛ (ст. 217 п. 28 НК РФ).", rules.Exemption.Roubles())
	case s.NotWithheld > 0:
		d.Explanation = fmt.Sprintf("С дохода сверх %s исчислен НДФЛ; %s удержать не удалось — налоговый агент сообщит о нём вам и в налоговую до 25 февраля, уплатить его нужно до 1 декабря следующего года (ст. 226 п. 5, ст. 228 п. 6 НК РФ).",
			rules.Exemption.Roubles(), s.NotWithheld.Roubles())
	default:
		d.Explanation = fmt.Sprintf("С дохода сверх %s исчислен и удержан НДФЛ; платить самому ничего не нужно.", rules.Exemption.Roubles())
	}
	return d, nil
}

func (a *API) getTaxProfile(c *fiber.Ctx) error {
	who := callerOf(c)
	ctx := c.UserContext()
	resp := taxProfileResponse{Missing: tax.LegalData{}.Missing()}
	p, err := a.tax.Profile(ctx, who.ID)
	switch {
	case errors.Is(err, taxdb.ErrNotFound):
	case err != nil:
		return err
	default:
		resp.Version, resp.Complete, resp.Missing, resp.Data = p.Version, p.Data.Complete(), p.Data.Missing(), p.Data
	}
	if resp.Missing == nil {
		resp.Missing = []string{}
	}
	if resp.Year, err = a.taxYear(ctx, who.ID); err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(resp)
}

func (a *API) putTaxProfile(c *fiber.Ctx) error {
	who := callerOf(c)
	var d tax.LegalData
	if err := decodeJSON(c, &d); err != nil {
		return err
	}
	p, err := a.tax.SaveProfile(c.UserContext(), who.ClientID, who.ID, d,
		audit.Actor{Kind: audit.Participant, ID: who.ID, IP: a.clientIP(c)})
	if err != nil {
		return err
	}
	resp := taxProfileResponse{Version: p.Version, Complete: p.Data.Complete(), Missing: p.Data.Missing(), Data: p.Data}
	if resp.Missing == nil {
		resp.Missing = []string{}
	}
	if resp.Year, err = a.taxYear(c.UserContext(), who.ID); err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(resp)
}

func (a *API) listConsents(c *fiber.Ctx) error {
	who := callerOf(c)
	cs, err := a.tax.Consents(c.UserContext(), who.ClientID, who.ID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"consents": cs})
}

type consentBody struct {
	Kind        tax.ConsentKind `json:"kind"`
	TextVersion string          `json:"text_version"`
	ProgramID   int64           `json:"program_id"`
}

func (a *API) grantConsent(c *fiber.Ctx) error {
	who := callerOf(c)
	var b consentBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	if b.Kind == tax.ConsentEmployer {
		// the employer's consent is the shop owner's, recorded by staff
		return taxdb.ErrBadConsent
	}
	ip := a.clientIP(c)
	cs, err := a.tax.Grant(c.UserContext(), taxdb.Consent{ClientID: who.ClientID, Kind: b.Kind, ParticipantID: who.ID,
		ProgramID: b.ProgramID, TextVersion: b.TextVersion, Channel: "app",
		Evidence: fmt.Sprintf("app: participant %d, session %s, ip %s, at %s", who.ID, who.SessionID, ip, a.now().UTC().Format(time.RFC3339))},
		audit.Actor{Kind: audit.Participant, ID: who.ID, IP: ip})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(cs)
}

func (a *API) withdrawConsent(c *fiber.Ctx) error {
	who := callerOf(c)
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return taxdb.ErrNotFound
	}
	if err := a.tax.Withdraw(c.UserContext(), who.ClientID, who.ID, id, "app",
		audit.Actor{Kind: audit.Participant, ID: who.ID, IP: a.clientIP(c)}); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
