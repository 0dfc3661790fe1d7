package mobileapi

// GET /v1/program: what earns points, in plain Russian.

import (
	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/rules"
)

type programTermsResponse struct {
	Programs []programTermsDTO `json:"programs"`
	Support  *supportDTO       `json:"support"`
}

type programTermsDTO struct {
	programDTO
	Crediting string          `json:"crediting"`
	Credit    string          `json:"credit_text"`
	Rules     *rulesTextDTO   `json:"rules"`
	SKUs      []programSKUDTO `json:"skus"`
}

type rulesTextDTO struct {
	Version       int      `json:"version"`
	EffectiveFrom string   `json:"effective_from"`
	Earn          []string `json:"earn"`
	Bonuses       []string `json:"bonuses"`
	Promos        []string `json:"promos"`
	Caps          []string `json:"caps"`
	Roles         string   `json:"roles"`
	Seller        string   `json:"seller"`
}

type programSKUDTO struct {
	Code  string `json:"code"`
	Brand string `json:"brand"`
	Name  string `json:"name"`
	Rate  string `json:"rate"`
}

type supportDTO struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Phone string `json:"phone"`
}

var creditTexts = map[string]string{
	"immediate":    "Баллы становятся доступны сразу после проверки чека.",
	"period_close": "Баллы за чек сначала «в ожидании» и становятся доступны 1-го числа следующего месяца.",
}

// program lists the caller's live programs (and test ones for testers)
// with the rules in force today in Russian, and the SKUs that earn with
// their rates.
func (a *API) program(c *fiber.Ctx) error {
	who := callerOf(c)
	ctx := c.UserContext()
	statuses := []string{"live"}
	if who.IsTest {
		statuses = append(statuses, "test")
	}
	terms, err := a.users.ProgramTerms(ctx, who.ClientID, a.now(), statuses...)
	if err != nil {
		return err
	}
	resp := programTermsResponse{Programs: []programTermsDTO{}}
	if len(terms) > 0 {
		skus, err := a.users.SKUs(ctx, who.ClientID)
		if err != nil {
			return err
		}
		for _, t := range terms {
			p := programTermsDTO{programDTO: programDTO{ID: t.ID, Code: t.Code, Name: t.Name, Status: t.Status,
				StartsOn: t.StartsOn.Format("2006-01-02"), EndsOn: t.EndsOn.Format("2006-01-02")},
				Crediting: t.Crediting, Credit: creditTexts[t.Crediting], SKUs: []programSKUDTO{}}
			if r, err := rules.Parse(t.Rules); t.Rules != nil && err == nil {
				d := rules.Describe(r)
				p.Rules = &rulesTextDTO{Version: t.RulesVersion, EffectiveFrom: t.RulesFrom.Format("2006-01-02"),
					Earn: nonNil(d.Earn), Bonuses: nonNil(d.Bonuses), Promos: nonNil(d.Promos), Caps: nonNil(d.Caps),
					Roles: d.Roles, Seller: d.Seller}
				for _, k := range skus {
					rate := r.SKURate(rules.Line{SKU: k.Code, Category: k.Category, Brand: k.Brand, MarginBP: k.MarginBP})
					if rate != "" {
						p.SKUs = append(p.SKUs, programSKUDTO{Code: k.Code, Brand: k.Brand, Name: k.Name, Rate: rate})
					}
				}
			} else if t.Rules != nil {
				a.log.WarnContext(ctx, "program rules do not parse", "program_id", t.ID, "err", err)
			}
			resp.Programs = append(resp.Programs, p)
		}
	}
	s, err := a.users.SupportOf(ctx, who.ClientID)
	if err != nil {
		return err
	}
	if s.Email != "" || s.Phone != "" {
		resp.Support = &supportDTO{Name: s.Name, Email: s.Email, Phone: s.Phone}
	}
	return c.JSON(resp)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
