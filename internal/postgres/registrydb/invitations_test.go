package registrydb_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/auth"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/authdb"
	"github.com/loyaltyjam/loyaltyjam/internal/ratelimit/redislimit"
	"github.com/loyaltyjam/loyaltyjam/internal/redistest"
	"github.com/loyaltyjam/loyaltyjam/internal/registry"
)

var passwordRE = regexp.MustCompile(`Пароль: (\S+)`)

func passwordIn(t *testing.T, text string) string {
	t.Helper()
	m := passwordRE.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no password in %q", text)
	}
	return m[1]
}

// signIn is the participant app's password sign-in (auth.Service.Login
// against authdb, rate limits in Redis).
func signIn(t *testing.T, f *fixture) func(phone, pw string) error {
	t.Helper()
	svc, err := auth.New(authdb.New(f.db), redislimit.New(redistest.Client(t), "regtest:"+t.Name()+":"), nil,
		auth.Config{Secret: []byte("registry-test-secret-0123456789"), Logger: quiet})
	must(t, err)
	return func(phone, pw string) error {
		_, err := svc.Login(context.Background(), phone, pw, 0, "127.0.0.1")
		return err
	}
}

func (f *fixture) hash(t *testing.T, phone string) string {
	t.Helper()
	var h string
	must(t, f.db.QueryRow(context.Background(), `SELECT COALESCE(password_hash, '') FROM participants WHERE phone = $1`, phone).Scan(&h))
	return h
}

// One password per participant and round: the SMS and the e-mail of a
// round carry the same password, a retried delivery sends it again
// without resetting it, and a re-send resets a signed-in participant's
// password only when it asks for new credentials.
func TestPasswordInvitationOnePasswordPerRound(t *testing.T) {
	t.Parallel()
	f := setup(t, 0, 0, 0)
	s := withSenders(t, f)
	login := signIn(t, f)
	ctx := context.Background()
	const phone, mail = "+79160000001", "anna@example.ru"
	u := f.uploadParticipants(t, "ФИО;Телефон;Роль;E-mail\nАнна;"+phone+";продавец;"+mail+"\n",
		registry.Options{Invite: []string{"sms", "email"}, InviteMethod: registry.MethodPassword})
	_, err := f.svc.Confirm(ctx, f.checker, u.ID)
	must(t, err)

	// The SMS goes out; the e-mail meets a transient failure (451): the
	// task reports an error and will be retried.
	s.mail.FailNext(1)
	if err := f.proc.Process(ctx, u.ID); err == nil {
		t.Fatal("a transient e-mail failure was not reported for retry")
	}
	m, ok := s.sms.Last(phone)
	if !ok {
		t.Fatal("no SMS")
	}
	smsPW := passwordIn(t, m.Text)
	hash := f.hash(t, phone)
	// While the e-mail is pending the password is kept, sealed: the
	// database never holds it in clear.
	var sealed string
	must(t, f.db.QueryRow(ctx, `SELECT password FROM registry_invitation_passwords WHERE password IS NOT NULL`).Scan(&sealed))
	if strings.Contains(sealed, smsPW) || !strings.HasPrefix(sealed, "v1:") {
		t.Errorf("kept password is not sealed: %q", sealed)
	}
	// The participant signs in with the SMS password before the retry.
	if err := login(phone, smsPW); err != nil {
		t.Fatalf("sign-in with the SMS password: %v", err)
	}

	// The retry sends the e-mail with the same password and resets nothing.
	must(t, f.proc.Process(ctx, u.ID))
	e, ok := s.mail.Last(mail)
	if !ok {
		t.Fatal("no e-mail after the retry")
	}
	mailPW := passwordIn(t, e.Text)
	if mailPW != smsPW {
		t.Errorf("e-mail password %q differs from the SMS password %q", mailPW, smsPW)
	}
	if f.hash(t, phone) != hash {
		t.Error("the retry changed the password hash")
	}
	for name, pw := range map[string]string{"SMS": smsPW, "e-mail": mailPW} {
		if err := login(phone, pw); err != nil {
			t.Errorf("sign-in with the %s password: %v", name, err)
		}
	}
	// Both invitations are settled: the kept plain text is gone.
	var kept int
	must(t, f.db.QueryRow(ctx, `SELECT count(*) FROM registry_invitation_passwords WHERE password IS NOT NULL`).Scan(&kept))
	if kept != 0 {
		t.Errorf("%d plain passwords kept after delivery", kept)
	}
	// A redelivered task (nothing pending) sends nothing and changes nothing.
	must(t, f.proc.Process(ctx, u.ID))
	if n := len(s.sms.Messages(phone)); n != 1 || f.hash(t, phone) != hash {
		t.Errorf("a repeated task: %d SMS, hash changed %v", n, f.hash(t, phone) != hash)
	}

	pid := participantID(t, f, phone)
	// A re-send to the signed-in participant without asking for new
	// credentials reminds of the login and keeps the password.
	n, err := f.svc.ResendWith(ctx, f.maker, u.ID, registry.ResendRequest{ParticipantIDs: []int64{pid}})
	must(t, err)
	if n != 2 {
		t.Fatalf("resend queued %d, want 2", n)
	}
	must(t, f.proc.Process(ctx, u.ID))
	m, _ = s.sms.Last(phone)
	e, _ = s.mail.Last(mail)
	if len(s.sms.Messages(phone)) != 2 || strings.Contains(m.Text, "Пароль:") || strings.Contains(e.Text, "Пароль:") {
		t.Errorf("reminder: %d SMS, %q / %q", len(s.sms.Messages(phone)), m.Text, e.Text)
	}
	if f.hash(t, phone) != hash {
		t.Error("a re-send without new_password reset a signed-in participant's password")
	}
	if err := login(phone, smsPW); err != nil {
		t.Errorf("the delivered password stopped working after a reminder: %v", err)
	}

	// Asked for new credentials: one new password, on both channels.
	_, err = f.svc.ResendWith(ctx, f.maker, u.ID, registry.ResendRequest{ParticipantIDs: []int64{pid}, NewPassword: true})
	must(t, err)
	must(t, f.proc.Process(ctx, u.ID))
	m, _ = s.sms.Last(phone)
	e, _ = s.mail.Last(mail)
	newSMS, newMail := passwordIn(t, m.Text), passwordIn(t, e.Text)
	if newSMS != newMail || newSMS == smsPW {
		t.Errorf("new credentials: sms %q, e-mail %q, old %q", newSMS, newMail, smsPW)
	}
	if err := login(phone, newSMS); err != nil {
		t.Errorf("sign-in with the new password: %v", err)
	}
	if err := login(phone, smsPW); err == nil {
		t.Error("the old password still works after new credentials were sent")
	}
	var rounds []int
	invs, err := f.svc.Invitations(ctx, f.maker, u.ID)
	must(t, err)
	for _, inv := range invs {
		rounds = append(rounds, inv.Round)
	}
	if len(rounds) != 6 || rounds[0] != 1 || rounds[1] != 1 || rounds[2] != 2 || rounds[3] != 2 || rounds[4] != 3 || rounds[5] != 3 {
		t.Errorf("rounds %v, want one per re-send across channels", rounds)
	}
}

