package budget

import (
	"context"
	"fmt"
	"strings"

	"github.com/loyaltyjam/loyaltyjam/internal/notify/email"
)

// Sender sends one e-mail (*email.Client).
type Sender interface {
	Send(ctx context.Context, m email.Message) (email.Result, error)
}

// Recipient is a staff member an alert goes to.
type Recipient struct {
	Email, Name string
}

// AlertMail composes the e-mail of alert a of program name for one
// recipient; link is the dashboard's budget page of the program ("" for
// none).
func AlertMail(to Recipient, a Alert, name, link string) email.Message {
	var b strings.Builder
	fmt.Fprintf(&b, "Здравствуйте!\n\n%s\n\n", a.Message)
	switch a.Kind {
	case KindExhausted:
		b.WriteString("Пополните бюджет программы, чтобы продавцы снова получали баллы.\n")
	default:
		b.WriteString("Проверьте бюджет программы и при необходимости пополните его.\n")
	}
	if link != "" {
		fmt.Fprintf(&b, "\nБюджет программы: %s\n", link)
	}
	b.WriteString("\nЭто письмо приходит один раз при пересечении порога; пороги настраиваются на странице бюджета программы.\n")
	return email.Message{To: to.Email, ToName: to.Name, Subject: "Loyalty Jam: бюджет программы «" + name + "»", Text: b.String(),
		Headers: map[string]string{"X-Loyaltyjam-Budget-Alert": fmt.Sprint(a.ID)}}
}

// Mail sends a to every recipient through s; it fails when any send
// fails (the alert is tried again whole: a duplicate to the recipients
// before the failure is preferred to a lost alert).
func Mail(ctx context.Context, s Sender, to []Recipient, a Alert, name, link string) error {
	for _, r := range to {
		if _, err := s.Send(ctx, AlertMail(r, a, name, link)); err != nil {
			return fmt.Errorf("budget alert %d to %s: %w", a.ID, email.MaskAddress(r.Email), err)
		}
	}
	return nil
}
