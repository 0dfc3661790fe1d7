// Package audit is the append-only record of who changed money, rules or
// people, and who read a participant's full legal data: every staff route,
// operator command and worker that does either records an Entry in the
// same transaction as the change, so the log and the change commit or
// roll back together.
//
// The package holds the types and the rules of an entry; the store is
// internal/postgres/auditdb. Code that records takes a Recorder it owns
// or this one.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"time"
	"unicode/utf8"
)

// ActorKind says who acted.
type ActorKind string

// Actor kinds (audit_log.actor_kind).
const (
	Staff       ActorKind = "staff"       // a dashboard user (ID: dashboard_users.id)
	Participant ActorKind = "participant" // a participant (ID: participants.id)
	System      ActorKind = "system"      // a worker or scheduler
	CLI         ActorKind = "cli"         // an operator at the command line (Name: the OS user)
)

// Actor is who acted.
type Actor struct {
	Kind ActorKind
	ID   int64 // 0 for System and CLI
	Name string
	IP   string
}

// StaffActor is the dashboard user id named name acting from ip.
func StaffActor(id int64, name, ip string) Actor {
	return Actor{Kind: Staff, ID: id, Name: name, IP: ip}
}

// Entry is one audited action. Before and After are the object's state
// around the change as JSON (nil where there is none: a creation has no
// Before, a read has neither); they must never hold secrets (password
// hashes, sealed legal data, delivered codes).
type Entry struct {
	ID         int64
	At         time.Time
	ClientID   int64 // 0: a platform-level action
	Actor      Actor
	Action     string // dotted, e.g. "program.create", "participant.block", "tax_profile.read"
	ObjectKind string // e.g. "program", "participant"
	ObjectID   string
	Before     json.RawMessage
	After      json.RawMessage
	Reason     string
}

var (
	actionRe = regexp.MustCompile(`^[a-z][a-z_]*(\.[a-z][a-z_]*)+$`)
	objectRe = regexp.MustCompile(`^[a-z][a-z_]*$`)
)

// MaxReasonRunes bounds an entry's free-text reason.
const MaxReasonRunes = 2000

// Validate checks e before it is recorded (the database checks the same).
func (e Entry) Validate() error {
	switch e.Actor.Kind {
	case Staff, Participant:
		if e.Actor.ID <= 0 {
			return fmt.Errorf("audit: %s actor needs an id", e.Actor.Kind)
		}
	case System, CLI:
	default:
		return fmt.Errorf("audit: unknown actor kind %q", e.Actor.Kind)
	}
	if !actionRe.MatchString(e.Action) {
		return fmt.Errorf("audit: bad action %q", e.Action)
	}
	if !objectRe.MatchString(e.ObjectKind) {
		return fmt.Errorf("audit: bad object kind %q", e.ObjectKind)
	}
	if !utf8.ValidString(e.Reason) || utf8.RuneCountInString(e.Reason) > MaxReasonRunes {
		return fmt.Errorf("audit: reason is not valid UTF-8 or longer than %d characters", MaxReasonRunes)
	}
	for _, raw := range []json.RawMessage{e.Before, e.After} {
		if raw != nil && !json.Valid(raw) {
			return fmt.Errorf("audit: before/after is not JSON")
		}
	}
	return nil
}

// State marshals v for Entry.Before or After; nil stays nil.
func State(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		// A state is a plain struct or map of the caller's; failing to
		// marshal one is a programming error worth seeing in the log.
		b, _ = json.Marshal(map[string]string{"marshal_error": err.Error()})
	}
	return b
}

// Recorder records entries. Record joins the transaction the context
// carries, so the entry commits with the change it describes.
type Recorder interface {
	Record(ctx context.Context, e Entry) error
}

// Filter selects entries for a list or an export.
type Filter struct {
	ClientID   int64 // 0 with AllClients: every client (operator only)
	AllClients bool
	Action     string // prefix, e.g. "program." ; "" all
	ObjectKind string
	ObjectID   string
	ActorID    int64
	From, To   time.Time // [From, To); zero: open
	BeforeID   int64     // keyset page: entries with id < BeforeID; 0: newest
	Limit      int
}