func participantID(t *testing.T, f *fixture, phone string) int64 {
	t.Helper()
	var id int64
	must(t, f.db.QueryRow(context.Background(), `SELECT id FROM participants WHERE phone = $1`, phone).Scan(&id))
	return id
}

// An invitation left pending after the task's retries are exhausted is
// found by the sweeper (Stuck) and sent by the next Process; one pending
// past registry.InviteRetryWindow is given up as failed.
func TestSweeperRetriesStalePendingInvitations(t *testing.T) {
	t.Parallel()
	f := setup(t, 0, 0, 0)
	s := withSenders(t, f)
	ctx := context.Background()
	u := f.uploadParticipants(t, "ФИО;Телефон;Роль\nАнна;+79160000001;продавец\nВера;+79990000500;дилер\n",
		registry.Options{Invite: []string{"sms"}, InviteMethod: registry.MethodPassword})
	_, err := f.svc.Confirm(ctx, f.checker, u.ID)
	must(t, err)
	s.sms.FailNext(1, 503) // Анна's SMS fails once; Вера's number always answers 500
	if err := f.proc.Process(ctx, u.ID); err == nil {
		t.Fatal("transient failures were not reported for retry")
	}
	stuck := func() []int64 {
		ids, err := f.store.Stuck(ctx, 10*time.Minute)
		must(t, err)
		return ids
	}
	// Just attempted: the task's own retries are due, not the sweeper.
	if ids := stuck(); len(ids) != 0 {
		t.Errorf("stuck right after an attempt: %v", ids)
	}
	// Asynq gave up long ago; the upload is applied, only its invitations
	// are pending.
	_, err = f.db.Exec(ctx, `UPDATE registry_invitations SET last_attempt_at = now() - interval '1 hour'`)
	must(t, err)
	if ids := stuck(); len(ids) != 1 || ids[0] != u.ID {
		t.Fatalf("stuck %v, want [%d]", ids, u.ID)
	}
	var kept int
	must(t, f.db.QueryRow(ctx, `SELECT count(*) FROM registry_invitation_passwords WHERE password IS NOT NULL`).Scan(&kept))
	if kept != 2 {
		t.Errorf("%d passwords kept for the pending rounds, want 2", kept)
	}
	hash := f.hash(t, "+79160000001")
	if err := f.proc.Process(ctx, u.ID); err == nil {
		t.Fatal("Вера's SMS still fails: want an error")
	}
	m, ok := s.sms.Last("+79160000001")
	if !ok {
		t.Fatal("the swept invitation was not sent")
	}
	if err := signIn(t, f)("+79160000001", passwordIn(t, m.Text)); err != nil || f.hash(t, "+79160000001") != hash {
		t.Errorf("swept delivery: sign-in %v, hash changed %v", err, f.hash(t, "+79160000001") != hash)
	}

	// Past the retry window the last one is marked failed and the
	// sweeper stops picking the upload up.
	_, err = f.db.Exec(ctx, `UPDATE registry_invitations SET created_at = now() - interval '73 hours',
		last_attempt_at = now() - interval '1 hour' WHERE status = 'pending'`)
	must(t, err)
	if ids := stuck(); len(ids) != 1 {
		t.Fatalf("stuck %v", ids)
	}
	must(t, f.proc.Process(ctx, u.ID))
	invs, err := f.svc.Invitations(ctx, f.maker, u.ID)
	must(t, err)
	for _, inv := range invs {
		if inv.Status == registry.InvitePending {
			t.Errorf("still pending: %+v", inv)
		}
		if inv.Status == registry.InviteFailed && inv.ErrorCode != "sms_retryable" {
			t.Errorf("given up with %q", inv.ErrorCode)
		}
	}
	if ids := stuck(); len(ids) != 0 {
		t.Errorf("stuck after giving up: %v", ids)
	}
	must(t, f.db.QueryRow(ctx, `SELECT count(*) FROM registry_invitation_passwords WHERE password IS NOT NULL`).Scan(&kept))
	if kept != 0 {
		t.Errorf("%d plain passwords kept after every invitation settled", kept)
	}
}

