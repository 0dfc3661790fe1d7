// Package push holds what the notifier and a push client share: the
// platform-neutral Message, its Result, and the classified send failure
// (*Error with a Kind). It imports no Firebase: the FCM client lives in the
// adapter package push/fcm, which cmd wiring hands to notify as a
// notify.PushSender, so the domain and everything that notifies build
// without the Firebase SDK.
//
// Callers decide what to do about a failed send by kind, never by message
// text:
//
//   - errors.Is(err, ErrTokenInvalid): the registration token is
//     unregistered, malformed or belongs to another project. Delete the
//     token; retrying is pointless.
//   - (*Error).Retryable(): quota exceeded (429), unavailable (503),
//     internal (500), timeouts and network errors. Retry later, no sooner
//     than (*Error).RetryAfter() when it is non-zero.
//   - anything else is permanent for this message (bad payload, bad
//     credentials, wrong project).
package push
