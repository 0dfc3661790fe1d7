// Package receipt holds the receipt domain: a fiscal receipt claimed by a
// participant, its state machine (design §3) and its event log. Every state
// change goes through Transition, which records an Event saying who or what
// changed it, when and why, so support can explain any outcome.
package receipt

import (
	"fmt"
	"time"
)

// Status is a receipt's state in the pipeline.
type Status string

// The states of design §3.
const (
	Received        Status = "received"    // accepted; the photo's QR is not read yet
	Decoded         Status = "decoded"     // fiscal fields known
	Queued          Status = "queued"      // verification task enqueued
	Verifying       Status = "verifying"   // a worker is asking the fiscal data operator
	PendingOFD      Status = "pending_ofd" // not yet at the operator; retried later
	Verified        Status = "verified"    // the operator confirmed it; items known
	Matched         Status = "matched"     // items matched to SKUs; points computed
	Credited        Status = "credited"    // points posted to the ledger
	NoEligibleItems Status = "no_eligible_items"
	Unreadable      Status = "unreadable" // no QR code in the photo
	Duplicate       Status = "duplicate"
	Rejected        Status = "rejected"
	NeedsReview     Status = "needs_review" // a moderator decides
)

// Terminal reports whether no automatic step follows s.
func (s Status) Terminal() bool {
	switch s {
	case Credited, NoEligibleItems, Unreadable, Duplicate, Rejected, NeedsReview:
		return true
	}
	return false
}

// next lists the allowed transitions. needs_review may be decided by a
// moderator towards matched (approve) or rejected.
var next = map[Status][]Status{
	Received:    {Decoded, Unreadable, Duplicate, Rejected},
	Decoded:     {Queued, Duplicate, Rejected},
	Queued:      {Verifying, Rejected, NeedsReview},
	Verifying:   {Verified, PendingOFD, Rejected, NeedsReview, Queued},
	PendingOFD:  {Verifying, Queued, NeedsReview, Rejected},
	Verified:    {Matched, NoEligibleItems, Rejected, NeedsReview},
	Matched:     {Credited, NoEligibleItems, NeedsReview, Rejected},
	NeedsReview: {Queued, Matched, Credited, Rejected, NoEligibleItems},
	Credited:    {Rejected}, // reversal after a dispute
}

// CanTransition reports whether from → to is allowed.
func CanTransition(from, to Status) bool {
	for _, s := range next[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Source says how the receipt reached us.
type Source string

// Sources of a receipt.
const (
	SourcePhoto  Source = "photo"
	SourceQR     Source = "qr"
	SourceManual Source = "manual"
)

// Receipt is one fiscal receipt claimed by one participant.
type Receipt struct {
	ID             string
	ClientID       int64
	ParticipantID  int64
	ProgramID      *int64
	ShopID         *int64
	Status         Status
	StatusReason   string
	Source         Source
	IdempotencyKey string
	QRRaw          string
	QRCanonical    string
	// Fiscal identity and QR fields; empty until the QR is read.
	FN          string
	FD          int64
	FP          int64
	Operation   int
	PurchasedAt time.Time // local wall-clock time of the shop, UTC location
	SumKopecks  int64
	PhotoKey    string
	GeoLat      *float64
	GeoLon      *float64
	// From the fiscal data operator.
	OFDProvider   string
	SellerName    string
	SellerINN     string
	RetailPlace   string
	RetailAddress string
	KKTRegNumber  string
	OFDRaw        []byte
	PointsKopecks int64
	Attempts      int
	NextAttemptAt *time.Time
	VerifiedAt    *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time

	Items  []Item
	Events []Event

	// ItemsChanged tells the store to replace the stored items with Items.
	ItemsChanged bool
	// pending are events recorded by Transition and not yet stored.
	pending []Event
}

// HasIdentity reports whether the fiscal fields are known.
func (r *Receipt) HasIdentity() bool { return r.FN != "" }

// Item is one line of a receipt.
type Item struct {
	LineNo        int
	Name          string
	PriceKopecks  int64
	QuantityMilli int64
	SumKopecks    int64
	GTIN          string
	SKUID         *int64
	MatchHow      string // gtin, alias, name, none
	MatchReason   string
	PointsKopecks int64
	PointsReason  string
}

// Event is one recorded state change.
type Event struct {
	At      time.Time
	From    Status
	To      Status
	Actor   string // "participant:42", "worker", "user:7", "system"
	Reason  string // machine code, e.g. "ofd_not_yet"
	Message string // Russian, fit to show the participant
	Data    map[string]any
}

// Transition moves r to status to and records why. The event's message is
// the text of reason (see Message), unless data carries a "message" string
// from the domain that chose the reason. It returns an error if the state
// machine does not allow the move.
func (r *Receipt) Transition(to Status, actor, reason string, data map[string]any) error {
	if r.Status != "" && !CanTransition(r.Status, to) {
		return fmt.Errorf("receipt %s: transition %s → %s not allowed", r.ID, r.Status, to)
	}
	r.pending = append(r.pending, Event{From: r.Status, To: to, Actor: actor, Reason: reason, Message: eventMessage(reason, data), Data: data})
	r.Status = to
	r.StatusReason = reason
	return nil
}

// Note records an event that does not change the status (a retry, a note
// by support).
func (r *Receipt) Note(actor, reason string, data map[string]any) {
	r.pending = append(r.pending, Event{From: r.Status, To: r.Status, Actor: actor, Reason: reason, Message: eventMessage(reason, data), Data: data})
}

func eventMessage(reason string, data map[string]any) string {
	if m, ok := data["message"].(string); ok && m != "" {
		return m
	}
	return Message(reason)
}

// TakePending returns the events recorded since the last call and forgets
// them; the store calls it when it persists r.
func (r *Receipt) TakePending() []Event {
	p := r.pending
	r.pending = nil
	return p
}
