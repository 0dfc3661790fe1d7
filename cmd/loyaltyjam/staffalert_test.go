package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/dashboard"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/email"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/email/emailsim"
)

// The owner of a staff account is told by e-mail, through the real SMTP
// client and the simulator, which address is failing to sign in as them.
func TestStaffLoginAlertMail(t *testing.T) {
	t.Parallel()
	quiet := slog.New(slog.DiscardHandler)
	sim := emailsim.New(emailsim.Options{Logger: quiet})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	t.Cleanup(func() { _ = sim.Close() })
	addr, err := sim.StartSMTP(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mail, err := email.New(email.Options{Addr: addr, TLS: email.TLSNone, From: "no-reply@loyaltyjam.local", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	a := mailAlerter{mail: mail, log: quiet}
	if err := a.LoginAlert(ctx, dashboard.LoginAlert{UserID: 1, Email: "manager@vetluga.demo", Name: "Ирина",
		IP: "203.0.113.66", Failures: 5, At: time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	got, err := sim.Wait(ctx, "manager@vetluga.demo", 1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got.Text, "203.0.113.66") || !strings.Contains(got.Text, "сессии продолжают работать") {
		t.Errorf("alert text: %q", got.Text)
	}
}
