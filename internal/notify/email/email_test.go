package email_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/notify/email"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/email/emailsim"
)

var quiet = slog.New(slog.DiscardHandler)

// start runs the simulator's SMTP and HTTP sides on real listeners.
func start(t *testing.T, o emailsim.Options) (sim *emailsim.Server, smtpAddr, httpURL string) {
	t.Helper()
	o.Logger = quiet
	sim = emailsim.New(o)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); _ = sim.Close() })
	smtpAddr, err := sim.StartSMTP(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	httpURL, err = sim.StartHTTP(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return sim, smtpAddr, httpURL
}

func client(t *testing.T, o email.Options) *email.Client {
	t.Helper()
	if o.From == "" {
		o.From = "noreply@loyaltyjam.ru"
	}
	o.Logger = quiet
	c, err := email.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSendCyrillicMultipartAndReadBack(t *testing.T) {
	t.Parallel()
	sim, addr, httpURL := start(t, emailsim.Options{Username: "mailer", Password: "s3cret"})
	c := client(t, email.Options{Addr: addr, FromName: "Лояльти Джем", Username: "mailer", Password: "s3cret", Timeout: 5 * time.Second})
	subject := "Ваш пароль для входа — программа «Весна»"
	res, err := c.Send(context.Background(), email.Message{
		To:      "Ivan.Petrov@example.ru",
		ToName:  "Иван Петров",
		Subject: subject,
		Text:    "Здравствуйте!\nЛогин: ivan\nПароль: Qw3rty-Пример",
		HTML:    "<p>Здравствуйте!</p><p>Логин: <b>ivan</b></p>",
		Headers: map[string]string{"X-Loyaltyjam-Notification": "n-1"},
	})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := sim.Wait(ctx, "ivan.petrov@example.ru", 1)
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != subject {
		t.Errorf("subject = %q, want %q", got.Subject, subject)
	}
	if got.Text != "Здравствуйте!\nЛогин: ivan\nПароль: Qw3rty-Пример" {
		t.Errorf("text = %q", got.Text)
	}
	if got.HTML != "<p>Здравствуйте!</p><p>Логин: <b>ivan</b></p>" {
		t.Errorf("html = %q", got.HTML)
	}
	if got.MessageID != res.MessageID || got.AuthUser != "mailer" || got.From != "noreply@loyaltyjam.ru" {
		t.Errorf("recorded %+v, result %+v", got, res)
	}
	if strings.Contains(got.Raw, "Ваш пароль") {
		t.Error("subject was sent unencoded")
	}
	if !strings.Contains(got.Raw, "X-Loyaltyjam-Notification: n-1") {
		t.Error("extra header missing")
	}

	resp, err := http.Get(httpURL + "/_sim/emails?to=" + url.QueryEscape("ivan.petrov@example.ru"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list []emailsim.Email
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Subject != subject {
		t.Errorf("HTTP view = %+v", list)
	}
}

func TestPlainTextOnly(t *testing.T) {
	t.Parallel()
	sim, addr, _ := start(t, emailsim.Options{})
	c := client(t, email.Options{Addr: addr})
	if _, err := c.Send(context.Background(), email.Message{To: "a@example.ru", Subject: "Report", Text: "line 1\nline 2 " + strings.Repeat("длинная строка ", 20)}); err != nil {
		t.Fatal(err)
	}
	got, ok := sim.Last("a@example.ru")
	if !ok || got.HTML != "" || !strings.HasPrefix(got.Text, "line 1\nline 2 длинная") || got.Subject != "Report" {
		t.Errorf("recorded %+v", got)
	}
}

func TestFailureModes(t *testing.T) {
	t.Parallel()
	sim, addr, _ := start(t, emailsim.Options{Username: "mailer", Password: "right"})
	good := client(t, email.Options{Addr: addr, Username: "mailer", Password: "right"})
	tests := []struct {
		name     string
		c        *email.Client
		to       string
		wantKind email.Kind
		wantCode int
	}{
		{"no such mailbox", good, "fail-x@example.ru", email.KindRejected, 550},
		{"temporary failure", good, "tempfail-x@example.ru", email.KindRetryable, 451},
		{"wrong password", client(t, email.Options{Addr: addr, Username: "mailer", Password: "wrong"}), "a@example.ru", email.KindConfig, 535},
		{"auth required", client(t, email.Options{Addr: addr}), "a@example.ru", email.KindConfig, 502},
		{"bad address", good, "not an address", email.KindRejected, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.c.Send(context.Background(), email.Message{To: tc.to, Subject: "s", Text: "t"})
			var e *email.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *email.Error", err)
			}
			if e.Kind != tc.wantKind || e.Code != tc.wantCode {
				t.Errorf("kind=%v code=%d (%v), want %v %d", e.Kind, e.Code, err, tc.wantKind, tc.wantCode)
			}
			if e.Retryable() != (tc.wantKind == email.KindRetryable) {
				t.Errorf("Retryable() = %v", e.Retryable())
			}
		})
	}
	sim.FailNext(1)
	_, err := good.Send(context.Background(), email.Message{To: "b@example.ru", Subject: "s", Text: "t"})
	var e *email.Error
	if !errors.As(err, &e) || !e.Retryable() || e.Code != 451 {
		t.Errorf("injected failure: %v", err)
	}
	if _, err := good.Send(context.Background(), email.Message{To: "b@example.ru", Subject: "s", Text: "t"}); err != nil {
		t.Errorf("after injected failure: %v", err)
	}
	if n := len(sim.Emails("")); n != 1 {
		t.Errorf("recorded %d e-mails, want 1", n)
	}
}

func TestUnreachableServerIsRetryable(t *testing.T) {
	t.Parallel()
	_, addr, _ := start(t, emailsim.Options{})
	c := client(t, email.Options{Addr: addr, Timeout: 2 * time.Second})
	// Requiring STARTTLS against a server that does not offer it is a
	// configuration error, not something to retry.
	ct := client(t, email.Options{Addr: addr, TLS: email.TLSStartTLS})
	_, err := ct.Send(context.Background(), email.Message{To: "a@example.ru", Subject: "s", Text: "t"})
	var e *email.Error
	if !errors.As(err, &e) || e.Kind != email.KindConfig {
		t.Errorf("STARTTLS unsupported: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.Send(ctx, email.Message{To: "a@example.ru", Subject: "s", Text: "t"})
	if !errors.As(err, &e) || !e.Retryable() {
		t.Errorf("cancelled: %v", err)
	}
	closed := client(t, email.Options{Addr: "127.0.0.1:1", Timeout: time.Second})
	_, err = closed.Send(context.Background(), email.Message{To: "a@example.ru", Subject: "s", Text: "t"})
	if !errors.As(err, &e) || !e.Retryable() {
		t.Errorf("connection refused: %v", err)
	}
}

func TestMaskAddress(t *testing.T) {
	t.Parallel()
	if got := email.MaskAddress("ivan.petrov@example.ru"); got != "iv***@example.ru" {
		t.Errorf("MaskAddress = %q", got)
	}
}
