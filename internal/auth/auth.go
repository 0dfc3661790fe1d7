package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/logging"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/sms"
	"github.com/loyaltyjam/loyaltyjam/internal/password"
	"github.com/loyaltyjam/loyaltyjam/internal/phone"
	"github.com/loyaltyjam/loyaltyjam/internal/ratelimit"
)

// Participant statuses.
const (
	StatusInvited = "invited"
	StatusActive  = "active"
	StatusBlocked = "blocked"
)

// Participant is what sign-in needs to know about a participant.
type Participant struct {
	ID           int64
	ClientID     int64
	ClientCode   string
	ClientName   string
	Phone        string
	Login        string
	Role         string
	Status       string
	IsTest       bool
	ShopID       *int64
	PasswordHash string
	// BlockedReason is what staff wrote when they blocked the participant
	// (people.Block); the participant reads it in BlockedError.
	BlockedReason string
	// MustChangePassword: the password was issued by a registry
	// invitation and the participant has not chosen their own since.
	MustChangePassword bool
}

// BlockedError is ErrBlocked with the reason staff gave, so the seller
// learns why (403 participant_blocked on every request).
func BlockedError(reason string) error {
	if reason == "" {
		return ErrBlocked
	}
	return apperr.New(apperr.Forbidden, ErrBlocked.Code,
		"Ваша учётная запись заблокирована. Причина: "+reason+". Обратитесь к организатору программы.")
}

// OTP is a stored one-time code.
type OTP struct {
	ID        int64
	Phone     string
	CodeHash  []byte
	ExpiresAt time.Time
	Attempts  int
}

// RefreshToken is a stored refresh token (its hash).
type RefreshToken struct {
	FamilyID      string
	ParticipantID int64
	Hash          []byte
	ExpiresAt     time.Time
}

// Store persists participants' sign-in state.
type Store interface {
	// ParticipantsByPhone returns every participant with the E.164 phone,
	// of any status, ordered by id; none is not an error.
	ParticipantsByPhone(ctx context.Context, phone string) ([]Participant, error)
	// ParticipantByLogin returns the participant with the login (case
	// insensitive) or ErrNotFound.
	ParticipantByLogin(ctx context.Context, login string) (Participant, error)
	// Participant returns the participant with id or ErrNotFound.
	Participant(ctx context.Context, id int64) (Participant, error)
	// Activate turns an invited participant active (no-op otherwise).
	Activate(ctx context.Context, id int64) error
	// CreateOTP stores a new code for phone.
	CreateOTP(ctx context.Context, o OTP) error
	// LiveOTP returns the newest unconsumed code of phone that expires
	// after now, or ErrNotFound.
	LiveOTP(ctx context.Context, phone string, now time.Time) (OTP, error)
	// FailOTP counts one wrong guess on the code.
	FailOTP(ctx context.Context, id int64) error
	// ConsumeOTP marks the code used; false if it was already used (a
	// concurrent verification won).
	ConsumeOTP(ctx context.Context, id int64, now time.Time) (bool, error)
	// CreateRefresh stores a new refresh token.
	CreateRefresh(ctx context.Context, t RefreshToken) error
	// RotateRefresh, in one transaction with the old token's row locked:
	// returns ErrRefreshInvalid if hash is unknown; if the token was already
	// rotated or revoked it revokes its whole family, commits that, and
	// returns ErrRefreshReused; if it expired before now, ErrRefreshInvalid;
	// otherwise marks it rotated and stores next in the same family (next's
	// FamilyID and ParticipantID are filled in) and returns the old token.
	RotateRefresh(ctx context.Context, hash []byte, now time.Time, next *RefreshToken) (RefreshToken, error)
	// RevokeByToken revokes the family of the token with hash (no-op if
	// unknown).
	RevokeByToken(ctx context.Context, hash []byte, now time.Time) error
	// RevokeFamily revokes every token of a family.
	RevokeFamily(ctx context.Context, familyID string, now time.Time) error
	// SessionLive reports whether the sign-in session (refresh token
	// family) still has a token that is not revoked; an unknown family is
	// not live.
	SessionLive(ctx context.Context, familyID string) (bool, error)
	// SetPassword, in one transaction: stores the new hash and the time it
	// was chosen (clearing MustChangePassword), revokes every refresh token
	// family of the participant except keepFamily, and deletes the push
	// devices of the revoked sessions (and those bound to no session).
	SetPassword(ctx context.Context, participantID int64, hash, keepFamily string, now time.Time) error
	// RevokeAll revokes every refresh token family of the participant and
	// deletes their push devices; it returns how many sessions were live.
	RevokeAll(ctx context.Context, participantID int64, now time.Time) (int, error)
}