// Two runs of one upload at once (a sweep next to a task retry) may both
// deliver an invitation, but every message of a participant carries the
// one password whose hash is stored.
func TestConcurrentInvitationRunsShareThePassword(t *testing.T) {
	t.Parallel()
	f := setup(t, 0, 0, 0)
	s := withSenders(t, f)
	ctx := context.Background()
	u := f.uploadParticipants(t, "ФИО;Телефон;Роль;E-mail\nАнна;+79160000001;продавец;a@example.ru\n"+
		"Борис;+79160000002;продавец;b@example.ru\nВера;+79160000003;дилер;v@example.ru\n",
		registry.Options{Invite: []string{"sms", "email"}, InviteMethod: registry.MethodPassword})
	_, err := f.svc.Confirm(ctx, f.checker, u.ID)
	must(t, err)
	must(t, f.proc.Process(ctx, u.ID)) // applied; now make every invitation pending again
	_, err = f.db.Exec(ctx, `UPDATE participants SET password_hash = NULL`)
	must(t, err)
	_, err = f.db.Exec(ctx, `DELETE FROM registry_invitation_passwords`)
	must(t, err)
	_, err = f.db.Exec(ctx, `UPDATE registry_invitations SET status = 'pending', sent_at = NULL`)
	must(t, err)
	s.sms.Reset()
	s.mail.Reset()
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- f.proc.Process(ctx, u.ID) }()
	}
	must(t, <-errs)
	must(t, <-errs)
	login := signIn(t, f)
	for i, who := range []struct{ phone, mail string }{{"+79160000001", "a@example.ru"}, {"+79160000002", "b@example.ru"}, {"+79160000003", "v@example.ru"}} {
		pws := map[string]bool{}
		for _, m := range s.sms.Messages(who.phone) {
			pws[passwordIn(t, m.Text)] = true
		}
		for _, e := range s.mail.Emails(who.mail) {
			pws[passwordIn(t, e.Text)] = true
		}
		if len(pws) != 1 {
			t.Errorf("participant %d got %d different passwords", i, len(pws))
		}
		for pw := range pws {
			if err := login(who.phone, pw); err != nil {
				t.Errorf("participant %d: %v", i, err)
			}
		}
	}
}

// An invitation names the program the participant joins, as the app shows
// it, not the client's legal name.
func TestInvitationNamesTheProgram(t *testing.T) {
	t.Parallel()
	f := setup(t, 0, 0, 0)
	s := withSenders(t, f)
	ctx := context.Background()
	_, err := f.db.Exec(ctx, `UPDATE clients SET name = 'ООО «Ветлужский завод автохимии»' WHERE id = $1`, f.client)
	must(t, err)
	const phone, mail = "+79160000001", "anna@example.ru"
	u := f.uploadParticipants(t, "ФИО;Телефон;Роль;E-mail\nАнна;"+phone+";продавец;"+mail+"\n",
		registry.Options{Invite: []string{"sms", "email"}})
	_, err = f.svc.Confirm(ctx, f.checker, u.ID)
	must(t, err)
	must(t, f.proc.Process(ctx, u.ID))
	m, ok := s.sms.Last(phone)
	if !ok {
		t.Fatal("no SMS")
	}
	e, ok := s.mail.Last(mail)
	if !ok {
		t.Fatal("no e-mail")
	}
	for what, text := range map[string]string{"SMS": m.Text, "e-mail": e.Text, "subject": e.Subject} {
		if !strings.Contains(text, "«Продажи»") || strings.Contains(text, "Ветлужский") {
			t.Errorf("%s names %q, want the program «Продажи»", what, text)
		}
	}
}
