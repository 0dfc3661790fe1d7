package registrydb_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/notify/email"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/email/emailsim"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/sms"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/sms/smssim"
	"github.com/loyaltyjam/loyaltyjam/internal/password"
	"github.com/loyaltyjam/loyaltyjam/internal/registry"
)

type sims struct {
	sms  *smssim.Server
	mail *emailsim.Server
}

// withSenders points the processor at real SMS and SMTP simulators.
func withSenders(t *testing.T, f *fixture) sims {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s := sims{sms: smssim.New(smssim.Options{Logger: quiet}), mail: emailsim.New(emailsim.Options{Logger: quiet})}
	smsURL, err := s.sms.Start(ctx, "127.0.0.1:0")
	must(t, err)
	smtpAddr, err := s.mail.StartSMTP(ctx, "127.0.0.1:0")
	must(t, err)
	t.Cleanup(func() { _ = s.sms.Close(); _ = s.mail.Close() })
	smsClient, err := sms.New(sms.Options{BaseURL: smsURL, APIID: "test", Logger: quiet})
	must(t, err)
	mailClient, err := email.New(email.Options{Addr: smtpAddr, From: "noreply@loyaltyjam.ru", TLS: email.TLSNone, Logger: quiet, Timeout: 5 * time.Second})
	must(t, err)
	f.proc = registry.NewProcessor(f.store, smsClient, mailClient, registry.ProcessorConfig{Logger: quiet, AppLink: "https://lj.example/app"})
	return s
}

const participantsCSV = "ФИО;Телефон;E-mail;Роль;Код точки;ИНН;Адрес;Регион\n" +
	"Иванова Анна;+7 (916) 000-00-01;anna@example.ru;продавец;M-1;7701234567;Москва, Ленина 1;Москва\n" +
	"Петров Пётр;8 916 000-00-02;;торговый представитель;;7701234567;Москва, Мира 5;Москва\n" +
	"Сидоров Иван;9160000003;ivan@example.ru;мерчендайзер;;;;\n"

func (f *fixture) uploadParticipants(t *testing.T, data string, opts registry.Options) registry.Upload {
	t.Helper()
	u, err := f.svc.Upload(context.Background(), f.maker, registry.UploadRequest{ClientID: f.client,
		Kind: registry.KindParticipants, FileName: "staff.csv", Data: []byte(data), Options: opts})
	must(t, err)
	return u
}

func TestParticipantRegistryAppliesOnceAndInvites(t *testing.T) {
	t.Parallel()
	f := setup(t, 0, 0, 0)
	s := withSenders(t, f)
	ctx := context.Background()
	opts := registry.Options{UnknownShops: registry.UnknownShopsCreate, Invite: []string{"sms", "email"}}

	// Unknown shops reported when the client chose so: nothing stored.
	rep := f.uploadParticipants(t, participantsCSV, registry.Options{Invite: []string{"sms"}})
	if rep.Status != registry.StatusRejected || rep.ErrorCount != 2 || rep.Errors[0].Code != "unknown_shop" {
		t.Fatalf("report: %s %+v", rep.Status, rep.Errors)
	}

	u := f.uploadParticipants(t, participantsCSV, opts)
	if pv := u.Participants; u.Status != registry.StatusValidated || pv.New != 3 || pv.NewShops != 2 || pv.Invitations != 3 {
		t.Fatalf("preview: %s %+v %v", u.Status, pv, u.Errors)
	}
	u = f.apply(t, u)
	if r := u.Result; u.Status != registry.StatusApplied || r.Created != 3 || r.ShopsAdded != 2 || r.Invitations != 5 {
		t.Fatalf("applied: %s %+v", u.Status, r)
	}
	var shops, people int
	must(t, f.db.QueryRow(ctx, `SELECT (SELECT count(*) FROM shops), (SELECT count(*) FROM participants WHERE shop_id IS NOT NULL)`).Scan(&shops, &people))
	if shops != 2 || people != 2 {
		t.Errorf("shops %d, participants with a shop %d", shops, people)
	}
	// 3 SMS and 2 e-mails (one participant has no e-mail), with the login,
	// naming the program (not the client).
	for _, p := range []string{"+79160000001", "+79160000002", "+79160000003"} {
		m, ok := s.sms.Last(p)
		if !ok || !strings.Contains(m.Text, p) || !strings.Contains(m.Text, "«Продажи»") {
			t.Errorf("sms to %s: %v %q", p, ok, m.Text)
		}
	}
	e, ok := s.mail.Last("anna@example.ru")
	if !ok || !strings.Contains(e.Subject, "«Продажи»") || !strings.Contains(e.Text, "Иванова Анна") || !strings.Contains(e.Text, "https://lj.example/app") {
		t.Errorf("e-mail: %v %+v", ok, e)
	}
	invs, err := f.svc.Invitations(ctx, f.maker, u.ID)
	must(t, err)
	for _, inv := range invs {
		if inv.Status != registry.InviteSent || inv.SentAt == nil || inv.SignedInAt != nil {
			t.Errorf("invitation %+v", inv)
		}
	}

	// Re-uploading the same file changes nothing and invites nobody.
	again := f.uploadParticipants(t, participantsCSV, opts)
	if pv := again.Participants; pv.Unchanged != 3 || pv.New != 0 || pv.NewShops != 0 {
		t.Errorf("same file preview: %+v", pv)
	}
	again = f.apply(t, again)
	if r := again.Result; r.Created != 0 || r.Updated != 0 || r.Unchanged != 3 || r.Invitations != 0 || r.ShopsAdded != 0 {
		t.Errorf("same file result: %+v", r)
	}
	if n := len(s.sms.Messages("")); n != 3 {
		t.Errorf("%d SMS after the second upload, want 3", n)
	}

	// The first participant signs in; a re-send goes to the other two only.
	_, err = f.db.Exec(ctx, `UPDATE participants SET status = 'active' WHERE phone = '+79160000001'`)
	must(t, err)
	n, err := f.svc.Resend(ctx, f.maker, u.ID, nil)
	must(t, err)
	if n != 3 { // sms ×2 + e-mail ×1
		t.Errorf("resend queued %d, want 3", n)
	}
	must(t, f.proc.Process(ctx, u.ID))
	if len(s.sms.Messages("+79160000001")) != 1 || len(s.sms.Messages("+79160000002")) != 2 || len(s.mail.Emails("ivan@example.ru")) != 2 {
		t.Errorf("resend went to the wrong people")
	}
	invs, err = f.svc.Invitations(ctx, f.maker, u.ID)
	must(t, err)
	signed := 0
	for _, inv := range invs {
		if inv.SignedInAt != nil {
			signed++
		}
	}
	if len(invs) != 8 || signed != 2 { // anna's sms and e-mail rows
		t.Errorf("%d invitations, %d signed in", len(invs), signed)
	}
	if _, err := f.svc.Invitations(ctx, f.other, u.ID); err != registry.ErrNotFound {
		t.Errorf("another client read invitations: %v", err)
	}
}

