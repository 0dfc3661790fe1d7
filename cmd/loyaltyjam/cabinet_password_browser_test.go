package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/loyaltyjam/loyaltyjam/internal/password"
	"github.com/loyaltyjam/loyaltyjam/internal/seed"
)

// TestCabinetPasswordInBrowser: a participant whose password was issued by
// a registry invitation signs in with it and is taken to the password
// change before anything else (other screens lead back to it); after the
// change the issued password no longer signs in, the new one does, and the
// other session started with the issued password is over. Then «Выйти на
// всех устройствах» in the profile ends a second session's refresh token
// and this device's session.
func TestCabinetPasswordInBrowser(t *testing.T) {
	chrome := cabinetChromium(t)
	env := startCabinetProduct(t)
	ctx, d, base := env.ctx, env.d, env.base
	who := seed.Participants[1]
	const issued, chosen = "Выдано-7421", "Мой-пароль-2026"

	// What the registry's invitation round does (registrydb.InvitationPassword):
	// a generated password's hash on the participant, the round's row.
	hash, err := password.Hash(issued)
	if err != nil {
		t.Fatal(err)
	}
	var pid int64
	if err := d.db.QueryRow(ctx, `UPDATE participants SET password_hash = $2, status = 'invited' WHERE login = $1 RETURNING id`,
		who.Login, hash).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if _, err := d.db.Exec(ctx, `INSERT INTO registry_invitation_passwords (participant_id, round, password_set, erased_at)
		VALUES ($1, 1, true, now())`, pid); err != nil {
		t.Fatal(err)
	}

	apiLogin := func(pw string) (int, string) {
		t.Helper()
		b, _ := json.Marshal(map[string]string{"login": who.Login, "password": pw})
		res, err := http.Post(base+"/v1/auth/login", "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var tk struct {
			RefreshToken string `json:"refresh_token"`
		}
		_ = json.NewDecoder(res.Body).Decode(&tk)
		return res.StatusCode, tk.RefreshToken
	}
	refresh := func(tok string) int {
		t.Helper()
		b, _ := json.Marshal(map[string]string{"refresh_token": tok})
		res, err := http.Post(base+"/v1/auth/refresh", "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	// A second device signed in with the issued password.
	st, otherRefresh := apiLogin(issued)
	if st != 200 {
		t.Fatalf("second device's sign-in: %d", st)
	}

	shots := os.Getenv("LJ_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	bctx := phoneBrowser(t, chrome, 10*time.Minute)
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			buf, err := chromedp.FullScreenshot(100)(ctx, tg)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, "cabinet-"+name+".png"), buf, 0o644)
		})
	}
	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	eval := func(js string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return s
	}

	run("sign in with the issued password",
		chromedp.Navigate(base+"/app/"),
		chromedp.WaitVisible(chromedp.ID("login")),
		chromedp.SetValue(chromedp.ID("login"), who.Login),
		chromedp.SetValue(chromedp.ID("password"), issued),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("forced")),
		shot("20-forced-password"))
	if got := eval(`document.getElementById('tabs').hidden ? 'hidden' : 'shown'`); got != "hidden" {
		t.Errorf("tabs while the password must be changed: %s", got)
	}
	checkTouchTargets(t, bctx, "forced password change")
	run("other screens lead back to the change",
		chromedp.Navigate(base+"/app/#/receipts"),
		chromedp.WaitVisible(chromedp.ID("forced")))
	run("mismatched repeat",
		chromedp.SetValue(chromedp.ID("current"), issued),
		chromedp.SetValue(chromedp.ID("new"), chosen),
		chromedp.SetValue(chromedp.ID("repeat"), chosen+"x"),
		chromedp.Click(chromedp.ID("password-save")),
		chromedp.WaitVisible(chromedp.CSS("#view .err")))
	run("change it",
		chromedp.SetValue(chromedp.ID("current"), issued),
		chromedp.SetValue(chromedp.ID("new"), chosen),
		chromedp.SetValue(chromedp.ID("repeat"), chosen),
		chromedp.Click(chromedp.ID("password-save")),
		chromedp.WaitVisible(chromedp.ID("password-changed")),
		shot("21-password-changed"),
		chromedp.WaitVisible(chromedp.ID("scan-label")))
	if st, _ := apiLogin(issued); st != http.StatusUnauthorized {
		t.Errorf("the issued password after the change: %d", st)
	}
	if st := refresh(otherRefresh); st != http.StatusUnauthorized {
		t.Errorf("the other device's refresh after the change: %d", st)
	}
	st, otherRefresh = apiLogin(chosen)
	if st != 200 {
		t.Fatalf("the new password: %d", st)
	}

	// The program screen: the rules in force and the SKUs that earn, from GET /v1/program.
	if _, err := d.db.Exec(ctx, `UPDATE clients SET contact_name = 'Служба поддержки', contact_phone = '+78005553535'
		WHERE code = $1`, who.Client); err != nil {
		t.Fatal(err)
	}
	run("program",
		chromedp.Navigate(base+"/app/#/program"),
		chromedp.WaitVisible(chromedp.CSS("section.terms")),
		chromedp.WaitVisible(chromedp.ID("support")))
	if got := eval(`document.querySelector('section.terms').textContent`); !strings.Contains(got, "Как начисляются баллы") && !strings.Contains(got, "не опубликованы") {
		t.Errorf("program terms: %s", got)
	}
	if got := eval(`String(document.querySelectorAll('ul.skus li').length)`); got == "0" && !strings.Contains(eval(`document.body.textContent`), "Товаров, за которые") {
		t.Errorf("program SKUs: none listed and no explanation")
	}
	run("program SKUs", chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('details').forEach((d) => d.open = true)`), shot("23-program"))
	checkTouchTargets(t, bctx, "program")

	run("profile",
		chromedp.Click(chromedp.CSS(`a[data-tab="more"]`)),
		chromedp.Click(chromedp.CSS(`a[href="#/profile"]`)),
		chromedp.WaitVisible(chromedp.ID("logout-all")),
		shot("22-profile-security"))
	checkTouchTargets(t, bctx, "profile")
	run("sign out on all devices",
		chromedp.Click(chromedp.ID("logout-all")),
		chromedp.WaitVisible(chromedp.ID("login")))
	if got := eval(`localStorage.getItem('lj.session') || sessionStorage.getItem('lj.session') ? 'kept' : 'gone'`); got != "gone" {
		t.Errorf("this device's session after sign-out everywhere: %s", got)
	}
	if st := refresh(otherRefresh); st != http.StatusUnauthorized {
		t.Errorf("the second device's refresh after sign-out everywhere: %d", st)
	}
	var live int
	if err := d.db.QueryRow(ctx, `SELECT count(*) FROM auth_refresh_tokens WHERE participant_id = $1 AND revoked_at IS NULL`, pid).Scan(&live); err != nil || live != 0 {
		t.Errorf("live refresh tokens after sign-out everywhere: %d %v", live, err)
	}
}
