package registry

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/email"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/sms"
	"github.com/loyaltyjam/loyaltyjam/internal/password"
)

// Invitation is one invitation message to one participant by one channel.
type Invitation struct {
	ID            int64      `json:"id"`
	UploadID      int64      `json:"upload_id"`
	ParticipantID int64      `json:"participant_id"`
	Channel       string     `json:"channel"`
	Method        string     `json:"method"`
	Round         int        `json:"round"`
	Status        string     `json:"status"` // pending, sent, failed
	Attempts      int        `json:"attempts"`
	ErrorCode     string     `json:"error_code,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	LastAttemptAt *time.Time `json:"last_attempt_at,omitempty"` // the latest delivery attempt
	SentAt        *time.Time `json:"sent_at,omitempty"`
	// SignedInAt is the participant's first sign-in, if any.
	SignedInAt *time.Time `json:"signed_in_at,omitempty"`
	// NewPassword: a re-send that asked for new credentials even if the
	// participant has signed in (password invitations).
	NewPassword bool `json:"new_password,omitempty"`

	// For composing the message; never serialised or logged.
	Phone      string `json:"-"`
	Email      string `json:"-"`
	Name       string `json:"-"`
	ClientName string `json:"-"`
	// ProgramName is the program the participant is invited to: the
	// client's program running now, else its latest ("" if it has none).
	ProgramName string `json:"-"`
}

// programName is what the invitation names: the program, which is what
// the participant will see in the app, not the client's legal name; the
// client's name only when it has no program yet.
func (inv Invitation) programName() string {
	if inv.ProgramName != "" {
		return inv.ProgramName
	}
	return inv.ClientName
}

// Invitation statuses.
const (
	InvitePending = "pending"
	InviteSent    = "sent"
	InviteFailed  = "failed"
)

// InviteRetryWindow is how long after its creation a transient delivery
// failure leaves an invitation pending (retried by the task, then by the
// sweeper); after it the invitation is marked failed with the failure's
// code, which also erases a round's kept password.
const InviteRetryWindow = 72 * time.Hour

// ErrInvitationSettled is returned by Applier.InvitationPassword when the
// invitation was sent or failed meanwhile (a concurrent run): skip it.
var ErrInvitationSettled = errors.New("registry: invitation no longer pending")

// GeneratePassword returns a new invitation password and its hash.
type GeneratePassword func() (plain, hash string, err error)

// Applier is what the Processor needs from storage. Implemented by
// registrydb.Store.
type Applier interface {
	// Get returns an upload, or ErrNotFound.
	Get(ctx context.Context, id int64) (Upload, error)
	// Start moves a confirmed upload to processing (a processing one stays)
	// and returns it.
	Start(ctx context.Context, id int64) (Upload, error)
	// ApplyParticipants applies a participant upload in one transaction:
	// shops, participants, invitations, status applied.
	ApplyParticipants(ctx context.Context, id int64) (Result, error)
	// ApplyPoints posts a points upload's differences in one transaction
	// after checking the budget (ErrBudget: nothing posted), reporting
	// progress on the upload as it goes, and marks it applied. Under the
	// same locks it re-checks maker-checker (NeedsSecondApproval against
	// the registries applied so far): an upload its own uploader confirmed
	// that now needs a second person is put back to validated and
	// ErrAwaitsSecondApproval returned, nothing posted.
	ApplyPoints(ctx context.Context, id int64) (Result, error)
	// Fail marks an upload failed with a reason.
	Fail(ctx context.Context, id int64, code, message string) error
	// PendingInvitations returns the upload's invitations still to send.
	PendingInvitations(ctx context.Context, id int64) ([]Invitation, error)
	// InvitationPassword returns the password a pending password
	// invitation sends: one per participant and round, shared by every
	// channel and every retry of the round. The round's first call decides,
	// in one transaction with the participant locked: if the participant
	// has not signed in yet (status invited), has no password, or
	// inv.NewPassword, gen's
	// password is kept for the round and its hash becomes the participant's
	// password; otherwise the round keeps the current password and "" is
	// returned. Later calls of the round return the same result without
	// calling gen. The kept plain text is erased once no invitation of the
	// round is pending (MarkInvitation). ErrInvitationSettled if inv is no
	// longer pending.
	InvitationPassword(ctx context.Context, inv Invitation, gen GeneratePassword) (string, error)
	// MarkInvitation records a send attempt's outcome; when it settles the
	// last pending invitation of a round it erases the round's password.
	MarkInvitation(ctx context.Context, id int64, status, providerID, errorCode string) error
}

// SMSSender sends an SMS (sms.Client).
type SMSSender interface {
	Send(ctx context.Context, m sms.Message) (sms.Result, error)
}

// EmailSender sends an e-mail (email.Client).
type EmailSender interface {
	Send(ctx context.Context, m email.Message) (email.Result, error)
}

// ProcessorConfig configures a Processor.
type ProcessorConfig struct {
	// AppLink is the app's download page, put in invitations.
	AppLink string
	Logger  *slog.Logger
}

// Processor applies confirmed uploads and sends invitations; the worker's
// task handler calls Process.
type Processor struct {
	store Applier
	sms   SMSSender
	mail  EmailSender
	cfg   ProcessorConfig
}

// NewProcessor returns a Processor. sms or mail may be nil: invitations by
// that channel then stay pending and are reported as failed.
func NewProcessor(store Applier, smsSender SMSSender, mail EmailSender, cfg ProcessorConfig) *Processor {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.AppLink == "" {
		cfg.AppLink = "https://loyaltyjam.ru/app"
	}
	return &Processor{store: store, sms: smsSender, mail: mail, cfg: cfg}
}

// Process does what is due for an upload: applies it if it is confirmed
// (or was left processing by a crash), then sends its pending invitations.
// It returns nil when everything is done, including when the upload ended
// failed (e.g. the budget was short: recorded on the upload, retrying would
// not help); an error wrapping ErrPermanent when the upload cannot be
// processed (unknown, not confirmed); any other error is transient and the
// task should be retried — processing is idempotent.
func (p *Processor) Process(ctx context.Context, uploadID int64) error {
	u, err := p.store.Get(ctx, uploadID)
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w: upload %d not found", ErrPermanent, uploadID)
	}
	if err != nil {
		return err
	}
	switch u.Status {
	case StatusConfirmed, StatusProcessing:
		if err := p.apply(ctx, u); err != nil {
			return err
		}
	case StatusApplied, StatusFailed:
	default:
		return fmt.Errorf("%w: upload %d is %s, not confirmed", ErrPermanent, uploadID, u.Status)
	}
	if u.Kind == KindParticipants {
		return p.sendInvitations(ctx, uploadID)
	}
	return nil
}

func (p *Processor) apply(ctx context.Context, u Upload) error {
	if _, err := p.store.Start(ctx, u.ID); err != nil {
		return err
	}
	start := time.Now()
	var (
		res Result
		err error
	)
	if u.Kind == KindParticipants {
		res, err = p.store.ApplyParticipants(ctx, u.ID)
	} else {
		res, err = p.store.ApplyPoints(ctx, u.ID)
	}
	if errors.Is(err, ErrAwaitsSecondApproval) {
		// Back with the staff: another person confirms it (a new task).
		p.cfg.Logger.WarnContext(ctx, "registry_awaits_second_approval", "upload_id", u.ID)
		return nil
	}
	if e, ok := apperr.As(err); ok && e.Kind != apperr.Internal {
		// A domain outcome (budget short): final, nothing was changed.
		if ferr := p.store.Fail(ctx, u.ID, e.Code, e.Message); ferr != nil {
			return ferr
		}
		p.cfg.Logger.WarnContext(ctx, "registry_failed", "upload_id", u.ID, "code", e.Code)
		return nil
	}
	if err != nil {
		return err
	}
	p.cfg.Logger.InfoContext(ctx, "registry_applied", "upload_id", u.ID, "kind", string(u.Kind),
		"posted", res.Posted, "created", res.Created, "updated", res.Updated,
		"debits_refused", len(res.DebitsRefused), "duration", time.Since(start))
	return nil
}

type retryable interface{ Retryable() bool }

// sendInvitations sends every pending invitation once. A delivery the
// channel refuses for good is marked failed; a transient failure leaves it
// pending and makes Process return an error so the task is retried (past
// InviteRetryWindow it is marked failed). A password invitation sends the
// password of its participant's round (Applier.InvitationPassword): the
// same on every channel and on every retry, so a delivered password keeps
// working. A crash between the gateway accepting and the row being marked
// sent, or two runs at once (a sweep next to a task retry), can deliver
// one invitation twice, with the same text: harmless.
func (p *Processor) sendInvitations(ctx context.Context, uploadID int64) error {
	invs, err := p.store.PendingInvitations(ctx, uploadID)
	if err != nil {
		return err
	}
	var transient error
	for _, inv := range invs {
		pw := ""
		if inv.Method == MethodPassword {
			pw, err = p.store.InvitationPassword(ctx, inv, generatePassword)
			if errors.Is(err, ErrInvitationSettled) {
				continue
			}
			if err != nil {
				return err
			}
		}
		id, err := p.send(ctx, inv, pw)
		status, code := InviteSent, ""
		if err != nil {
			var r retryable
			if errors.As(err, &r) && r.Retryable() && time.Since(inv.CreatedAt) < InviteRetryWindow {
				transient = errors.Join(transient, err)
				status = InvitePending
			} else {
				status = InviteFailed
			}
			code = errorCode(err)
		}
		if err := p.store.MarkInvitation(ctx, inv.ID, status, id, code); err != nil {
			return err
		}
	}
	return transient
}

func errorCode(err error) string {
	var se *sms.Error
	if errors.As(err, &se) {
		return "sms_" + se.Kind.String()
	}
	var ee *email.Error
	if errors.As(err, &ee) {
		return "email_" + ee.Kind.String()
	}
	return "not_configured"
}

var errNoChannel = errors.New("channel not configured")

func (p *Processor) send(ctx context.Context, inv Invitation, pw string) (string, error) {
	login := fmt.Sprintf("Логин: ваш номер телефона %s.", inv.Phone)
	how := "Для входа введите номер — одноразовый код придёт по SMS."
	switch {
	case pw != "":
		how = fmt.Sprintf("Пароль: %s (смените его после первого входа). Можно входить и по коду из SMS.", pw)
	case inv.Method == MethodPassword:
		// A participant who has signed in keeps their password.
		how = "Входите с вашим паролем или по одноразовому коду из SMS."
	}
	switch inv.Channel {
	case ChannelSMS:
		if p.sms == nil {
			return "", errNoChannel
		}
		text := fmt.Sprintf("Вас пригласили в программу «%s». Приложение: %s %s %s", inv.programName(), p.cfg.AppLink, login, how)
		r, err := p.sms.Send(ctx, sms.Message{To: inv.Phone, Text: text})
		return r.ID, err
	case ChannelEmail:
		if p.mail == nil {
			return "", errNoChannel
		}
		hello := "Здравствуйте!"
		if inv.Name != "" {
			hello = fmt.Sprintf("Здравствуйте, %s!", inv.Name)
		}
		text := fmt.Sprintf("%s\n\nВас пригласили в программу мотивации «%s».\n\n"+
			"1. Установите приложение Loyalty Jam: %s\n2. %s\n3. %s\n\n"+
			"Фотографируйте QR-код чеков с продажами — баллы за них придут в приложение.\n",
			hello, inv.programName(), p.cfg.AppLink, login, how)
		r, err := p.mail.Send(ctx, email.Message{To: inv.Email, ToName: inv.Name,
			Subject: fmt.Sprintf("Приглашение в программу «%s»", inv.programName()), Text: text})
		return r.MessageID, err
	}
	return "", errNoChannel
}

func generatePassword() (string, string, error) {
	pw := newPassword()
	h, err := password.Hash(pw)
	return pw, h, err
}

// newPassword returns a 10-character password without look-alike
// characters (no 0/O, 1/l/I), easy to type from an SMS.
func newPassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	// Bytes ≥ 224 (4×56) are dropped so every character is equally likely.
	const limit = 256 / len(alphabet) * len(alphabet)
	out := make([]byte, 0, 10)
	b := make([]byte, 16)
	for len(out) < 10 {
		_, _ = rand.Read(b)
		for _, c := range b {
			if int(c) < limit && len(out) < 10 {
				out = append(out, alphabet[int(c)%len(alphabet)])
			}
		}
	}
	return string(out)
}