func TestPasswordInvitationsAndFailedDelivery(t *testing.T) {
	t.Parallel()
	f := setup(t, 0, 0, 0)
	s := withSenders(t, f)
	ctx := context.Background()
	csv := "ФИО;Телефон;Роль;E-mail\nАнна;+79160000001;продавец;\nБорис;+79990000207;продавец;fail-b@example.ru\nВера;+79990000500;дилер;\n"
	u := f.uploadParticipants(t, csv, registry.Options{Invite: []string{"sms", "email"}, InviteMethod: registry.MethodPassword})
	_, err := f.svc.Confirm(ctx, f.checker, u.ID)
	must(t, err)
	// +79990000500 answers 500: the participants are applied, and the task
	// reports a transient error so the pending SMS is retried.
	if err := f.proc.Process(ctx, u.ID); err == nil {
		t.Fatal("a transient SMS failure was not reported for retry")
	}
	if u, err = f.store.Get(ctx, u.ID); err != nil || u.Status != registry.StatusApplied {
		t.Fatalf("status %s %v", u.Status, err)
	}
	invs, err := f.svc.Invitations(ctx, f.maker, u.ID)
	must(t, err)
	state := map[string]string{}
	for _, inv := range invs {
		var p string
		must(t, f.db.QueryRow(ctx, `SELECT phone FROM participants WHERE id = $1`, inv.ParticipantID).Scan(&p))
		state[p+"/"+inv.Channel] = inv.Status + " " + inv.ErrorCode
	}
	want := map[string]string{
		"+79160000001/sms":   "sent ",
		"+79990000207/sms":   "failed sms_rejected",
		"+79990000207/email": "failed email_rejected",
		"+79990000500/sms":   "pending sms_retryable",
	}
	for k, v := range want {
		if state[k] != v {
			t.Errorf("%s: %q, want %q", k, state[k], v)
		}
	}
	// The password in the SMS signs in against the stored argon2id hash.
	m, ok := s.sms.Last("+79160000001")
	if !ok {
		t.Fatal("no SMS")
	}
	pw := regexp.MustCompile(`Пароль: (\S+)`).FindStringSubmatch(m.Text)
	if pw == nil {
		t.Fatalf("no password in %q", m.Text)
	}
	var hash string
	must(t, f.db.QueryRow(ctx, `SELECT password_hash FROM participants WHERE phone = '+79160000001'`).Scan(&hash))
	if err := password.Verify(pw[1], hash); err != nil {
		t.Errorf("password from the SMS does not verify: %v", err)
	}
}
