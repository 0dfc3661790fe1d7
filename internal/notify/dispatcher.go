package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/notify/email"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/push"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/sms"
)

// Recipient is the participant an intent goes to, as stored now.
type Recipient struct {
	ClientID int64
	Phone    string
	Email    string
	Name     string
}

// Pending is an intent loaded for delivery with its state.
type Pending struct {
	Intent
	Recipient Recipient
	// Done: delivered or given up; nothing more to do.
	Done     bool
	Attempts int
}

// Device is a registered push device of a participant.
type Device struct {
	ID    int64
	Token string
}

// Claim is the outcome of claiming a delivery target.
type Claim int

// Claim outcomes.
const (
	// Claimed: this delivery owns the target until the lease ends.
	Claimed Claim = iota
	// AlreadyDone: the target got the message (or failed for good) before.
	AlreadyDone
	// Busy: another delivery holds an unexpired lease on the target.
	Busy
)

// TargetStatus is the final state written for a claimed target.
type TargetStatus string

// Target states after a send.
const (
	TargetSent    TargetStatus = "sent"
	TargetFailed  TargetStatus = "failed"  // permanent for this target
	TargetPending TargetStatus = "pending" // released for a retry
)

// Store is what the Dispatcher needs from storage (notifydb.Store).
type Store interface {
	// LoadIntent returns the intent with its recipient; ErrNotFound if gone.
	LoadIntent(ctx context.Context, id int64) (Pending, error)
	// Preferences returns the participant's preferences (defaults if none).
	Preferences(ctx context.Context, participantID int64) (Preferences, error)
	// AddInboxItem writes the intent's inbox item unless it exists and
	// returns its id either way.
	AddInboxItem(ctx context.Context, p Pending, c Content) (int64, error)
	// UnreadCount counts the participant's unread inbox items.
	UnreadCount(ctx context.Context, participantID int64) (int, error)
	// Devices lists the participant's push devices.
	Devices(ctx context.Context, participantID int64) ([]Device, error)
	// DeleteDevice removes a device whose token FCM refused for good.
	DeleteDevice(ctx context.Context, deviceID int64) error
	// ClaimTarget claims (intent, channel, target) until leaseUntil if it
	// is new, released, or its lease ended before now.
	ClaimTarget(ctx context.Context, intentID int64, ch Channel, target string, now, leaseUntil time.Time) (Claim, error)
	// FinishTarget records a claimed target's outcome.
	FinishTarget(ctx context.Context, intentID int64, ch Channel, target string, st TargetStatus, externalID, errText string) error
	// Reschedule records a failed attempt (errText non-empty) and, if at
	// is not zero, moves the intent's next attempt to at and clears its
	// enqueue mark so the relay enqueues it again when due.
	Reschedule(ctx context.Context, intentID int64, at time.Time, errText string) error
	// Finish closes the intent (delivered, or failed with errText) and
	// erases its secrets (the password of Credentials).
	Finish(ctx context.Context, intentID int64, delivered bool, errText string) error
}

// PushSender sends one push (fcm.Sender).
type PushSender interface {
	Send(ctx context.Context, m push.Message) (push.Result, error)
}

// SMSSender sends one SMS (sms.Client).
type SMSSender interface {
	Send(ctx context.Context, m sms.Message) (sms.Result, error)
}

// EmailSender sends one e-mail (email.Client).
type EmailSender interface {
	Send(ctx context.Context, m email.Message) (email.Result, error)
}

// SecretSource opens, at send time, the secret a notification carries but
// its stored intent must not: a delivered prize's code (rewarddb.Store).
// It returns ErrNotFound if the redemption is not the participant's or
// has no goods.
type SecretSource interface {
	RewardSecret(ctx context.Context, participantID int64, redemptionID string) (RewardSecret, error)
}

// Dispatcher delivers intents. It is safe for concurrent use.
type Dispatcher struct {
	store   Store
	secrets SecretSource
	push    PushSender
	sms     SMSSender
	email   EmailSender
	now     func() time.Time
	lease   time.Duration
	maxAge  time.Duration
	log     *slog.Logger
}

// Option configures a Dispatcher.
type Option func(*Dispatcher)

// WithPush, WithSMS and WithEmail set the channel senders; a channel
// without a sender is skipped (logged once per delivery at debug).
func WithPush(s PushSender) Option { return func(d *Dispatcher) { d.push = s } }

// WithSMS sets the SMS sender.
func WithSMS(s SMSSender) Option { return func(d *Dispatcher) { d.sms = s } }

// WithEmail sets the e-mail sender.
func WithEmail(s EmailSender) Option { return func(d *Dispatcher) { d.email = s } }

// WithSecrets sets where a reward's code is opened at send time; without
// it RewardDelivered sends no SMS and its e-mail is a notice without the code.
func WithSecrets(s SecretSource) Option { return func(d *Dispatcher) { d.secrets = s } }