// Limiter counts attempts (see package ratelimit).
type Limiter interface {
	Allow(ctx context.Context, key string, limit int, window time.Duration) (ratelimit.Decision, error)
}

// SMSSender sends a text message (sms.Client, or the simulator behind it).
type SMSSender interface {
	Send(ctx context.Context, m sms.Message) (sms.Result, error)
}

// Config tunes the service. Zero values take the documented defaults.
type Config struct {
	// Secret signs access tokens and keys the code hashes. Required.
	Secret []byte
	// AccessTTL is the access token's life (default 15 min).
	AccessTTL time.Duration
	// RefreshTTL is a refresh token's life (default 30 days).
	RefreshTTL time.Duration
	// OTPTTL is a code's life (default 5 min).
	OTPTTL time.Duration
	// OTPMaxAttempts is the number of guesses per phone per OTPTTL, and per
	// code (default 5).
	OTPMaxAttempts int
	// OTPPerHour caps codes sent per phone per hour (default 5); one per
	// OTPResendAfter at most (default 60 s).
	OTPPerHour     int
	OTPResendAfter time.Duration
	// PerIPPerHour caps code requests, code guesses and password attempts
	// per IP per hour (default 60 each).
	PerIPPerHour int
	// LoginAttempts caps password attempts per account (whether named by
	// login or by phone) per 15 minutes (default 10).
	LoginAttempts int
	// Hasher bounds concurrent password checks (default password.Shared,
	// process-wide).
	Hasher *password.Guard
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Service signs participants in.
type Service struct {
	store   Store
	limiter Limiter
	sms     SMSSender
	cfg     Config
	log     *slog.Logger
}

// New returns a Service.
func New(store Store, limiter Limiter, sender SMSSender, cfg Config) (*Service, error) {
	if len(cfg.Secret) < 16 {
		return nil, errors.New("auth: the JWT secret must have at least 16 bytes")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defi := func(d *int, v int) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.AccessTTL, 15*time.Minute)
	def(&cfg.RefreshTTL, 30*24*time.Hour)
	def(&cfg.OTPTTL, 5*time.Minute)
	def(&cfg.OTPResendAfter, time.Minute)
	defi(&cfg.OTPMaxAttempts, 5)
	defi(&cfg.OTPPerHour, 5)
	defi(&cfg.PerIPPerHour, 60)
	defi(&cfg.LoginAttempts, 10)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Hasher == nil {
		cfg.Hasher = password.Shared
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{store: store, limiter: limiter, sms: sender, cfg: cfg, log: cfg.Logger}, nil
}

// Errors of the service. Their codes are part of the API contract.
var (
	ErrNotFound       = apperr.New(apperr.NotFound, "participant_not_found", "Участник не найден.")
	ErrBadPhone       = &apperr.Error{Kind: apperr.Invalid, Code: "invalid_phone", Message: "Неверный номер телефона. Укажите номер в формате +7 999 123-45-67.", Field: "phone"}
	ErrBadCode        = &apperr.Error{Kind: apperr.Invalid, Code: "invalid_code_format", Message: "Код из SMS — это 6 цифр.", Field: "code"}
	ErrOTPInvalid     = apperr.New(apperr.Unauthorized, "otp_invalid", "Неверный или устаревший код. Запросите новый код.")
	ErrBadCredentials = apperr.New(apperr.Unauthorized, "invalid_credentials", "Неверный логин или пароль.")
	ErrBlocked        = apperr.New(apperr.Forbidden, "participant_blocked", "Ваша учётная запись заблокирована. Обратитесь к организатору программы.")
	ErrRefreshInvalid = apperr.New(apperr.Unauthorized, "refresh_token_invalid", "Сессия истекла. Войдите снова.")
	ErrRefreshReused  = apperr.New(apperr.Unauthorized, "refresh_token_reused", "Сессия завершена из соображений безопасности. Войдите снова.")
	ErrTokenMissing   = apperr.New(apperr.Unauthorized, "unauthorized", "Требуется вход в приложение.")
	ErrTokenInvalid   = apperr.New(apperr.Unauthorized, "token_invalid", "Недействительный токен доступа. Войдите снова.")
	ErrTokenExpired   = apperr.New(apperr.Unauthorized, "token_expired", "Срок действия токена истёк. Обновите токен.")
	ErrSessionEnded   = apperr.New(apperr.Unauthorized, "session_revoked", "Сессия завершена. Войдите снова.")
	ErrSMSUnavailable = apperr.New(apperr.Unavailable, "sms_unavailable", "Не удалось отправить SMS. Попробуйте ещё раз через минуту.")
	ErrWrongPassword  = &apperr.Error{Kind: apperr.Forbidden, Code: "current_password_wrong", Message: "Текущий пароль введён неверно.", Field: "current_password"}
	ErrWeakPassword   = &apperr.Error{Kind: apperr.Invalid, Code: "password_too_weak", Message: "Новый пароль должен быть от 8 до 128 символов и содержать буквы и цифры.", Field: "new_password"}
	ErrSamePassword   = &apperr.Error{Kind: apperr.Invalid, Code: "password_unchanged", Message: "Новый пароль должен отличаться от текущего.", Field: "new_password"}
	ErrChoice         = apperr.New(apperr.Conflict, "participant_choice_required", "Номер зарегистрирован в нескольких программах. Выберите программу и повторите вход.")
)

func tooMany(d ratelimit.Decision) error {
	return ratelimit.Exceeded("too_many_attempts", "Слишком много попыток. Повторите позже.", d.RetryAfter)
}

// ChoiceError is returned when the credentials fit several participants
// (one phone in several clients' programs) and no participant id was
// given. It unwraps to ErrChoice (409).
type ChoiceError struct{ Candidates []Candidate }

// Candidate is one participant the caller may choose.
type Candidate struct {
	ParticipantID int64
	ClientCode    string
	ClientName    string
	Role          string
}

func (e *ChoiceError) Error() string { return ErrChoice.Error() }

// Unwrap returns ErrChoice.
func (e *ChoiceError) Unwrap() error { return ErrChoice }

// OTPSent says how long the code lives and when another may be asked for.
type OTPSent struct {
	ExpiresIn   time.Duration
	ResendAfter time.Duration
}

// RequestOTP sends a sign-in code to phone if a participant has it. The
// answer does not depend on that (no enumeration of registered phones).
func (s *Service) RequestOTP(ctx context.Context, rawPhone, ip string) (OTPSent, error) {
	phone, err := phone.Normalize(rawPhone)
	if err != nil {
		return OTPSent{}, ErrBadPhone
	}
	if err := s.limit(ctx, "otp:req:ip:"+ip, s.cfg.PerIPPerHour, time.Hour); err != nil {
		return OTPSent{}, err
	}
	if err := s.limit(ctx, "otp:req:min:"+phone, 1, s.cfg.OTPResendAfter); err != nil {
		return OTPSent{}, err
	}
	if err := s.limit(ctx, "otp:req:hour:"+phone, s.cfg.OTPPerHour, time.Hour); err != nil {
		return OTPSent{}, err
	}
	sent := OTPSent{ExpiresIn: s.cfg.OTPTTL, ResendAfter: s.cfg.OTPResendAfter}
	ps, err := s.store.ParticipantsByPhone(ctx, phone)
	if err != nil {
		return OTPSent{}, err
	}
	if len(ps) == 0 {
		s.log.InfoContext(ctx, "otp requested for unknown phone", "phone", logging.MaskPhone(phone))
		return sent, nil
	}
	code, err := newCode()
	if err != nil {
		return OTPSent{}, err
	}
	if err := s.store.CreateOTP(ctx, OTP{Phone: phone, CodeHash: s.codeHash(phone, code), ExpiresAt: s.cfg.Now().Add(s.cfg.OTPTTL)}); err != nil {
		return OTPSent{}, err
	}
	text := fmt.Sprintf("Код входа в Loyalty Jam: %s. Никому не сообщайте его.", code)
	if _, err := s.sms.Send(ctx, sms.Message{To: phone, Text: text, TTL: s.cfg.OTPTTL}); err != nil {
		s.log.ErrorContext(ctx, "otp sms failed", "phone", logging.MaskPhone(phone), "err", err)
		return OTPSent{}, apperr.Wrap(err, apperr.Unavailable, ErrSMSUnavailable.Code, ErrSMSUnavailable.Message)
	}
	return sent, nil
}

// VerifyOTP checks the code sent to phone and signs the participant in.
// participantID picks one participant when the phone has several (0 if
// the caller has not chosen yet).
func (s *Service) VerifyOTP(ctx context.Context, rawPhone, code string, participantID int64, ip string) (Tokens, error) {
	phone, err := phone.Normalize(rawPhone)
	if err != nil {
		return Tokens{}, ErrBadPhone
	}
	code = strings.TrimSpace(code)
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		return Tokens{}, ErrBadCode
	}
	if err := s.limit(ctx, "otp:try:ip:"+ip, s.cfg.PerIPPerHour, time.Hour); err != nil {
		return Tokens{}, err
	}
	if err := s.limit(ctx, "otp:try:"+phone, s.cfg.OTPMaxAttempts, s.cfg.OTPTTL); err != nil {
		return Tokens{}, err
	}
	now := s.cfg.Now()
	otp, err := s.store.LiveOTP(ctx, phone, now)
	if errors.Is(err, ErrNotFound) {
		return Tokens{}, ErrOTPInvalid
	}
	if err != nil {
		return Tokens{}, err
	}
	if otp.Attempts >= s.cfg.OTPMaxAttempts {
		return Tokens{}, ErrOTPInvalid
	}
	if subtle.ConstantTimeCompare(otp.CodeHash, s.codeHash(phone, code)) != 1 {
		if err := s.store.FailOTP(ctx, otp.ID); err != nil {
			return Tokens{}, err
		}
		return Tokens{}, ErrOTPInvalid
	}
	ps, err := s.store.ParticipantsByPhone(ctx, phone)
	if err != nil {
		return Tokens{}, err
	}
	p, err := choose(ps, participantID)
	if err != nil {
		return Tokens{}, err // the code stays usable for the second call
	}
	ok, err := s.store.ConsumeOTP(ctx, otp.ID, now)
	if err != nil {
		return Tokens{}, err
	}
	if !ok {
		return Tokens{}, ErrOTPInvalid
	}
	return s.signIn(ctx, p)
}

// Login signs in with a login or phone and a password. participantID picks
// one participant when a phone has several with this password.
func (s *Service) Login(ctx context.Context, loginOrPhone, pw string, participantID int64, ip string) (Tokens, error) {
	id := strings.TrimSpace(loginOrPhone)
	if id == "" || len(id) > 64 || pw == "" || len(pw) > 256 {
		return Tokens{}, ErrBadCredentials
	}
	if err := s.limit(ctx, "login:ip:"+ip, s.cfg.PerIPPerHour, time.Hour); err != nil {
		return Tokens{}, err
	}
	var ps []Participant
	if phone, err := phone.Normalize(id); err == nil && strings.ContainsAny(id[:1], "+0123456789") {
		if ps, err = s.store.ParticipantsByPhone(ctx, phone); err != nil {
			return Tokens{}, err
		}
	}
	if len(ps) == 0 {
		p, err := s.store.ParticipantByLogin(ctx, id)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return Tokens{}, err
		}
		if err == nil {
			ps = []Participant{p}
		}
	}
	// Guesses count per account, whichever name (login or phone) they
	// came by, before any password is hashed; for a name nobody has, per
	// the name.
	if len(ps) == 0 {
		if err := s.limit(ctx, "login:id:"+strings.ToLower(id), s.cfg.LoginAttempts, 15*time.Minute); err != nil {
			return Tokens{}, err
		}
	}
	for _, p := range ps {
		if err := s.limit(ctx, "login:acct:"+strconv.FormatInt(p.ID, 10), s.cfg.LoginAttempts, 15*time.Minute); err != nil {
			return Tokens{}, err
		}
	}
	var match []Participant
	for _, p := range ps {
		if p.PasswordHash == "" {
			continue
		}
		switch err := s.cfg.Hasher.Verify(ctx, pw, p.PasswordHash); {
		case err == nil:
			match = append(match, p)
		case errors.Is(err, password.ErrBusy):
			return Tokens{}, err
		}
	}
	if len(match) == 0 {
		if len(ps) == 0 {
			// Spend the same time as a real check, so timing does not tell
			// which logins exist.
			if err := s.cfg.Hasher.Verify(ctx, pw, dummyHash); errors.Is(err, password.ErrBusy) {
				return Tokens{}, err
			}
		}
		return Tokens{}, ErrBadCredentials
	}
	p, err := choose(match, participantID)
	if err != nil {
		return Tokens{}, err
	}
	return s.signIn(ctx, p)
}

