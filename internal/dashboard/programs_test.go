package dashboard_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/dashboard"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
	"github.com/loyaltyjam/loyaltyjam/internal/points"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/catalogdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pointsdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/programdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb/reporttest"
	"github.com/loyaltyjam/loyaltyjam/internal/program"
)

func newProgramsEnv(t *testing.T) *env {
	t.Helper()
	db, _ := pgtest.New(t)
	data := reporttest.Load(t, db, testNow)
	clk := &clock{t: testNow}
	quiet := slog.New(slog.DiscardHandler)
	store := programdb.New(db)
	app := httpapi.New(httpapi.Options{Logger: quiet})
	dashboard.New(dashboard.Options{Reports: reportdb.New(db), Foreign: catalogdb.New(db), Outage: postgres.Unavailable,
		Receipts: data.Receipts, Approver: dashboard.DefaultApprover[pgx.Tx]{Receipts: data.Receipts}, Now: clk.Now, Logger: quiet,
		Programs: &dashboard.Programs{Service: program.NewService(store, auditdb.New(db), ledgerdb.New(db), clk.Now),
			Receipts: store, Matcher: points.New(pointsdb.New(db), catalogdb.New(db), ledgerdb.Postings{}), Outcomes: store.Results}}).Register(app)
	return &env{app: app, data: data, clock: clk}
}

// Another client's manager gets 404 on every program page and form; a
// moderator reads but does not change; forms need the CSRF token.
func TestProgramPagesTenantIsolation(t *testing.T) {
	t.Parallel()
	e := newProgramsEnv(t)
	v := e.data.Vetluga
	rival := e.mustLogin(t, e.data.Krasnodol.ManagerEmail)
	base := fmt.Sprintf("/dashboard/programs/%d", v.ProgramID)
	if resp, _ := e.do(t, rival, "GET", base, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET %s as another client's manager: %d", base, resp.StatusCode)
	}
	for path, form := range map[string]url.Values{
		base + "/status":  {"status": {"closed"}},
		base + "/rules":   {"effective_from": {"2030-01-01"}, "earn_kind_0": {"percent"}, "earn_value_0": {"5"}},
		base + "/dry-run": {"lines": {"Антифриз; 1; 100"}, "purchased_at": {"2026-03-01"}},
		base + "/clone":   {"code": {"stolen"}, "name": {"Чужая"}},
	} {
		form.Set("_csrf", rival.csrf)
		if resp, _ := e.do(t, rival, "POST", path, form); resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s as another client's manager: %d", path, resp.StatusCode)
		}
	}
	if _, body := e.do(t, rival, "GET", "/dashboard/programs", nil); strings.Contains(body, base) {
		t.Error("another client's program is listed")
	}
	mod := e.mustLogin(t, v.ModeratorMail)
	if resp, _ := e.do(t, mod, "GET", base, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("moderator reading the program: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, mod, "POST", base+"/status", url.Values{"_csrf": {mod.csrf}, "status": {"closed"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("moderator closing the program: %d", resp.StatusCode)
	}
	mgr := e.mustLogin(t, v.ManagerEmail)
	if resp, _ := e.do(t, mgr, "POST", base+"/status", url.Values{"status": {"closed"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("closing without the CSRF token: %d", resp.StatusCode)
	}
	if _, body := e.do(t, mgr, "GET", base, nil); !strings.Contains(body, `data-status="live"`) {
		t.Error("the program's status changed")
	}
}

// Hostile and wrong input gets a clear 4xx with the problem in Russian and
// changes nothing.
func TestProgramFormsHostileInput(t *testing.T) {
	t.Parallel()
	e := newProgramsEnv(t)
	v := e.data.Vetluga
	mgr := e.mustLogin(t, v.ManagerEmail)
	e.do(t, mgr, "GET", "/dashboard/programs", nil)
	base := fmt.Sprintf("/dashboard/programs/%d", v.ProgramID)
	for name, c := range map[string]struct {
		path   string
		form   url.Values
		status int
		want   string
	}{
		"bad code": {"/dashboard/programs", url.Values{"code": {"<script>"}, "name": {"x"}, "mechanics": {"receipts"},
			"starts_on": {"2026-01-01"}, "ends_on": {"2026-12-31"}, "time_zone": {"Europe/Moscow"}, "crediting": {"immediate"}},
			422, "Код программы"},
		"no dates": {"/dashboard/programs", url.Values{"code": {"ok-code"}, "name": {"x"}, "mechanics": {"receipts"},
			"time_zone": {"Europe/Moscow"}, "crediting": {"immediate"}}, 422, "даты начала и окончания"},
		"rate not a number": {base + "/rules", url.Values{"effective_from": {"2030-01-01"}, "earn_kind_0": {"percent"},
			"earn_value_0": {"пять"}}, 422, "не число"},
		"no earning rule": {base + "/rules", url.Values{"effective_from": {"2030-01-01"}}, 422, "хотя бы одно правило"},
		"rules in the past": {base + "/rules", url.Values{"effective_from": {"2020-01-01"}, "earn_kind_0": {"percent"},
			"earn_value_0": {"5"}}, 422, "прошлое не переписывается"},
		"bad lines":       {base + "/dry-run", url.Values{"lines": {"Антифриз без количества"}}, 422, "название; количество; сумма"},
		"too many lines":  {base + "/dry-run", url.Values{"lines": {strings.Repeat("x; 1; 1\n", 501)}, "purchased_at": {"2026-03-01"}}, 422, "не больше 500"},
		"not a QR":        {base + "/dry-run", url.Values{"qr": {"<img src=x onerror=alert(1)>"}}, 422, "Это не QR-код"},
		"unknown status":  {base + "/status", url.Values{"status": {"paused"}}, 409, "draft, test, live или closed"},
		"live → draft":    {base + "/status", url.Values{"status": {"draft"}}, 409, "нельзя перевести"},
		"clone bad dates": {base + "/clone", url.Values{"code": {"c2"}, "name": {"Копия"}, "starts_on": {"2030-01-01"}, "ends_on": {"2029-01-01"}}, 422, "раньше даты начала"},
	} {
		c.form.Set("_csrf", mgr.csrf)
		resp, body := e.do(t, mgr, "POST", c.path, c.form)
		if resp.StatusCode != c.status || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d, want %d with %q", name, resp.StatusCode, c.status, c.want)
		}
		if strings.Contains(body, "<script>") || strings.Contains(body, "<img src=x") {
			t.Errorf("%s: input echoed unescaped", name)
		}
	}
	// A field or form over the limits: refused before any work (the input
	// guard answers 422 for an oversized field, the form 413).
	resp, _ := e.do(t, mgr, "POST", base+"/rules", url.Values{"_csrf": {mgr.csrf}, "earn_value_0": {strings.Repeat("9", 1<<20)}})
	if resp.StatusCode != http.StatusRequestEntityTooLarge && resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("a 1 MiB field: %d", resp.StatusCode)
	}
	if _, body := e.do(t, mgr, "GET", base, nil); strings.Count(body, `class="version"`) != 1 {
		t.Error("a refused form stored a rules version")
	}
}
