package rewarddb_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/loyaltyjam/loyaltyjam/internal/notify"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/email"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/email/emailsim"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/sms"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/sms/smssim"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/notifydb"
)

// TestDeliveredCodeBySMSAndEmail: a delivered prize's code reaches the
// participant by SMS and e-mail (through the real sms.ru and SMTP clients
// against their simulators), opened from its seal at send time; the
// participant who switched SMS off gets only the e-mail; nothing in the
// outbox, the inbox or the delivery records holds the code.
func TestDeliveredCodeBySMSAndEmail(t *testing.T) {
	t.Parallel()
	f := setup(t, 2, 200000)
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)

	smsSim := smssim.New(smssim.Options{Logger: quiet})
	sts := httptest.NewServer(smsSim)
	t.Cleanup(sts.Close)
	smsC, err := sms.New(sms.Options{BaseURL: sts.URL, APIID: "test", Logger: quiet})
	must(t, err)
	mailSim := emailsim.New(emailsim.Options{Logger: quiet})
	sctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	addr, err := mailSim.StartSMTP(sctx, "127.0.0.1:0")
	must(t, err)
	t.Cleanup(func() { _ = mailSim.Close() })
	mailC, err := email.New(email.Options{Addr: addr, From: "noreply@loyaltyjam.local", FromName: "Loyalty Jam", Logger: quiet})
	must(t, err)
	nstore := notifydb.New(f.db)
	disp := notify.NewDispatcher(nstore, notify.WithSMS(smsC), notify.WithEmail(mailC), notify.WithSecrets(f.store),
		notify.WithLogger(quiet))

	both, mailOnly := f.participants[0], f.participants[1]
	mails := map[int64]string{both: "both@example.com", mailOnly: "mailonly@example.com"}
	phones := map[int64]string{}
	for p, m := range mails {
		var phone string
		must(t, f.db.QueryRow(ctx, `UPDATE participants SET email = $2 WHERE id = $1 RETURNING phone`, p, m).Scan(&phone))
		phones[p] = phone
	}
	prefs := notify.DefaultPreferences()
	prefs.Channels = map[notify.EventType]map[notify.Channel]bool{notify.RewardDelivered: {notify.ChannelSMS: false}}
	must(t, nstore.SetPreferences(ctx, mailOnly, prefs))

	codes := map[int64]string{}
	for _, p := range []int64{both, mailOnly} {
		r, _, err := f.store.Create(ctx, f.req(p, letual, 50000, "k"))
		must(t, err)
		must(t, f.saga.Run(ctx, r.ID))
		got, err := f.store.ForParticipant(ctx, p, r.ID)
		must(t, err)
		if got.Code == "" {
			t.Fatalf("order %s delivered without a code", r.ID)
		}
		codes[p] = got.Code
		var intent int64
		must(t, f.db.QueryRow(ctx, `SELECT id FROM notification_intents WHERE dedup_key = $1`, "redemption:"+r.ID+":delivered").Scan(&intent))
		must(t, disp.Deliver(ctx, intent))
		// Another participant's order never opens.
		other := both
		if p == both {
			other = mailOnly
		}
		if _, err := f.store.RewardSecret(ctx, other, r.ID); err != notify.ErrNotFound {
			t.Fatalf("participant %d opened %d's code: %v", other, p, err)
		}
	}

	for p, code := range codes {
		es := mailSim.Emails(mails[p])
		if len(es) != 1 || !strings.Contains(es[0].Text, "Код: "+code) {
			t.Fatalf("participant %d: e-mails %+v, want one with code %s", p, es, code)
		}
		ms := smsSim.Messages(phones[p])
		switch {
		case p == both && (len(ms) != 1 || !strings.Contains(ms[0].Text, "код "+code)):
			t.Fatalf("SMS to %d: %+v, want one with code %s", p, ms, code)
		case p == mailOnly && len(ms) != 0:
			t.Fatalf("participant %d switched SMS off but got %+v", p, ms)
		}
		// Nothing readable at rest: the intent, the inbox item and the
		// delivery records hold no code.
		var leaks int
		must(t, f.db.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM notification_intents i WHERE strpos(i::text, $1) > 0) +
			(SELECT count(*) FROM notifications n WHERE strpos(n::text, $1) > 0) +
			(SELECT count(*) FROM notification_deliveries d WHERE strpos(d::text, $1) > 0)`, code).Scan(&leaks))
		if leaks != 0 {
			t.Fatalf("code %s stored in %d notification rows", code, leaks)
		}
	}
	// Delivering again sends nothing more (each target at most once).
	var again int64
	must(t, f.db.QueryRow(ctx, `SELECT id FROM notification_intents WHERE participant_id = $1 AND event_type = 'reward_delivered'`, both).Scan(&again))
	must(t, disp.Deliver(ctx, again))
	if n := len(smsSim.Messages(phones[both])); n != 1 {
		t.Fatalf("%d SMS after a second delivery", n)
	}
}
