// Package notify is the notification system every feature uses: a
// notification intent (who, which event, its data) is written to an outbox
// in the same database transaction as the event that causes it; a relay
// turns open intents into delivery tasks; the Dispatcher delivers one
// intent: it renders the Russian template, writes one inbox item and sends
// push (to every device of the participant), SMS and e-mail as the event
// type and the participant's preferences say, honouring quiet hours.
//
// Exactly-once per target: before sending to a device (or phone, or
// address) the Dispatcher claims a delivery row with a lease and marks it
// sent right after, so a retried, concurrent or interrupted delivery never
// sends again to a target that already got the message. Only a worker
// killed between a send and its bookkeeping (milliseconds) can cause one
// duplicate once the lease expires; the push collapse key then replaces
// rather than adds the notification on the phone.
//
// The package is domain code: storage is behind the Store interface
// (internal/postgres/notifydb), queueing behind Enqueuer
// (internal/queue), and the channel clients behind small interfaces the
// push, sms and email packages satisfy.
package notify
