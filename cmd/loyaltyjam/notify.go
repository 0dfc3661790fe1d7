package main

import (
	"context"
	"fmt"
	"net/mail"

	"github.com/loyaltyjam/loyaltyjam/internal/notify"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/email"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/push/fcm"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/sms"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/notifydb"
)

// senders are the notification channels the configuration enables; a
// channel left unconfigured is nil and skipped (and said so in the log).
type senders struct {
	push  *fcm.Sender
	sms   *sms.Client
	email *email.Client
}

func buildSenders(ctx context.Context, d *deps) (senders, error) {
	var s senders
	var err error
	if c := d.cfg.Push; c.ProjectID != "" {
		if s.push, err = fcm.New(ctx, fcm.Options{ProjectID: c.ProjectID, CredentialsFile: c.CredentialsFile,
			Endpoint: c.Endpoint, Logger: d.log}); err != nil {
			return s, fmt.Errorf("push: %w", err)
		}
	} else {
		d.log.Warn("push notifications off: FCM_PROJECT_ID is not set")
	}
	if c := d.cfg.SMS; c.APIKey != "" {
		if s.sms, err = sms.New(sms.Options{BaseURL: c.GatewayURL, APIID: c.APIKey.Value(), From: c.Sender,
			Logger: d.log}); err != nil {
			return s, fmt.Errorf("sms: %w", err)
		}
	} else {
		d.log.Warn("SMS off: SMS_API_KEY is not set")
	}
	if c := d.cfg.Email; c.SMTPAddr != "" {
		from, err := mail.ParseAddress(c.From)
		if err != nil {
			return s, fmt.Errorf("SMTP_FROM: %w", err)
		}
		mode := map[string]email.TLSMode{"none": email.TLSNone, "starttls": email.TLSStartTLS, "implicit": email.TLSImplicit}[c.TLS]
		if s.email, err = email.New(email.Options{Addr: c.SMTPAddr, From: from.Address, FromName: from.Name,
			Username: c.Username, Password: c.Password.Value(), TLS: mode, Logger: d.log}); err != nil {
			return s, fmt.Errorf("email: %w", err)
		}
	} else {
		d.log.Warn("e-mail off: SMTP_ADDR is not set")
	}
	return s, nil
}

// buildDispatcher returns the notification dispatcher over the enabled
// channels.
func buildDispatcher(d *deps, s senders) *notify.Dispatcher {
	opts := []notify.Option{notify.WithLogger(d.log)}
	if s.push != nil {
		opts = append(opts, notify.WithPush(s.push))
	}
	if s.sms != nil {
		opts = append(opts, notify.WithSMS(s.sms))
	}
	if s.email != nil {
		opts = append(opts, notify.WithEmail(s.email))
	}
	// A delivered prize's code is opened from its seal at send time for
	// the SMS/e-mail (docs/rewards.md, "Delivering the code").
	opts = append(opts, notify.WithSecrets(d.rewardStore()))
	return notify.NewDispatcher(notifydb.New(d.db), opts...)
}
