package tenant

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"time"
	"unicode/utf8"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
)

// Member is a staff account (a dashboard user) as the staff pages show it.
type Member struct {
	ID            int64       `json:"id"`
	ClientID      int64       `json:"client_id,omitempty"` // 0: a platform operator
	Email         string      `json:"email"`
	Name          string      `json:"name"`
	Role          access.Role `json:"role"`
	CreatedAt     time.Time   `json:"created_at"`
	DeactivatedAt *time.Time  `json:"deactivated_at,omitempty"`
}

// Active reports whether m may sign in.
func (m Member) Active() bool { return m.DeactivatedAt == nil }

// Invitation is an invitation of a client's staff member. Its token exists
// in clear only in the e-mail (Token, set once by Invite); the store keeps
// its hash.
type Invitation struct {
	ID          int64       `json:"id"`
	ClientID    int64       `json:"client_id"`
	Email       string      `json:"email"`
	Name        string      `json:"name"`
	Role        access.Role `json:"role"`
	InvitedBy   int64       `json:"invited_by,omitempty"`
	CreatedAt   time.Time   `json:"created_at"`
	ExpiresAt   time.Time   `json:"expires_at"`
	EmailSentAt *time.Time  `json:"email_sent_at,omitempty"`
	EmailError  string      `json:"email_error,omitempty"`
	AcceptedAt  *time.Time  `json:"accepted_at,omitempty"`
	UserID      int64       `json:"user_id,omitempty"`
	RevokedAt   *time.Time  `json:"revoked_at,omitempty"`

	TokenHash []byte `json:"-"`
	Token     string `json:"-"` // only right after Invite
}

// State names where an invitation is at now: pending, accepted, revoked or
// expired.
func (i Invitation) State(now time.Time) string {
	switch {
	case i.AcceptedAt != nil:
		return "accepted"
	case i.RevokedAt != nil:
		return "revoked"
	case !now.Before(i.ExpiresAt):
		return "expired"
	}
	return "pending"
}

// InvitableRoles are the roles a client's staff may be invited with.
var InvitableRoles = []access.Role{access.ClientManager, access.Moderator, access.Analyst}

// Errors about staff. Their codes are part of the staff API.
var (
	ErrMemberNotFound     = apperr.New(apperr.NotFound, "staff_not_found", "Сотрудник не найден.")
	ErrInvitationNotFound = apperr.New(apperr.NotFound, "invitation_not_found", "Приглашение не найдено.")
	ErrEmailTaken         = &apperr.Error{Kind: apperr.Conflict, Code: "staff_email_taken", Field: "email",
		Message: "Сотрудник с таким e-mail уже есть в кабинете или приглашён в другой компании."}
	ErrBadRole = &apperr.Error{Kind: apperr.Invalid, Code: "bad_staff_role", Field: "role",
		Message: "Роль — client_manager (менеджер клиента), moderator (модератор) или analyst (аналитик, только чтение)."}
	ErrInvitationInvalid = apperr.New(apperr.NotFound, "invitation_invalid",
		"Ссылка приглашения недействительна. Попросите прислать новое приглашение.")
	ErrInvitationUsed = apperr.New(apperr.Conflict, "invitation_used",
		"Приглашение уже использовано. Войдите в кабинет со своим паролем.")
	ErrInvitationExpired = apperr.New(apperr.Conflict, "invitation_expired",
		"Срок приглашения истёк. Попросите прислать новое приглашение.")
	ErrInvitationRevoked = apperr.New(apperr.Conflict, "invitation_revoked",
		"Приглашение отозвано. Попросите прислать новое приглашение.")
	ErrDeactivateSelf = apperr.New(apperr.Conflict, "staff_deactivate_self", "Нельзя отключить собственную учётную запись.")
	ErrWeakPassword   = &apperr.Error{Kind: apperr.Invalid, Code: "weak_password", Field: "password",
		Message: "Пароль — от 10 до 128 символов."}
	ErrPasswordMismatch = &apperr.Error{Kind: apperr.Invalid, Code: "password_mismatch", Field: "password_repeat",
		Message: "Пароли не совпадают."}
)

// Password limits (characters).
const (
	MinPasswordRunes = 10
	MaxPasswordRunes = 128
)

// CheckPassword checks a password an invitee chose.
func CheckPassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	if !utf8.ValidString(pw) || n < MinPasswordRunes || n > MaxPasswordRunes {
		return ErrWeakPassword
	}
	return nil
}

// NewToken returns a fresh invitation token (256 random bits, URL-safe)
// and its hash as stored.
func NewToken() (string, []byte) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	tok := base64.RawURLEncoding.EncodeToString(b)
	return tok, HashToken(tok)
}

// HashToken is the stored form of an invitation token.
func HashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// ValidTokenShape reports whether tok could be a token NewToken made, so a
// garbage link is refused without a database round trip.
func ValidTokenShape(tok string) bool {
	if len(tok) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(tok)
	return err == nil
}
