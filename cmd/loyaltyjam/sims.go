package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/notify/email/emailsim"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/push/fcmsim"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/sms/smssim"
)

func init() {
	register(command{name: "sims", summary: "serve the notification and reward simulators (FCM push, SMS gateway, SMTP, Giftery, QIWI)", run: runSims})
}

// simsFlags are the knobs of the sims subcommand; the dev command can reuse
// startNotifySims with its own values.
type simsFlags struct {
	fcmAddr, smsAddr, smtpAddr, emailHTTPAddr string
	fcmProject, smsAPIID                      string
	smtpUser, smtpPassword                    string
	slow                                      time.Duration
}

// runSims starts the three notification simulators and serves them until ctx
// is done, then shuts them down.
func runSims(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sims", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f simsFlags
	fs.StringVar(&f.fcmAddr, "fcm-addr", "127.0.0.1:8092", "FCM simulator listen address")
	fs.StringVar(&f.smsAddr, "sms-addr", "127.0.0.1:8093", "SMS gateway (SMS.RU protocol) simulator listen address")
	fs.StringVar(&f.smtpAddr, "smtp-addr", "127.0.0.1:2525", "SMTP simulator listen address")
	fs.StringVar(&f.emailHTTPAddr, "email-http-addr", "127.0.0.1:8094", "listen address of the page showing received e-mail")
	fs.StringVar(&f.fcmProject, "fcm-project", "", "only accept this Firebase project id (empty: any)")
	fs.StringVar(&f.smsAPIID, "sms-api-id", "", "only accept this SMS.RU api_id (empty: any)")
	fs.StringVar(&f.smtpUser, "smtp-user", "", "require AUTH PLAIN with this user (empty: no auth required)")
	fs.StringVar(&f.smtpPassword, "smtp-password", "", "password for -smtp-user")
	fs.DurationVar(&f.slow, "slow", 5*time.Second, "delay of the 'slow' failure mode")
	rf := devRewardSims
	fs.StringVar(&rf.gifteryAddr, "giftery-addr", rf.gifteryAddr, "Giftery B2B API simulator listen address")
	fs.StringVar(&rf.qiwiAddr, "qiwi-addr", rf.qiwiAddr, "QIWI Top-Up API simulator listen address")
	fs.DurationVar(&rf.processingFor, "reward-processing", rf.processingFor, "how long the reward simulators' 'processing' orders stay processing")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	urls, stop, err := startNotifySims(ctx, f, log)
	if err != nil {
		return err
	}
	defer stop()
	rurls, rstop, err := startRewardSims(ctx, rf, log)
	if err != nil {
		return err
	}
	defer rstop()
	fmt.Fprintf(stdout, "Giftery simulator: %s  (orders %s/_sim/)\n", rurls.giftery, rurls.giftery)
	fmt.Fprintf(stdout, "QIWI simulator:    %s  (payments %s/_sim/)\n", rurls.qiwi, rurls.qiwi)
	fmt.Fprintf(stdout, "FCM simulator:   %s  (endpoint %s/v1, messages %s/_sim/)\n", urls.fcm, urls.fcm, urls.fcm)
	fmt.Fprintf(stdout, "SMS simulator:   %s  (messages %s/_sim/)\n", urls.sms, urls.sms)
	fmt.Fprintf(stdout, "SMTP simulator:  %s  (mail %s/_sim/)\n", urls.smtp, urls.emailHTTP)
	log.Info("sims_started", "fcm", urls.fcm, "sms", urls.sms, "smtp", urls.smtp, "email_http", urls.emailHTTP)
	<-ctx.Done()
	log.Info("sims_stopping")
	return nil
}

type simURLs struct{ fcm, sms, smtp, emailHTTP string }

// startNotifySims starts the simulators in-process. They stop when ctx is
// done; stop also stops them (waiting up to 5 s each for in-flight work).
func startNotifySims(ctx context.Context, f simsFlags, log *slog.Logger) (simURLs, func(), error) {
	var (
		urls    simURLs
		closers []func() error
	)
	stop := func() {
		for _, c := range closers {
			if err := c(); err != nil {
				log.Warn("sims_close_failed", slog.Any("error", err))
			}
		}
	}
	fail := func(err error) (simURLs, func(), error) {
		stop()
		return simURLs{}, nil, err
	}

	fcm := fcmsim.New(fcmsim.Options{ProjectID: f.fcmProject, SlowDelay: f.slow, Logger: log.With("sim", "fcm")})
	u, err := fcm.Start(ctx, f.fcmAddr)
	if err != nil {
		return fail(err)
	}
	closers = append(closers, fcm.Close)
	urls.fcm = u

	sms := smssim.New(smssim.Options{APIID: f.smsAPIID, SlowDelay: f.slow, Logger: log.With("sim", "sms")})
	if u, err = sms.Start(ctx, f.smsAddr); err != nil {
		return fail(err)
	}
	closers = append(closers, sms.Close)
	urls.sms = u

	mail := emailsim.New(emailsim.Options{Username: f.smtpUser, Password: f.smtpPassword, SlowDelay: f.slow, Logger: log.With("sim", "email")})
	closers = append(closers, mail.Close)
	if urls.smtp, err = mail.StartSMTP(ctx, f.smtpAddr); err != nil {
		return fail(err)
	}
	if urls.emailHTTP, err = mail.StartHTTP(ctx, f.emailHTTPAddr); err != nil {
		return fail(err)
	}
	return urls, stop, nil
}