var dummyHash = func() string {
	h, _ := password.Hash("not-a-real-password")
	return h
}()

// choose picks the participant to sign in among those the credentials fit.
func choose(ps []Participant, participantID int64) (Participant, error) {
	var usable []Participant
	blocked, blockedReason := false, ""
	for _, p := range ps {
		if participantID != 0 && p.ID != participantID {
			continue
		}
		if p.Status == StatusBlocked {
			blocked, blockedReason = true, p.BlockedReason
			continue
		}
		usable = append(usable, p)
	}
	switch {
	case len(usable) == 1:
		return usable[0], nil
	case len(usable) > 1:
		ce := &ChoiceError{}
		for _, p := range usable {
			ce.Candidates = append(ce.Candidates, Candidate{ParticipantID: p.ID, ClientCode: p.ClientCode, ClientName: p.ClientName, Role: p.Role})
		}
		return Participant{}, ce
	case blocked:
		return Participant{}, BlockedError(blockedReason)
	case participantID != 0:
		return Participant{}, ErrNotFound
	}
	return Participant{}, ErrBadCredentials
}

func (s *Service) signIn(ctx context.Context, p Participant) (Tokens, error) {
	if p.Status == StatusInvited {
		if err := s.store.Activate(ctx, p.ID); err != nil {
			return Tokens{}, err
		}
		p.Status = StatusActive
	}
	family, err := newUUID()
	if err != nil {
		return Tokens{}, err
	}
	refresh, hash, err := newRefresh()
	if err != nil {
		return Tokens{}, err
	}
	now := s.cfg.Now()
	if err := s.store.CreateRefresh(ctx, RefreshToken{FamilyID: family, ParticipantID: p.ID, Hash: hash, ExpiresAt: now.Add(s.cfg.RefreshTTL)}); err != nil {
		return Tokens{}, err
	}
	return s.tokens(p, family, refresh, now)
}

