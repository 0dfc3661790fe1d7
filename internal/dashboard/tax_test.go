package dashboard_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/dashboard"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
	"github.com/loyaltyjam/loyaltyjam/internal/money"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/catalogdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb/reporttest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/taxdb"
	"github.com/loyaltyjam/loyaltyjam/internal/sealbox"
	"github.com/loyaltyjam/loyaltyjam/internal/tax"
)

// TestTaxPage: the tax page is a tax officer's (and an operator's), other
// staff get 403 and another client's staff 404 on every tax route; the
// year to date is masked; a full read and the statements export are
// audited; closing a month gives a run and its payment registry.
func TestTaxPage(t *testing.T) {
	t.Parallel()
	db, _ := pgtest.New(t)
	ctx := context.Background()
	data := reporttest.Load(t, db, testNow)
	clk := &clock{t: testNow}
	quiet := slog.New(slog.DiscardHandler)
	store := taxdb.New(db, ledgerdb.Postings{}, auditdb.New(db), sealbox.Random(), nil)
	app := httpapi.New(httpapi.Options{Logger: quiet})
	dashboard.New(dashboard.Options{Reports: reportdb.New(db), Foreign: catalogdb.New(db), Outage: postgres.Unavailable, Receipts: data.Receipts,
		Approver: dashboard.DefaultApprover[pgx.Tx]{Receipts: data.Receipts}, Now: clk.Now, Logger: quiet, Tax: store}).Register(app)
	e := &env{app: app, data: data, clock: clk}
	v, k := data.Vetluga, data.Krasnodol
	for _, u := range []struct{ email, like string }{{"tax@vetluga.demo", v.ManagerEmail}, {"tax@krasnodol.demo", k.ManagerEmail}} {
		if _, err := db.Exec(ctx, `INSERT INTO dashboard_users (client_id, email, name, role, password_hash)
			SELECT client_id, $1, 'Налоговик', 'tax_officer', password_hash FROM dashboard_users WHERE email = $2`, u.email, u.like); err != nil {
			t.Fatal(err)
		}
	}
	secret := tax.LegalData{LastName: "Секретов", FirstName: "Пётр", BirthDate: "1985-07-08", INN: "500100732259", Citizenship: "643",
		Residency: tax.Resident, DocType: "21", DocSeries: "4511", DocNumber: "777888", DocIssued: "2015-01-02"}
	pid := v.Participants[0]
	if _, err := store.SaveProfile(ctx, v.ClientID, pid, secret, audit.Actor{Kind: audit.Participant, ID: pid}); err != nil {
		t.Fatal(err)
	}
	for i, p := range v.Participants[:3] {
		if _, err := store.RecordIncome(ctx, taxdb.Income{ClientID: v.ClientID, ProgramID: v.ProgramID, ParticipantID: p,
			Ref: fmt.Sprintf("dash-%d", i), At: time.Date(2026, 2, 10, 12, 0, 0, 0, time.UTC), Value: money.Kopecks(5000_00 + i*100_00)}); err != nil {
			t.Fatal(err)
		}
	}
	base := fmt.Sprintf("/dashboard/p/%d/tax", v.ProgramID)
	officer := e.mustLogin(t, "tax@vetluga.demo")
	resp, body := e.do(t, officer, "GET", base+"?year=2026", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, fmt.Sprintf(`data-participant="%d"`, pid)) || !strings.Contains(body, "**********59") ||
		strings.Contains(body, "Секретов") || strings.Contains(body, "500100732259") || !strings.Contains(body, `id="nav-tax"`) {
		t.Fatalf("tax page: %d %s", resp.StatusCode, section(body, `id="tax-ytd"`))
	}
	if resp, body := e.do(t, officer, "GET", base+"?year=2026&missing=1", nil); resp.StatusCode != 200 ||
		strings.Contains(body, fmt.Sprintf(`data-participant="%d"`, pid)) || !strings.Contains(body, fmt.Sprintf(`data-participant="%d"`, v.Participants[1])) {
		t.Errorf("missing profiles: %d", resp.StatusCode)
	}
	// closing February: CSRF first
	if resp, _ := e.do(t, officer, "POST", base+"/runs", url.Values{"month": {"2026-02"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("close without CSRF: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, officer, "POST", base+"/runs", url.Values{"_csrf": {officer.csrf}, "month": {"2026-02"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("close: %d", resp.StatusCode)
	}
	if resp, body := e.do(t, officer, "POST", base+"/runs", url.Values{"_csrf": {officer.csrf}, "month": {"2026-02"}}); resp.StatusCode != http.StatusConflict ||
		!strings.Contains(body, "уже закрыт") {
		t.Errorf("close twice: %d", resp.StatusCode)
	}
	var runID int64
	if err := db.QueryRow(ctx, `SELECT id FROM tax_runs WHERE client_id = $1`, v.ClientID).Scan(&runID); err != nil {
		t.Fatal(err)
	}
	registry := fmt.Sprintf("%s/runs/%d/registry?format=xlsx", base, runID)
	if resp, _ := e.do(t, officer, "GET", registry, nil); resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "spreadsheetml") {
		t.Errorf("registry: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// tax of 1–22 February: paid by 28 February 2026, a Saturday → Monday 2 March; notice by 25 February;
	// of 23–28 February: by 28 March, a Saturday → 30 March
	if resp, body := e.do(t, officer, "GET", fmt.Sprintf("%s/runs/%d/registry?format=csv", base, runID), nil); resp.StatusCode != 200 ||
		!strings.Contains(body, "02.03.2026;25.02.2026;"+taxdb.ENPKBK) || !strings.Contains(body, "30.03.2026;25.03.2026;"+taxdb.ENPKBK) {
		t.Errorf("registry csv: %d %s", resp.StatusCode, body)
	}
	if resp, _ := e.do(t, officer, "GET", base+"/statements?year=2026&format=xlsx", nil); resp.StatusCode != 200 {
		t.Errorf("statements: %d", resp.StatusCode)
	}
	if resp, body := e.do(t, officer, "GET", base+"/not-withheld?year=2026&format=csv", nil); resp.StatusCode != 200 ||
		!strings.Contains(body, "Секретов;Пётр;;500100732259;5000,00;130,00;130,00;25.02.2027") {
		t.Errorf("not withheld: %d %s", resp.StatusCode, body)
	}
	if resp, _ := e.do(t, officer, "GET", base+"/6ndfl?year=2026&q=1&format=csv", nil); resp.StatusCode != 200 {
		t.Errorf("6-НДФЛ: %d", resp.StatusCode)
	}
	person := fmt.Sprintf("%s/people/%d", base, pid)
	if resp, body := e.do(t, officer, "GET", person, nil); resp.StatusCode != 200 || strings.Contains(body, "Секретов") || !strings.Contains(body, "С*****") {
		t.Errorf("masked person: %d %s", resp.StatusCode, section(body, `id="tax-person"`))
	}
	if resp, body := e.do(t, officer, "POST", person+"/reveal", url.Values{"_csrf": {officer.csrf}, "reason": {"справка 2-НДФЛ"}}); resp.StatusCode != 200 ||
		!strings.Contains(body, "Секретов") || !strings.Contains(body, "500100732259") {
		t.Errorf("reveal: %d", resp.StatusCode)
	}
	var reads, exports int
	if err := db.QueryRow(ctx, `SELECT count(*) FILTER (WHERE action = 'tax_profile.read'), count(*) FILTER (WHERE action = 'tax_profile.export')
		FROM audit_log WHERE client_id = $1`, v.ClientID).Scan(&reads, &exports); err != nil || reads != 1 || exports != 2 {
		t.Errorf("audit: %d reads, %d exports, %v", reads, exports, err)
	}

	// the employer's consent for the participant's shop
	if resp, _ := e.do(t, officer, "POST", base+"/employer-consents", url.Values{"_csrf": {officer.csrf}, "shop_id": {fmt.Sprint(v.ShopIDs[0])},
		"text_version": {"employer-1"}, "given_by": {"ООО Ромашка, директор"}, "evidence": {"письмо № 12 от 01.02.2026"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("employer consent: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, officer, "POST", fmt.Sprintf("/dashboard/p/%d/tax/employer-consents", v.ProgramID), url.Values{"_csrf": {officer.csrf},
		"shop_id": {fmt.Sprint(k.ShopIDs[0])}, "text_version": {"employer-1"}, "evidence": {"x"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("employer consent for another client's shop: %d", resp.StatusCode)
	}
	var consents int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM tax_consents WHERE kind = 'employer' AND client_id = $1 AND shop_id = $2`, v.ClientID, v.ShopIDs[0]).Scan(&consents); err != nil || consents != 1 {
		t.Errorf("employer consents: %d %v", consents, err)
	}

	// the consents' stages: saved with the settings and shown checked
	if resp, _ := e.do(t, officer, "POST", base+"/settings", url.Values{"_csrf": {officer.csrf}, "agent": {"client"}, "mode": {"notify"},
		"rate_kind": {"standard"}, "requires_personal_data": {"1"}, "requires_employer": {"1"}, "consents_before_crediting": {"1"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("save settings: %d", resp.StatusCode)
	}
	if set, err := store.Settings(ctx, v.ClientID, v.ProgramID); err != nil || !set.Requirements.BeforeCrediting || set.Requirements.BeforeRedeeming ||
		!set.Requirements.Employer || set.Requirements.Offer {
		t.Errorf("saved stages: %+v %v", set.Requirements, err)
	}
	if resp, body := e.do(t, officer, "GET", base, nil); resp.StatusCode != 200 ||
		!strings.Contains(body, `name="consents_before_crediting" value="1" checked`) || strings.Contains(body, `name="consents_before_redeeming" value="1" checked`) {
		t.Errorf("stages on the page: %d", resp.StatusCode)
	}

	// a registry of legal data: all or nothing, errors by line and column, never values
	phoneOf := func(id int64) string {
		var ph string
		if err := db.QueryRow(ctx, `SELECT phone FROM participants WHERE id = $1`, id).Scan(&ph); err != nil {
			t.Fatal(err)
		}
		return ph
	}
	p1, p2 := v.Participants[1], v.Participants[2]
	head := "Телефон;Фамилия;Имя;Дата рождения;ИНН;Гражданство;Статус;Код документа;Серия;Номер;Дата выдачи\r\n"
	good1 := phoneOf(p1) + ";Реестрова;Анна;02.03.1991;;643;резидент;21;4501;111222;2011-04-05\r\n"
	bad2 := phoneOf(p2) + ";Реестров;Иван;1992-01-01;500100732258;643;;21;4502;333444;2012-01-01\r\n"
	resp, body = e.postFile(t, officer, base+"/profiles", map[string]string{"_csrf": officer.csrf}, "p.csv", head+good1+bad2)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `<td class="num">3</td><td>inn</td>`) || strings.Contains(body, "500100732258") {
		t.Errorf("bad registry: %d %s", resp.StatusCode, section(body, `id="profile-upload"`))
	}
	foreign := phoneOf(k.Participants[0]) + ";Чужой;Пётр;1990-01-01;;643;;21;1;2;2010-01-01\r\n"
	if resp, body := e.postFile(t, officer, base+"/profiles", map[string]string{"_csrf": officer.csrf}, "p.csv", head+good1+foreign); resp.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(body, "нет участника") {
		t.Errorf("another client's phone: %d", resp.StatusCode)
	}
	var versions int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM tax_profile_versions WHERE participant_id = ANY($1)`, []int64{p1, p2, k.Participants[0]}).Scan(&versions); err != nil || versions != 0 {
		t.Fatalf("a failed registry saved %d profiles (%v)", versions, err)
	}
	good2 := phoneOf(p2) + ";Реестров;Иван;1992-01-01;500100732259;643;нерезидент;21;4502;333444;2012-01-01\r\n"
	if resp, _ := e.postFile(t, officer, base+"/profiles", map[string]string{"_csrf": officer.csrf}, "p.csv", head+good1+good2); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("good registry: %d", resp.StatusCode)
	}
	if got, err := store.Profile(ctx, p2); err != nil || got.Data.Residency != tax.NonResident || got.Data.LastName != "Реестров" {
		t.Errorf("imported profile: %+v %v", got.Version, err)
	}
	var staffSaves int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'tax_profile.save' AND actor_kind = 'staff' AND client_id = $1`, v.ClientID).Scan(&staffSaves); err != nil || staffSaves != 2 {
		t.Errorf("audited staff saves: %d %v", staffSaves, err)
	}
	if resp, _ := e.postFile(t, officer, base+"/profiles", map[string]string{}, "p.csv", head+good1); resp.StatusCode != http.StatusForbidden {
		t.Errorf("registry without CSRF: %d", resp.StatusCode)
	}

	// the client's manager: not a tax role
	mgr := e.mustLogin(t, v.ManagerEmail)
	if resp, body := e.do(t, mgr, "GET", base, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("manager: %d %s", resp.StatusCode, errorText(body))
	}
	if _, body := e.do(t, mgr, "GET", fmt.Sprintf("/dashboard/p/%d/overview", v.ProgramID), nil); strings.Contains(body, `id="nav-tax"`) {
		t.Error("the manager's nav shows the tax tab")
	}
	// another client's tax officer: 404 on every route, through their own program too
	other := e.mustLogin(t, "tax@krasnodol.demo")
	kbase := fmt.Sprintf("/dashboard/p/%d/tax", k.ProgramID)
	for _, path := range []string{base, base + "/statements?year=2026", base + "/6ndfl?year=2026&q=1", registry, person,
		fmt.Sprintf("%s/runs/%d/registry", kbase, runID), fmt.Sprintf("%s/people/%d", kbase, pid)} {
		if resp, _ := e.do(t, other, "GET", path, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("other client's officer GET %s: %d", path, resp.StatusCode)
		}
	}
	if resp, _ := e.do(t, other, "POST", fmt.Sprintf("%s/people/%d/reveal", kbase, pid), url.Values{"_csrf": {other.csrf}, "reason": {"x"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("other client's officer reveal: %d", resp.StatusCode)
	}
	if resp, body := e.do(t, other, "GET", kbase+"?year=2026", nil); resp.StatusCode != 200 || strings.Contains(body, "data-participant=") {
		t.Errorf("other client's own page: %d", resp.StatusCode)
	}
	// the operator sees the client's runs and the platform agent's
	op := e.mustLogin(t, "operator@loyaltyjam.demo")
	if resp, body := e.do(t, op, "GET", base+"?year=2026", nil); resp.StatusCode != 200 || !strings.Contains(body, fmt.Sprintf(`data-run="%d"`, runID)) {
		t.Errorf("operator: %d", resp.StatusCode)
	}
	if resp, body := e.do(t, op, "GET", base+"?year=2026&agent=platform", nil); resp.StatusCode != 200 || !strings.Contains(body, "агент — платформа") {
		t.Errorf("operator, platform agent: %d", resp.StatusCode)
	}
	if resp, body := e.do(t, op, "GET", "/dashboard/tax", nil); resp.StatusCode != 200 || !strings.Contains(body, fmt.Sprintf(`data-run="%d"`, runID)) {
		t.Errorf("operator's all runs: %d", resp.StatusCode)
	}
	for _, c := range []*client{officer, other, mgr} {
		if resp, _ := e.do(t, c, "GET", "/dashboard/tax", nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("all runs for a client's staff: %d", resp.StatusCode)
		}
	}
}
