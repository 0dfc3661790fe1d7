package mobileapi_test

import (
	"context"
	"strings"
	"testing"
)

// TestProgram: the live program with its rules in Russian and the SKUs that
// earn with their rates; a SKU no rule takes is not listed; the client's
// contact; a draft program and another client's program are not shown.
func TestProgram(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultAuth())
	ctx := context.Background()
	c := e.client(t, "live")
	other := e.client(t, "live")
	p := e.participant(t, c, "", "active")
	tok := e.login(t, p).AccessToken

	// No rules yet, no contact.
	r := e.do(t, jsonReq("GET", "/v1/program", tok, nil))
	if r.Status != 200 || !strings.Contains(string(r.Body), `"rules":null`) || !strings.Contains(string(r.Body), `"support":null`) {
		t.Fatalf("program without rules: %d %s", r.Status, r.Body)
	}

	for _, q := range []string{
		`INSERT INTO skus (client_id, code, brand, name, category, margin_weight_bp) VALUES ($1, 'A-1', 'Ветлуга', 'Антифриз 5 л', 'antifreeze', 13000)`,
		`INSERT INTO skus (client_id, code, brand, name, category) VALUES ($1, 'B-2', 'Ветлуга', 'Омыватель 4 л', 'washer')`,
		`INSERT INTO skus (client_id, code, brand, name, category) VALUES ($1, 'Z-9', 'Чужой', 'Не в программе', 'other')`,
		`INSERT INTO program_rules (program_id, version, effective_from, body) SELECT id, 1, current_date - 1,
			'{"earn":[{"skus":["B-2"],"fixed_per_unit_kopecks":1000},{"brands":["Ветлуга"],"percent_bp":500}],"caps":{"per_receipt":50000}}'
			FROM programs WHERE client_id = $1`,
		`INSERT INTO programs (client_id, code, name, status, starts_on, ends_on) VALUES ($1, 'draft', 'Черновик', 'draft', current_date, current_date + 1)`,
		`UPDATE clients SET contact_name = 'Анна Орлова', contact_phone = '+79991112233' WHERE id = $1`,
	} {
		if _, err := e.db.Exec(ctx, q, c.ID); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := e.db.Exec(ctx, `INSERT INTO skus (client_id, code, brand, name) VALUES ($1, 'A-1', 'Ветлуга', 'Чужой антифриз')`, other.ID); err != nil {
		t.Fatal(err)
	}
	r = e.do(t, jsonReq("GET", "/v1/program", tok, nil))
	var out struct {
		Programs []struct {
			Code  string `json:"code"`
			Rules *struct {
				Earn []string `json:"earn"`
				Caps []string `json:"caps"`
			} `json:"rules"`
			SKUs []struct{ Code, Name, Rate string } `json:"skus"`
		} `json:"programs"`
		Support *struct{ Name, Phone string } `json:"support"`
	}
	r.json(t, &out)
	if r.Status != 200 || len(out.Programs) != 1 || out.Programs[0].Rules == nil {
		t.Fatalf("program: %d %s", r.Status, r.Body)
	}
	pr := out.Programs[0]
	if len(pr.Rules.Earn) != 2 || !strings.Contains(pr.Rules.Caps[0], "500") {
		t.Errorf("rules text: %+v", pr.Rules)
	}
	got := map[string]string{}
	for _, k := range pr.SKUs {
		got[k.Code] = k.Rate
	}
	if len(got) != 2 || got["A-1"] != "5\u00a0% от суммы строки ×\u00a01,3" || got["B-2"] != "10\u00a0₽ за единицу товара" {
		t.Errorf("SKU rates: %v", got)
	}
	for _, k := range pr.SKUs {
		if k.Name == "Чужой антифриз" {
			t.Error("another client's SKU listed")
		}
	}
	if out.Support == nil || out.Support.Phone != "+79991112233" {
		t.Errorf("support: %+v", out.Support)
	}
	if r := e.do(t, jsonReq("GET", "/v1/program", "", nil)); r.Status != 401 {
		t.Errorf("no token: %d", r.Status)
	}
}