// Refresh rotates a refresh token: the old one stops working and a new
// pair is returned. Reusing a rotated token revokes the whole session.
func (s *Service) Refresh(ctx context.Context, refresh string) (Tokens, error) {
	hash, ok := hashRefresh(refresh)
	if !ok {
		return Tokens{}, ErrRefreshInvalid
	}
	next, nextHash, err := newRefresh()
	if err != nil {
		return Tokens{}, err
	}
	now := s.cfg.Now()
	nt := RefreshToken{Hash: nextHash, ExpiresAt: now.Add(s.cfg.RefreshTTL)}
	old, err := s.store.RotateRefresh(ctx, hash, now, &nt)
	if errors.Is(err, ErrRefreshReused) {
		s.log.WarnContext(ctx, "refresh token reused; session revoked")
	}
	if err != nil {
		return Tokens{}, err
	}
	p, err := s.store.Participant(ctx, old.ParticipantID)
	if err != nil {
		return Tokens{}, err
	}
	if p.Status == StatusBlocked {
		if err := s.store.RevokeFamily(ctx, old.FamilyID, now); err != nil {
			return Tokens{}, err
		}
		return Tokens{}, BlockedError(p.BlockedReason)
	}
	return s.tokens(p, old.FamilyID, next, now)
}

// Logout revokes the session of the refresh token, and with it every
// access token of the session (see Authenticate). Unknown tokens are
// ignored: logging out twice is not an error.
func (s *Service) Logout(ctx context.Context, refresh string) error {
	hash, ok := hashRefresh(refresh)
	if !ok {
		return nil
	}
	return s.store.RevokeByToken(ctx, hash, s.cfg.Now())
}

