package dashboard_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/loyaltyjam/loyaltyjam/internal/seed"
)

// TestOpsBrowser drives the onboarding of a client in headless Chromium:
// the operator creates the client and invites its manager; the manager
// opens the link from the e-mail (through the SMTP simulator), sets a
// password, signs in, and finds the invitation and their acceptance in
// the audit log. Screenshots go to $LJ_SCREENSHOTS or a temp dir.
func TestOpsBrowser(t *testing.T) {
	chrome := needChromium(t)
	t.Parallel()
	e := newOpsEnv(t)
	base := serveApp(t, e.app)
	shots := os.Getenv("LJ_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := newBrowser(t, chrome, 10*time.Minute)
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			buf, err := chromedp.FullScreenshot(100)(ctx, tg)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, name+".png"), buf, 0o644)
		})
	}
	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	text := func(css string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
		if err != nil {
			t.Fatalf("text: %v", err)
		}
		return v
	}

	run("operator signs in",
		chromedp.Navigate(base+"/dashboard/login"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SetValue(chromedp.ID("email"), operatorEmail),
		chromedp.SetValue(chromedp.ID("password"), seed.DemoPassword),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("nav-clients")),
		chromedp.Click(chromedp.ID("nav-clients")),
		chromedp.WaitVisible(chromedp.ID("new-client")))
	run("operator creates a client",
		chromedp.SetValue(chromedp.ID("code"), "romashka"),
		chromedp.SetValue(chromedp.ID("legal_name"), "ООО «Ромашка»"),
		chromedp.SetValue(chromedp.ID("inn"), "7707083893"),
		chromedp.SetValue(chromedp.ID("contact_name"), "Иван Петров"),
		chromedp.SetValue(chromedp.ID("contact_phone"), "8 999 123-45-67"),
		chromedp.SetValue(chromedp.ID("time_zone"), "Asia/Novosibirsk"),
		shot("ops-01-new-client"),
		chromedp.Click(chromedp.ID("create-client")),
		chromedp.WaitVisible(chromedp.ID("invite-form")))
	if got := text("#client-name"); !strings.Contains(got, "Ромашка") {
		t.Fatalf("client page shows %q", got)
	}
	run("operator invites the manager",
		chromedp.SetValue(chromedp.ID("invite-email"), "anna@romashka.ru"),
		chromedp.SetValue(chromedp.ID("invite-name"), "Анна Смирнова"),
		chromedp.SetValue(chromedp.ID("invite-role"), "client_manager"),
		chromedp.Click(chromedp.ID("invite")),
		chromedp.WaitVisible(chromedp.CSS(`tr.invitation[data-state="pending"]`)),
		shot("ops-02-invited"))
	if got := text("#flash"); !strings.Contains(got, "отправлено") {
		t.Fatalf("flash %q", got)
	}
	run("operator signs out", chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("signin")))

	link := e.inviteLink(t, "anna@romashka.ru", 1)
	run("manager sets a password",
		chromedp.Navigate(base+link),
		chromedp.WaitVisible(chromedp.ID("accept")),
		shot("ops-03-invitation"),
		chromedp.SetValue(chromedp.ID("password"), "ромашка-2026!"),
		chromedp.SetValue(chromedp.ID("password_repeat"), "ромашка-2026!"),
		chromedp.Click(chromedp.ID("accept")),
		chromedp.WaitVisible(chromedp.ID("login-notice")))
	run("manager signs in",
		chromedp.SetValue(chromedp.ID("password"), "ромашка-2026!"),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("staff")),
		shot("ops-04-manager-home"),
		chromedp.Click(chromedp.ID("nav-audit")),
		chromedp.WaitVisible(chromedp.ID("audit")),
		shot("ops-05-audit"))
	actions, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("tr.audit-entry")].map(r => r.dataset.action).join(" ")`))
	if err != nil {
		t.Fatal(err)
	}
	if actions != "staff.invitation_accept staff.invite client.create" {
		t.Errorf("the manager's audit log: %q", actions)
	}
	if got := text(`tr.audit-entry[data-action="staff.invitation_accept"]`); !strings.Contains(got, "Анна Смирнова") {
		t.Errorf("acceptance entry: %q", got)
	}
	// The link works once.
	run("the link again", chromedp.Navigate(base+link), chromedp.WaitVisible(chromedp.ID("invite-dead")))
}
