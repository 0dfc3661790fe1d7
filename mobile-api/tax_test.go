package mobileapi_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/taxdb"
	"github.com/loyaltyjam/loyaltyjam/internal/sealbox"
	mobileapi "github.com/loyaltyjam/loyaltyjam/mobile-api"
)

func TestTaxProfileAndConsents(t *testing.T) {
	t.Parallel()
	var store *taxdb.Store
	e := newEnvWith(t, defaultAuth(), func(d *mobileapi.Deps) {
		store = taxdb.New(d.DB, ledgerdb.Postings{}, auditdb.New(d.DB), sealbox.Random(), nil)
		d.Tax = store
	})
	c := e.client(t, "live")
	p := e.participant(t, c, "", "active")
	tk := e.login(t, p)
	other := e.participant(t, e.client(t, "live"), "", "active")
	otk := e.login(t, other)

	r := e.do(t, jsonReq("GET", "/v1/me/tax-profile", tk.AccessToken, nil))
	var got struct {
		Version  int      `json:"version"`
		Complete bool     `json:"complete"`
		Missing  []string `json:"missing"`
		Data     struct {
			INN string `json:"inn"`
		} `json:"data"`
	}
	r.json(t, &got)
	if r.Status != 200 || got.Version != 0 || got.Complete || len(got.Missing) == 0 {
		t.Fatalf("empty profile: %d %s", r.Status, r.Body)
	}
	body := map[string]any{"last_name": "Петрова", "first_name": "Ольга", "birth_date": "1992-03-04", "inn": "500100732259",
		"citizenship": "643", "residency": "resident", "doc_type": "21", "doc_series": "4510", "doc_number": "654321", "doc_issued": "2012-05-06"}
	bad := map[string]any{}
	for k, v := range body {
		bad[k] = v
	}
	bad["inn"] = "500100732250"
	if r := e.do(t, jsonReq("PUT", "/v1/me/tax-profile", tk.AccessToken, bad)); r.Status != 422 || strings.Contains(string(r.Body), "500100732250") {
		t.Fatalf("bad ИНН: %d %s", r.Status, r.Body)
	}
	if r := e.do(t, jsonReq("PUT", "/v1/me/tax-profile", tk.AccessToken, `{"inn": 5`)); r.Status != 422 {
		t.Fatalf("broken JSON: %d", r.Status)
	}
	r = e.do(t, jsonReq("PUT", "/v1/me/tax-profile", tk.AccessToken, body))
	r.json(t, &got)
	if r.Status != 200 || got.Version != 1 || !got.Complete || got.Data.INN != "500100732259" {
		t.Fatalf("saved: %d %s", r.Status, r.Body)
	}
	// another participant sees their own (empty) profile, never this one
	r = e.do(t, jsonReq("GET", "/v1/me/tax-profile", otk.AccessToken, nil))
	if r.Status != 200 || strings.Contains(string(r.Body), "Петрова") {
		t.Fatalf("other participant: %d %s", r.Status, r.Body)
	}

	r = e.do(t, jsonReq("POST", "/v1/me/consents", tk.AccessToken, map[string]any{"kind": "personal_data", "text_version": "pd-1"}))
	var cs struct {
		ID int64 `json:"id"`
	}
	r.json(t, &cs)
	if r.Status != 201 || cs.ID == 0 {
		t.Fatalf("grant: %d %s", r.Status, r.Body)
	}
	if r := e.do(t, jsonReq("POST", "/v1/me/consents", tk.AccessToken, map[string]any{"kind": "employer", "text_version": "x"})); r.Status != 422 {
		t.Fatalf("employer by participant: %d", r.Status)
	}
	if r := e.do(t, jsonReq("DELETE", fmt.Sprintf("/v1/me/consents/%d", cs.ID), otk.AccessToken, nil)); r.Status != 404 {
		t.Fatalf("withdraw someone else's: %d", r.Status)
	}
	if r := e.do(t, jsonReq("DELETE", fmt.Sprintf("/v1/me/consents/%d", cs.ID), tk.AccessToken, nil)); r.Status != 204 {
		t.Fatalf("withdraw: %d %s", r.Status, r.Body)
	}
	r = e.do(t, jsonReq("GET", "/v1/me/consents", tk.AccessToken, nil))
	if r.Status != 200 || !strings.Contains(string(r.Body), `"withdrawn_at"`) {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	if lack, err := store.Lacking(context.Background(), c.ID, c.Program, p.ID); err != nil || len(lack) != 1 {
		t.Fatalf("lacking after withdrawal: %v %v", lack, err)
	}

	// the tax year: a 5 000 ₽ reward this year, 1 000 ₽ over the exemption, 130 ₽ to be notified
	if _, err := store.RecordIncome(context.Background(), taxdb.Income{ClientID: c.ID, ProgramID: c.Program, ParticipantID: p.ID,
		Ref: "mobile-1", At: time.Now(), Value: 500000}); err != nil {
		t.Fatal(err)
	}
	r = e.do(t, jsonReq("GET", "/v1/me/tax", tk.AccessToken, nil))
	var year struct {
		Year struct {
			TaxKopecks         int64  `json:"tax_kopecks"`
			NotWithheldKopecks int64  `json:"not_withheld_kopecks"`
			Explanation        string `json:"explanation"`
		} `json:"year"`
		Events []struct {
			TaxKopecks int64 `json:"tax_kopecks"`
		} `json:"events"`
	}
	r.json(t, &year)
	if r.Status != 200 || year.Year.TaxKopecks != 13000 || year.Year.NotWithheldKopecks != 13000 || len(year.Events) != 1 ||
		!strings.Contains(year.Year.Explanation, "до 25 февраля") {
		t.Fatalf("tax year: %d %s", r.Status, r.Body)
	}
	if r := e.do(t, jsonReq("GET", "/v1/me/tax", otk.AccessToken, nil)); r.Status != 200 || strings.Contains(string(r.Body), `"tax_kopecks":13000`) {
		t.Fatalf("other participant's tax year: %s", r.Body)
	}
	if r := e.do(t, jsonReq("GET", "/v1/me/tax?year=2019", tk.AccessToken, nil)); r.Status != 422 {
		t.Fatalf("year 2019: %d", r.Status)
	}
}