// ChangePassword replaces the participant's password after checking the
// current one. Attempts count against the same per-account and per-IP
// limits as sign-in (a stolen access token must not become a password
// oracle). Every other session of the participant ends; sessionID (the
// caller's own) stays signed in.
func (s *Service) ChangePassword(ctx context.Context, participantID int64, sessionID, current, next, ip string) error {
	if current == "" || len(current) > 256 {
		return ErrWrongPassword
	}
	if err := checkNewPassword(next); err != nil {
		return err
	}
	if err := s.limit(ctx, "login:ip:"+ip, s.cfg.PerIPPerHour, time.Hour); err != nil {
		return err
	}
	if err := s.limit(ctx, "login:acct:"+strconv.FormatInt(participantID, 10), s.cfg.LoginAttempts, 15*time.Minute); err != nil {
		return err
	}
	p, err := s.store.Participant(ctx, participantID)
	if err != nil {
		return err
	}
	if p.PasswordHash == "" {
		return ErrWrongPassword
	}
	switch err := s.cfg.Hasher.Verify(ctx, current, p.PasswordHash); {
	case errors.Is(err, password.ErrBusy):
		return err
	case err != nil:
		return ErrWrongPassword
	}
	if current == next {
		return ErrSamePassword
	}
	hash, err := password.Hash(next)
	if err != nil {
		return err
	}
	return s.store.SetPassword(ctx, participantID, hash, sessionID, s.cfg.Now())
}

