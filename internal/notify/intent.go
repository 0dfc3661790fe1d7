package notify

import (
	"errors"
	"fmt"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
)

// EventType names what happened; it selects the template, the channels and
// the urgency of a notification.
type EventType string

// The event types.
const (
	ReceiptCredited    EventType = "receipt_credited"          // points for a receipt
	ReceiptNoPoints    EventType = "receipt_no_eligible_items" // verified, nothing eligible
	ReceiptRejected    EventType = "receipt_rejected"          // not accepted: rejected (also by a moderator, or a reversal), unreadable or a duplicate
	ReceiptNeedsReview EventType = "receipt_needs_review"      // a moderator will decide
	PointsReleased     EventType = "points_released"           // pending points became available
	TaskReviewed       EventType = "task_reviewed"             // a task report approved or rejected
	RegistryCredited   EventType = "registry_credited"         // points from a client's registry
	Invitation         EventType = "invitation"                // invited to a program (SMS, e-mail)
	Credentials        EventType = "credentials"               // login and temporary password (SMS, e-mail)
	RewardDelivered    EventType = "reward_delivered"          // a redeemed prize is ready (the code goes by SMS/e-mail, opened at send time)
	RewardFailed       EventType = "reward_failed"             // a redemption failed; the points are back
)

// Channel is a way to reach a participant.
type Channel string

// The channels. The inbox is not switchable: it is the record.
const (
	ChannelInbox Channel = "inbox"
	ChannelPush  Channel = "push"
	ChannelSMS   Channel = "sms"
	ChannelEmail Channel = "email"
)

// Data is what a template needs about the event. It is stored as JSON with
// the intent, a snapshot taken in the event's transaction, so rendering is
// a pure function of the intent. Fill the fields your event type uses.
type Data struct {
	ReceiptID string `json:"receipt_id,omitempty"`
	TaskID    string `json:"task_id,omitempty"`
	// ProgramName is the client's program name shown in the text.
	ProgramName string `json:"program_name,omitempty"`
	// PointsKopecks is the amount (1 point = 100 kopecks).
	PointsKopecks int64 `json:"points_kopecks,omitempty"`
	// Pending: the points become available when the period closes.
	Pending bool `json:"pending,omitempty"`
	// Approved is a moderation outcome (TaskReviewed).
	Approved bool `json:"approved,omitempty"`
	// Reason is the machine reason code; ReasonMessage its Russian text.
	Reason        string `json:"reason,omitempty"`
	ReasonMessage string `json:"reason_message,omitempty"`
	// PurchasedAt is the receipt's date (shop wall clock).
	PurchasedAt *time.Time `json:"purchased_at,omitempty"`
	// SumKopecks is the receipt's total.
	SumKopecks int64 `json:"sum_kopecks,omitempty"`
	// Title names the task or the registry period ("март 2026").
	Title string `json:"title,omitempty"`
	// Link is a URL for invitations (the app's download page).
	Link string `json:"link,omitempty"`
	// Login and Password for Credentials. Password is a secret: it is
	// removed from the stored intent once delivered and never put in the
	// inbox or logs.
	// RedemptionID names a redemption order (RewardDelivered, RewardFailed).
	RedemptionID string `json:"redemption_id,omitempty"`
	Login        string `json:"login,omitempty"`
	Password     string `json:"password,omitempty"`
	// Reward is a delivered prize's code, PIN and URL. It is never stored
	// (json:"-"): the Dispatcher opens it at send time through its
	// SecretSource, for the SMS and e-mail only.
	Reward RewardSecret `json:"-"`
}

// RewardSecret is a delivered prize's goods, opened from their seal.
type RewardSecret struct {
	Code, PIN, URL string
}

// Empty reports whether there is nothing to send.
func (s RewardSecret) Empty() bool { return s.Code == "" && s.PIN == "" && s.URL == "" }

// Intent is one notification to deliver.
type Intent struct {
	ID            int64
	ParticipantID int64
	Type          EventType
	Data          Data
	// DedupKey identifies the causing event; a second intent with the same
	// key is not created (e.g. "receipt:<id>:credited:1",
	// "task_submission:<id>:<status>:<event>",
	// "release:<program>:<participant>:<period end>:<released total>").
	DedupKey string
	// Urgent pushes ignore quiet hours. Event types have a default; an
	// intent can only raise it.
	Urgent    bool
	CreatedAt time.Time
}

// Validate checks an intent before it is stored.
func (in Intent) Validate() error {
	switch {
	case in.ParticipantID <= 0:
		return apperr.New(apperr.Invalid, "notification_participant_required", "Не указан получатель уведомления.")
	case specs[in.Type] == nil:
		return apperr.New(apperr.Invalid, "notification_type_unknown", fmt.Sprintf("Неизвестный тип уведомления %q.", in.Type))
	case in.DedupKey == "" || len(in.DedupKey) > 300:
		return apperr.New(apperr.Invalid, "notification_dedup_key_required", "Нужен ключ идемпотентности уведомления (до 300 символов).")
	}
	return nil
}

// ErrPermanent marks a delivery failure that retrying cannot fix (the
// intent is gone, its type unknown, its data unrenderable, the notification
// expired). The task handler wraps it in asynq.SkipRetry.
var ErrPermanent = errors.New("notify: permanent delivery failure")

// ErrNotFound is returned by stores for a missing intent or inbox item (or
// another participant's).
var ErrNotFound = apperr.New(apperr.NotFound, "notification_not_found", "Уведомление не найдено.")

// retryAfterer is the contract of the channel clients' errors.
type retryAfterer interface {
	Retryable() bool
	RetryAfter() time.Duration
}

// RetryAfter returns the delay a channel asked for in err's chain (FCM or
// gateway Retry-After), or zero. The worker's retry-delay function can use
// it to honour rate limits.
func RetryAfter(err error) time.Duration {
	var ra retryAfterer
	if errors.As(err, &ra) {
		return ra.RetryAfter()
	}
	return 0
}