// WithClock injects the clock (quiet hours, leases, expiry).
func WithClock(now func() time.Time) Option { return func(d *Dispatcher) { d.now = now } }

// WithLease sets how long a claimed target stays claimed if the worker
// dies: longer than one send can take (fcm.Options.Timeout). Default 2 min.
func WithLease(l time.Duration) Option { return func(d *Dispatcher) { d.lease = l } }

// WithMaxAge sets when an undeliverable intent is given up. Default 72 h.
func WithMaxAge(a time.Duration) Option { return func(d *Dispatcher) { d.maxAge = a } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(d *Dispatcher) { d.log = l } }

// NewDispatcher returns a Dispatcher on store.
func NewDispatcher(store Store, opts ...Option) *Dispatcher {
	d := &Dispatcher{store: store, now: time.Now, lease: 2 * time.Minute, maxAge: 72 * time.Hour, log: slog.Default()}
	for _, o := range opts {
		o(d)
	}
	return d
}

// ErrInProgress is returned (a transient error) when another delivery of
// the same intent holds a target: retry later to see it finished.
var ErrInProgress = errors.New("notify: delivery in progress elsewhere")

// Deliver delivers intent id: one inbox item, then every enabled channel,
// each target at most once. Its error is retry policy for the task
// handler: nil when done (also when already delivered, or the push waits
// for the end of quiet hours: the relay enqueues it again then), an error
// wrapping ErrPermanent when retrying cannot help (wrap it in
// asynq.SkipRetry), any other error is transient (retry with backoff;
// RetryAfter(err) tells a rate limit's delay).
func (d *Dispatcher) Deliver(ctx context.Context, id int64) error {
	p, err := d.store.LoadIntent(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w: intent %d not found", ErrPermanent, id)
	}
	if err != nil {
		return err
	}
	if p.Done {
		return nil
	}
	log := d.log.With(slog.Int64("intent_id", id), slog.String("event_type", string(p.Type)),
		slog.Int64("participant_id", p.ParticipantID))
	content, err := Render(p.Type, p.Data)
	if err != nil {
		if ferr := d.store.Finish(ctx, id, false, err.Error()); ferr != nil {
			return ferr
		}
		log.ErrorContext(ctx, "notification_unrenderable", slog.Any("error", err))
		return err
	}
	prefs, err := d.store.Preferences(ctx, p.ParticipantID)
	if err != nil {
		return err
	}
	now := d.now()

	var inboxID int64
	if prefs.Enabled(p.Type, ChannelInbox) {
		if inboxID, err = d.store.AddInboxItem(ctx, p, content); err != nil {
			return err
		}
	}

	smsOn := prefs.Enabled(p.Type, ChannelSMS) && p.Recipient.Phone != "" && d.sms != nil
	mailOn := prefs.Enabled(p.Type, ChannelEmail) && p.Recipient.Email != "" && d.email != nil
	if p.Type == RewardDelivered && d.secrets != nil && (smsOn || mailOn) {
		// Opened now, held only in memory for this send: the inbox and the
		// push keep the notice without the code.
		sec, err := d.secrets.RewardSecret(ctx, p.ParticipantID, p.Data.RedemptionID)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return err
		default:
			data := p.Data
			data.Reward = sec
			withCode, err := Render(p.Type, data)
			if err != nil {
				return err
			}
			content.SMS, content.EmailText = withCode.SMS, withCode.EmailText
		}
	}

	var r round
	if smsOn && content.SMS != "" {
		d.once(ctx, &r, log, id, ChannelSMS, "phone", now, func(ctx context.Context) (string, error) {
			res, err := d.sms.Send(ctx, sms.Message{To: p.Recipient.Phone, Text: content.SMS, TTL: content.TTL})
			return res.ID, err
		})
	}
	if mailOn && content.EmailText != "" {
		d.once(ctx, &r, log, id, ChannelEmail, "email", now, func(ctx context.Context) (string, error) {
			res, err := d.email.Send(ctx, email.Message{To: p.Recipient.Email, ToName: p.Recipient.Name,
				Subject: content.EmailSubject, Text: content.EmailText,
				Headers: map[string]string{"X-Loyaltyjam-Notification": strconv.FormatInt(id, 10)}})
			return res.MessageID, err
		})
	}
	var quietUntil time.Time
	if prefs.Enabled(p.Type, ChannelPush) && d.push != nil {
		if until, quiet := prefs.QuietUntil(now); quiet && !p.Urgent && !content.Urgent {
			quietUntil = until
		} else if err := d.pushAll(ctx, &r, log, p, content, inboxID, now); err != nil {
			r.transient = append(r.transient, err)
		}
	}

	switch {
	case len(r.transient) > 0 || r.busy:
		err := errors.Join(r.transient...)
		if r.busy && err == nil {
			err = ErrInProgress
		}
		if now.Sub(p.CreatedAt) > d.maxAge {
			if ferr := d.store.Finish(ctx, id, false, "expired: "+err.Error()); ferr != nil {
				return ferr
			}
			log.WarnContext(ctx, "notification_expired", slog.Int("attempts", p.Attempts+1), slog.Any("error", err))
			return fmt.Errorf("%w: intent %d expired after %d attempts: %w", ErrPermanent, id, p.Attempts+1, err)
		}
		// Asynq retries this task with backoff; the relay re-enqueues it
		// only if the task is lost.
		if rerr := d.store.Reschedule(ctx, id, time.Time{}, err.Error()); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	case !quietUntil.IsZero():
		log.InfoContext(ctx, "notification_push_deferred", slog.Time("until", quietUntil))
		return d.store.Reschedule(ctx, id, quietUntil, "")
	}
	if err := d.store.Finish(ctx, id, true, ""); err != nil {
		return err
	}
	log.InfoContext(ctx, "notification_delivered", slog.Int("sent", r.sent))
	return nil
}

