package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/dashboard"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/email"
)

// mailAlerter e-mails a staff user about failed sign-ins to their account.
// The dashboard calls it at most once per lock time per user (the
// login_alerted_at column); the message goes out after the request, so a
// slow SMTP server does not slow the sign-in answer.
type mailAlerter struct {
	mail *email.Client
	log  *slog.Logger
}

func (m mailAlerter) LoginAlert(ctx context.Context, a dashboard.LoginAlert) error {
	if m.mail == nil {
		m.log.WarnContext(ctx, "staff sign-in alert not sent: no SMTP configured", "user_id", a.UserID)
		return nil
	}
	what := "Вход с этого адреса временно приостановлен."
	if a.Locked {
		what = "Вход в учётную запись закрыт для новых адресов на 15 минут; с адресов, откуда вы уже входили, вход работает."
	}
	msg := email.Message{To: a.Email, ToName: a.Name, Subject: "Loyalty Jam: неудачные попытки входа в кабинет",
		Text: fmt.Sprintf("Здравствуйте!\n\n%s UTC: %d неудачных попыток войти в кабинет Loyalty Jam под вашим e-mail с адреса %s. %s\n\n"+
			"Ваши открытые сессии продолжают работать. Если это были не вы, смените пароль и сообщите администратору.\n",
			a.At.UTC().Format("02.01.2006 15:04"), a.Failures, a.IP, what)}
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if _, err := m.mail.Send(ctx, msg); err != nil {
			m.log.ErrorContext(ctx, "staff sign-in alert failed", "user_id", a.UserID, "err", err)
		}
	}()
	return nil
}