// checkNewPassword: 8–128 characters of valid UTF-8, at least one letter
// and one digit.
func checkNewPassword(pw string) error {
	if !utf8.ValidString(pw) {
		return ErrWeakPassword
	}
	n := utf8.RuneCountInString(pw)
	if n < 8 || n > 128 {
		return ErrWeakPassword
	}
	var letter, digit bool
	for _, r := range pw {
		switch {
		case unicode.IsLetter(r):
			letter = true
		case unicode.IsDigit(r):
			digit = true
		case unicode.IsControl(r):
			return ErrWeakPassword
		}
	}
	if !letter || !digit {
		return ErrWeakPassword
	}
	return nil
}

// LogoutAll ends every session of the participant: their refresh tokens
// stop working, and so do their access tokens (Authenticate checks the
// session), and the push devices registered in them are forgotten.
func (s *Service) LogoutAll(ctx context.Context, participantID int64) (int, error) {
	return s.store.RevokeAll(ctx, participantID, s.cfg.Now())
}

func (s *Service) limit(ctx context.Context, key string, n int, window time.Duration) error {
	d, err := s.limiter.Allow(ctx, key, n, window)
	if err != nil {
		return err
	}
	if !d.OK {
		return tooMany(d)
	}
	return nil
}

func (s *Service) codeHash(phone, code string) []byte {
	m := hmac.New(sha256.New, s.cfg.Secret)
	m.Write([]byte("otp|" + phone + "|" + code))
	return m.Sum(nil)
}

func newCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