// round collects the outcomes of one delivery attempt.
type round struct {
	sent      int
	busy      bool
	transient []error
}

// once claims one target, sends to it and records the outcome. The
// bookkeeping after the send runs even if ctx was cancelled meanwhile: a
// message that went out must be recorded, or a retry would send it again.
// It returns the send error for the caller's own classification.
func (d *Dispatcher) once(ctx context.Context, r *round, log *slog.Logger, id int64, ch Channel, target string,
	now time.Time, send func(context.Context) (string, error)) error {
	claim, err := d.store.ClaimTarget(ctx, id, ch, target, now, now.Add(d.lease))
	switch {
	case err != nil:
		r.transient = append(r.transient, err)
		return nil
	case claim == AlreadyDone:
		return nil
	case claim == Busy:
		r.busy = true
		return nil
	}
	extID, sendErr := send(ctx)
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	st, errText := TargetSent, ""
	switch {
	case sendErr == nil:
		r.sent++
	case isTransient(ctx, sendErr):
		st, errText = TargetPending, sendErr.Error()
		r.transient = append(r.transient, fmt.Errorf("%s %s: %w", ch, target, sendErr))
	default:
		st, errText = TargetFailed, sendErr.Error()
		log.WarnContext(ctx, "notification_target_failed", slog.String("channel", string(ch)),
			slog.String("target", target), slog.Any("error", sendErr))
	}
	if err := d.store.FinishTarget(bctx, id, ch, target, st, extID, errText); err != nil {
		r.transient = append(r.transient, err)
	}
	return sendErr
}

// isTransient: the channel says retry, or the send was cut short.
func isTransient(ctx context.Context, err error) bool {
	var ra retryAfterer
	if errors.As(err, &ra) {
		return ra.Retryable() || ctx.Err() != nil
	}
	return true // not a classified channel error: a network or context failure
}

// pushAll sends the push to every device of the participant, each at most
// once, and removes the devices whose token FCM refused.
func (d *Dispatcher) pushAll(ctx context.Context, r *round, log *slog.Logger, p Pending, c Content, inboxID int64, now time.Time) error {
	devices, err := d.store.Devices(ctx, p.ParticipantID)
	if err != nil || len(devices) == 0 {
		return err
	}
	data := maps.Clone(c.PushData)
	if inboxID != 0 {
		data["notification_id"] = strconv.FormatInt(inboxID, 10)
	}
	msg := push.Message{Title: c.Title, Body: c.Body, Data: data, CollapseKey: c.CollapseKey, TTL: c.TTL,
		ChannelID: c.AndroidChannel, ThreadID: c.AndroidChannel}
	if c.NormalPriority {
		msg.Priority = push.PriorityNormal
	}
	if inboxID != 0 {
		if n, err := d.store.UnreadCount(ctx, p.ParticipantID); err == nil {
			msg.Badge = &n
		}
	}
	for _, dev := range devices {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		m := msg
		m.Token = dev.Token
		target := "device:" + strconv.FormatInt(dev.ID, 10)
		sendErr := d.once(ctx, r, log, p.ID, ChannelPush, target, now, func(ctx context.Context) (string, error) {
			res, err := d.push.Send(ctx, m)
			return res.MessageID, err
		})
		if errors.Is(sendErr, push.ErrTokenInvalid) {
			bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			if err := d.store.DeleteDevice(bctx, dev.ID); err != nil {
				r.transient = append(r.transient, err)
			}
			cancel()
			log.InfoContext(ctx, "push_device_removed", slog.Int64("device_id", dev.ID), slog.String("token", push.MaskToken(dev.Token)))
		}
	}
	return nil
}
