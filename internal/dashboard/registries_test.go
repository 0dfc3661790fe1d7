package dashboard_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/loyaltyjam/loyaltyjam/internal/kpi"
	"github.com/loyaltyjam/loyaltyjam/internal/password"
	"github.com/loyaltyjam/loyaltyjam/internal/seed"
)

// upload posts a registry file as the browser's multipart form does.
func (e *fullEnv) upload(t *testing.T, c *client, programID int64, fields map[string]string, name, content string) (*http.Response, string) {
	t.Helper()
	return e.postFile(t, c, fmt.Sprintf("/dashboard/p/%d/registries", programID), fields, name, content)
}

// uploaded follows an upload's redirect to its page.
func (e *fullEnv) uploaded(t *testing.T, c *client, resp *http.Response) (string, string) {
	t.Helper()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "/registries/") {
		t.Fatalf("upload: %d %s", resp.StatusCode, loc)
	}
	_, body := e.do(t, c, "GET", loc, nil)
	return loc, body
}

func TestRegistryPages(t *testing.T) {
	t.Parallel()
	e := newFullEnv(t)
	v, k := e.data.Vetluga, e.data.Krasnodol
	base := fmt.Sprintf("/dashboard/p/%d/registries", v.ProgramID)
	mgr := e.mustLogin(t, v.ManagerEmail)
	if resp, body := e.do(t, mgr, "GET", base, nil); resp.StatusCode != 200 || !strings.Contains(body, `id="upload-points"`) {
		t.Fatalf("GET %s: %d", base, resp.StatusCode)
	}
	points := "Телефон;Баллы;Комментарий\r\n+79990000001;1 500;План марта\r\n8 999 000-00-02;250,50;\r\n+79990000001;100;доплата\r\n"

	// CSRF is required on the multipart form too.
	if resp, _ := e.upload(t, mgr, v.ProgramID, map[string]string{"kind": "points", "period": "2026-02"}, "march.csv", points); resp.StatusCode != http.StatusForbidden {
		t.Errorf("upload without CSRF: %d", resp.StatusCode)
	}
	// A file with row errors: rejected, its report row by row.
	bad := "Телефон;Баллы\r\n+79990000001;сто\r\n+70000000000;5\r\n"
	resp, _ := e.upload(t, mgr, v.ProgramID, map[string]string{"_csrf": mgr.csrf, "kind": "points", "period": "2026-02"}, "bad.csv", bad)
	_, body := e.uploaded(t, mgr, resp)
	if !strings.Contains(body, `data-status="rejected"`) || !strings.Contains(body, `<td class="num">2</td><td>points</td>`) ||
		!strings.Contains(body, `<td class="num">3</td><td>phone</td>`) || strings.Contains(body, `id="confirm"`) {
		t.Errorf("rejected registry page: %s", section(body, `id="errors"`))
	}
	// Without a file, or with a wrong period: the form again with the reason.
	resp, body = e.upload(t, mgr, v.ProgramID, map[string]string{"_csrf": mgr.csrf, "kind": "points", "period": "2026-13"}, "x.csv", points)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Период: месяц") {
		t.Errorf("bad period: %d %s", resp.StatusCode, errorText(body))
	}
	resp, body = e.upload(t, mgr, v.ProgramID, map[string]string{"_csrf": mgr.csrf, "kind": "points", "period": "2026-02"}, "", "")
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Выберите файл") {
		t.Errorf("no file: %d %s", resp.StatusCode, errorText(body))
	}

	// A valid points registry: preview, confirm, progress, applied.
	resp, _ = e.upload(t, mgr, v.ProgramID, map[string]string{"_csrf": mgr.csrf, "kind": "points", "period": "2026-02"}, "march.csv", points)
	loc, body := e.uploaded(t, mgr, resp)
	for _, want := range []string{`data-status="validated"`, `<b id="credit-total">` + kpi.Points(185050) + `</b>`, "Иван Петров", "Мария Соколова",
		"План марта", `id="confirm"`} {
		if !strings.Contains(body, want) {
			t.Errorf("points preview lacks %q", want)
		}
	}
	before := participantPoints(t, e.db, v.ProgramID, v.Participants[0])
	if resp, _ := e.do(t, mgr, "POST", loc+"/confirm", url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("confirm without CSRF: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, mgr, "POST", loc+"/confirm", url.Values{"_csrf": {mgr.csrf}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirm: %d", resp.StatusCode)
	}
	_, body = e.do(t, mgr, "GET", loc, nil)
	if !strings.Contains(body, `data-status="confirmed"`) || !strings.Contains(body, `<meta http-equiv="refresh" content="3">`) ||
		!strings.Contains(body, `id="progress"`) {
		t.Errorf("confirmed registry page: no progress %s", section(body, `id="preview"`))
	}
	if resp, body := e.do(t, mgr, "POST", loc+"/confirm", url.Values{"_csrf": {mgr.csrf}}); resp.StatusCode != http.StatusConflict ||
		!strings.Contains(body, "Реестр нельзя подтвердить") {
		t.Errorf("second confirm: %d %s", resp.StatusCode, errorText(body))
	}
	e.process(t)
	_, body = e.do(t, mgr, "GET", loc, nil)
	if !strings.Contains(body, `data-status="applied"`) || strings.Contains(body, "http-equiv") || !strings.Contains(body, `id="result"`) {
		t.Errorf("applied registry page: %s", section(body, `id="preview"`))
	}
	if got := participantPoints(t, e.db, v.ProgramID, v.Participants[0]) - before; got != 160000 {
		t.Errorf("registry credited %d kopecks, want 160000", got)
	}

	// Maker-checker: over the threshold the uploader cannot confirm; a
	// second manager can.
	big := "Телефон;Баллы\r\n+79990000003;12000\r\n"
	resp, _ = e.upload(t, mgr, v.ProgramID, map[string]string{"_csrf": mgr.csrf, "kind": "points", "period": "2026-01"}, "big.csv", big)
	bigLoc, body := e.uploaded(t, mgr, resp)
	if !strings.Contains(body, `id="second-needed"`) || strings.Contains(body, `id="confirm"`) {
		t.Errorf("big registry: no second-approval note %s", section(body, `id="preview"`))
	}
	resp, body = e.do(t, mgr, "POST", bigLoc+"/confirm", url.Values{"_csrf": {mgr.csrf}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "подтвердить его должен другой сотрудник") {
		t.Errorf("uploader confirms a big registry: %d %s", resp.StatusCode, errorText(body))
	}
	hash, err := password.Hash(seed.DemoPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec(t.Context(), `INSERT INTO dashboard_users (client_id, email, name, role, password_hash)
		VALUES ($1, 'checker@vetluga.demo', 'Контролёр Ветлуги', 'client_manager', $2)`, v.ClientID, hash); err != nil {
		t.Fatal(err)
	}
	checker := e.mustLogin(t, "checker@vetluga.demo")
	_, body = e.do(t, checker, "GET", bigLoc, nil)
	if !strings.Contains(body, "Подтвердить вторым сотрудником") {
		t.Errorf("second manager sees no confirm button: %s", section(body, `id="preview"`))
	}
	if resp, _ := e.do(t, checker, "POST", bigLoc+"/confirm", url.Values{"_csrf": {checker.csrf}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("second confirmation: %d", resp.StatusCode)
	}

	// A participant registry: applied, invitations listed with delivery
	// and sign-in, re-sent on demand.
	people := "Телефон;ФИО;Роль;Код точки;E-mail\r\n+79991112233;Пётр Новиков;продавец;AUTO-001;petr@example.com\r\n"
	resp, _ = e.upload(t, mgr, v.ProgramID, map[string]string{"_csrf": mgr.csrf, "kind": "participants", "invite_sms": "1",
		"unknown_shops": "report", "invite_method": "code"}, "people.csv", people)
	pLoc, body := e.uploaded(t, mgr, resp)
	if !strings.Contains(body, "<dt>Новых участников</dt><dd><b>1</b>") {
		t.Errorf("participants preview: %s", section(body, `id="preview"`))
	}
	if resp, _ := e.do(t, mgr, "POST", pLoc+"/confirm", url.Values{"_csrf": {mgr.csrf}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirm participants: %d", resp.StatusCode)
	}
	e.process(t)
	_, body = e.do(t, mgr, "GET", pLoc, nil)
	inv := section(body, `id="invitations"`)
	if !strings.Contains(inv, "Пётр Новиков") || !strings.Contains(inv, "SMS:") || !strings.Contains(inv, `id="resend-all"`) ||
		!strings.Contains(inv, `name="participant_id"`) {
		t.Errorf("invitations: %s", inv)
	}
	resp, _ = e.do(t, mgr, "POST", pLoc+"/resend", url.Values{"_csrf": {mgr.csrf}})
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "done=resent&n=1") {
		t.Errorf("resend: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	e.mu.Lock()
	queued := len(e.enqueued)
	e.mu.Unlock()
	if queued != 1 {
		t.Errorf("resend enqueued %d jobs", queued)
	}
	_, body = e.do(t, mgr, "GET", base, nil)
	for _, want := range []string{"march.csv", "big.csv", "people.csv", "bad.csv"} {
		if !strings.Contains(body, want) {
			t.Errorf("list lacks %s", want)
		}
	}

	// A moderator reads but does not upload or confirm.
	mod := e.mustLogin(t, v.ModeratorMail)
	if _, body := e.do(t, mod, "GET", base, nil); strings.Contains(body, `id="upload-points"`) {
		t.Errorf("moderator sees the upload form")
	}
	if resp, _ := e.upload(t, mod, v.ProgramID, map[string]string{"_csrf": mod.csrf, "kind": "points", "period": "2026-02"}, "m.csv", points); resp.StatusCode != http.StatusForbidden {
		t.Errorf("moderator uploads: %d", resp.StatusCode)
	}

	// Tenant isolation.
	kr := e.mustLogin(t, k.ManagerEmail)
	kbase := fmt.Sprintf("/dashboard/p/%d/registries", k.ProgramID)
	id := loc[strings.LastIndex(loc, "/")+1:]
	for _, u := range []string{base, loc, pLoc, kbase + "/" + id} {
		resp, body := e.do(t, kr, "GET", u, nil)
		if resp.StatusCode != http.StatusNotFound || strings.Contains(body, "march.csv") || strings.Contains(body, "Иван Петров") {
			t.Errorf("krasnodol GET %s: %d", u, resp.StatusCode)
		}
	}
	if _, body := e.do(t, kr, "GET", kbase, nil); strings.Contains(body, "march.csv") {
		t.Errorf("krasnodol's list shows vetluga's registries")
	}
	for _, u := range []string{bigLoc + "/confirm", kbase + "/" + id + "/confirm", pLoc + "/resend",
		kbase + pLoc[strings.LastIndex(pLoc, "/"):] + "/resend"} {
		if resp, _ := e.do(t, kr, "POST", u, url.Values{"_csrf": {kr.csrf}}); resp.StatusCode != http.StatusNotFound {
			t.Errorf("krasnodol POST %s: %d", u, resp.StatusCode)
		}
	}
	if resp, _ := e.upload(t, kr, v.ProgramID, map[string]string{"_csrf": kr.csrf, "kind": "points", "period": "2026-02"}, "k.csv", points); resp.StatusCode != http.StatusNotFound {
		t.Errorf("krasnodol uploads into vetluga's program: %d", resp.StatusCode)
	}
}

// section is the part of an HTML page from marker on, for messages.
func section(body, marker string) string {
	i := strings.Index(body, marker)
	if i < 0 {
		return "(no " + marker + ")"
	}
	return body[i:min(len(body), i+1500)]
}