func newRefresh() (string, []byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, err
	}
	tok := base64.RawURLEncoding.EncodeToString(b)
	h := sha256.Sum256([]byte(tok))
	return tok, h[:], nil
}

func hashRefresh(tok string) ([]byte, bool) {
	if len(tok) != 43 {
		return nil, false
	}
	if _, err := base64.RawURLEncoding.DecodeString(tok); err != nil {
		return nil, false
	}
	h := sha256.Sum256([]byte(tok))
	return h[:], true
}

func newUUID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]), nil
}

// Tokens is a signed-in session.
type Tokens struct {
	AccessToken   string
	AccessExpires time.Time
	RefreshToken  string
	Participant   Participant
}

// Claims are the access token's claims. SessionID (sid) is the refresh
// token family the token was issued for.
type Claims struct {
	ClientID  int64  `json:"cid"`
	Role      string `json:"role"`
	SessionID string `json:"sid"`
	jwt.RegisteredClaims
}

// Principal is the signed-in caller an access token names.
type Principal struct {
	ParticipantID int64
	ClientID      int64
	Role          string
	SessionID     string
}

const (
	issuer   = "loyaltyjam"
	audience = "mobile"
)

func (s *Service) tokens(p Participant, sessionID, refresh string, now time.Time) (Tokens, error) {
	access, exp, err := s.IssueAccess(p, sessionID, now)
	if err != nil {
		return Tokens{}, err
	}
	return Tokens{AccessToken: access, AccessExpires: exp, RefreshToken: refresh, Participant: p}, nil
}

// IssueAccess signs an access token for p in session sessionID (a refresh
// token family) valid from now for AccessTTL.
func (s *Service) IssueAccess(p Participant, sessionID string, now time.Time) (string, time.Time, error) {
	if sessionID == "" {
		return "", time.Time{}, errors.New("auth: an access token needs its session")
	}
	exp := now.Add(s.cfg.AccessTTL)
	c := Claims{ClientID: p.ClientID, Role: p.Role, SessionID: sessionID, RegisteredClaims: jwt.RegisteredClaims{
		Issuer: issuer, Audience: jwt.ClaimStrings{audience}, Subject: strconv.FormatInt(p.ID, 10),
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp),
	}}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.cfg.Secret)
	return tok, exp, err
}

// ParseAccess verifies an access token and returns whom it names. It
// returns ErrTokenExpired or ErrTokenInvalid.
func (s *Service) ParseAccess(token string) (Principal, error) {
	var c Claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return s.cfg.Secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithIssuer(issuer),
		jwt.WithAudience(audience), jwt.WithExpirationRequired(), jwt.WithTimeFunc(s.cfg.Now), jwt.WithLeeway(5*time.Second))
	if errors.Is(err, jwt.ErrTokenExpired) {
		return Principal{}, ErrTokenExpired
	}
	if err != nil {
		return Principal{}, ErrTokenInvalid
	}
	id, err := strconv.ParseInt(c.Subject, 10, 64)
	if err != nil || id <= 0 || c.ClientID <= 0 {
		return Principal{}, ErrTokenInvalid
	}
	if c.SessionID == "" {
		// Issued before tokens named their session: the app refreshes it.
		return Principal{}, ErrTokenExpired
	}
	return Principal{ParticipantID: id, ClientID: c.ClientID, Role: c.Role, SessionID: c.SessionID}, nil
}

// Authenticate is ParseAccess plus the revocation check: a token of a
// session that was logged out (or revoked for a reused refresh token) is
// refused with ErrSessionEnded, at once rather than when it expires. It
// costs one indexed lookup. (A blocked participant is refused by the
// caller, which loads the participant anyway.)
func (s *Service) Authenticate(ctx context.Context, token string) (Principal, error) {
	pr, err := s.ParseAccess(token)
	if err != nil {
		return Principal{}, err
	}
	live, err := s.store.SessionLive(ctx, pr.SessionID)
	if err != nil {
		return Principal{}, err
	}
	if !live {
		return Principal{}, ErrSessionEnded
	}
	return pr, nil
}
