// Package receipt holds the receipt domain: a fiscal receipt claimed by a
// participant, its state machine (docs/architecture.md §3) and its event log. Every state
// change goes through Transition, which records an Event saying who or what
// changed it, when and why, so support can explain any outcome.
package receipt

import (
	"fmt"
	"time"
)

// Status is a receipt's state in the pipeline.
type Status string

// The states of docs/architecture.md §3.
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
	// IdentityReleased: the claim was rejected as not belonging to its
	// claimant (ReleasesIdentity), so FN/FD/FP no longer keep another
	// participant from claiming the receipt.
	IdentityReleased bool
	FN               string
	FD               int64
	FP               int64
	Operation        int
	PurchasedAt      time.Time // local wall-clock time of the shop, UTC location
	SumKopecks       int64
	PhotoKey         string
	GeoLat           *float64
	GeoLon           *float64
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
	if ReleasesIdentity(r.Status, to, reason) {
		r.IdentityReleased = true
	}
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

// releasing are the reasons of an automatic decision that the claim does
// not belong to its claimant — another shop or client, a program or role
// that does not cover it, data the fiscal operator does not confirm, a sum
// that disagrees — so it must not keep the receipt's fiscal identity from
// the rightful seller, who may be a participant of another client. Codes of
// internal/rules, internal/points and internal/verify (listed here as
// strings: receipt imports none of them; migration 00100 repeats the list
// for rows stored before).
var releasing = map[Status]map[string]bool{
	Rejected: {
		"shop_mismatch": true, "no_shop": true, "no_program": true, "program_not_active": true,
		"outside_program_dates": true, "receipt_too_old": true, "purchase_in_future": true,
		"role_not_eligible": true, "participant_blocked": true,
		"ofd_not_found": true, "ofd_invalid": true, "ofd_mismatch": true, "sum_mismatch": true,
		"ofd_no_data_after_review": true,
	},
	// None of the client's products: the receipt may be another client's.
	NoEligibleItems: {"no_eligible_items": true, "program_rules_none": true},
}

// ReleasesIdentity reports whether moving a claim from → to for reason
// gives its fiscal identity back, so another participant can claim the
// receipt. A moderator's rejection, a reversal of a credited receipt and a
// capped or budget-limited receipt keep it: a person decided, or the
// receipt did belong.
func ReleasesIdentity(from, to Status, reason string) bool {
	return from != Credited && releasing[to][reason]
}
