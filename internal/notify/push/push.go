package push

import "time"

// Priority is the delivery priority of a push message.
type Priority int

const (
	// PriorityHigh wakes the device at once (Android "high", APNs 10). Use it
	// for messages the participant is waiting for: points credited, receipt
	// rejected, a sign-in on a new device.
	PriorityHigh Priority = iota
	// PriorityNormal lets the OS batch delivery to save battery (Android
	// "normal", APNs 5). Use it for reminders and digests.
	PriorityNormal
)

// MaxCollapseKey is APNs' limit on apns-collapse-id in bytes, the stricter
// of the two platforms.
const MaxCollapseKey = 64

// Message is one push notification to one device.
type Message struct {
	// Token is the FCM registration token of the device. Required.
	Token string
	// Title and Body are the visible notification text.
	Title string
	Body  string
	// Data is delivered to the app with the notification, e.g. "type",
	// "receipt_id", "deep_link". FCM reserves the keys "from",
	// "message_type" and any key starting with "google." or "gcm.".
	Data map[string]string
	// CollapseKey makes a newer message replace an older undelivered one
	// with the same key (Android collapse_key and notification tag, APNs
	// apns-collapse-id). At most 64 bytes. Use e.g. "receipt:<id>" so a
	// retried delivery does not show twice.
	CollapseKey string
	// TTL is how long FCM keeps the message for an offline device (Android
	// ttl, APNs apns-expiration). Zero means FCM's default of four weeks.
	TTL time.Duration
	// Priority defaults to PriorityHigh.
	Priority Priority
	// ChannelID is the Android notification channel (created by the app),
	// e.g. "receipts". Empty uses the app's default channel.
	ChannelID string
	// Sound is the notification sound; empty means "default".
	Sound string
	// Badge, if not nil, sets the iOS app icon badge (e.g. the unread count).
	Badge *int
	// ThreadID groups notifications on iOS (aps thread-id), e.g. "receipts".
	ThreadID string
}

// Result is the outcome of a successful send.
type Result struct {
	// MessageID is FCM's name for the message,
	// "projects/{project}/messages/{id}".
	MessageID string
}

// TokenResult is the outcome of one device's send in SendEach.
type TokenResult struct {
	Token     string
	MessageID string
	// Err is nil on success, otherwise an *Error (see Send).
	Err error
}

// MaskToken shortens a registration token for logs: the first 6 and last 4
// characters, so support can correlate without the log holding a usable
// token.
func MaskToken(t string) string {
	if len(t) <= 12 {
		return "***"
	}
	return t[:6] + "…" + t[len(t)-4:]
}
