package authdb

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/auth"
)

// Profile is a participant as the app shows them.
type Profile struct {
	ID         int64
	Phone      string
	Login      string
	Name       string
	Email      string
	Role       string
	Status     string
	Region     string
	IsTest     bool
	ClientID   int64
	ClientCode string
	ClientName string
	Shop       *Shop
}

// Shop is a participant's shop.
type Shop struct {
	ID      int64
	Code    string
	Name    string
	Chain   string
	Address string
	Region  string
}

// Program is a client's program as the app shows it.
type Program struct {
	ID       int64
	Code     string
	Name     string
	Status   string
	StartsOn time.Time
	EndsOn   time.Time
}

// Profile returns the participant's profile or auth.ErrNotFound.
func (s *Store) Profile(ctx context.Context, participantID int64) (Profile, error) {
	var p Profile
	var shopID *int64
	var shopCode, shopName, shopChain, shopAddr, shopRegion *string
	err := s.db.QueryRow(ctx, `SELECT p.id, p.phone, COALESCE(p.login, ''), p.name, COALESCE(p.email, ''), p.role,
		p.status, p.region, p.is_test, c.id, c.code, c.name, s.id, s.code, s.name, s.chain, s.address, s.region
		FROM participants p JOIN clients c ON c.id = p.client_id
		LEFT JOIN shops s ON s.id = p.shop_id AND s.client_id = p.client_id
		WHERE p.id = $1`, participantID).Scan(&p.ID, &p.Phone, &p.Login, &p.Name, &p.Email, &p.Role, &p.Status,
		&p.Region, &p.IsTest, &p.ClientID, &p.ClientCode, &p.ClientName, &shopID, &shopCode, &shopName, &shopChain,
		&shopAddr, &shopRegion)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, auth.ErrNotFound
	}
	if err != nil {
		return p, err
	}
	if shopID != nil {
		p.Shop = &Shop{ID: *shopID, Code: *shopCode, Name: *shopName, Chain: *shopChain, Address: *shopAddr, Region: *shopRegion}
	}
	return p, nil
}

// ShopOf returns the participant's shop id, or nil.
func (s *Store) ShopOf(ctx context.Context, participantID int64) (*int64, error) {
	var id *int64
	err := s.db.QueryRow(ctx, `SELECT shop_id FROM participants WHERE id = $1`, participantID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, auth.ErrNotFound
	}
	return id, err
}

// Programs returns the client's programs in the given statuses, newest
// first.
func (s *Store) Programs(ctx context.Context, clientID int64, statuses ...string) ([]Program, error) {
	rows, err := s.db.Query(ctx, `SELECT id, code, name, status, starts_on, ends_on FROM programs
		WHERE client_id = $1 AND status = ANY($2) ORDER BY starts_on DESC, id DESC`, clientID, statuses)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Program, error) {
		var p Program
		err := row.Scan(&p.ID, &p.Code, &p.Name, &p.Status, &p.StartsOn, &p.EndsOn)
		return p, err
	})
}

// ErrBadDevice is returned for a token or platform the table refuses.
var ErrBadDevice = &apperr.Error{Kind: apperr.Invalid, Code: "invalid_device",
	Message: "Неверный токен устройства или платформа (android, ios, web).", Field: "token"}

// ErrDeviceTaken is a push token bound to another participant's live
// session.
var ErrDeviceTaken = &apperr.Error{Kind: apperr.Conflict, Code: "device_taken",
	Message: "Это устройство привязано к другому участнику. Пусть он выйдет из приложения на нём, затем повторите.", Field: "token"}

// RegisterDevice stores a push token for the participant, bound to the
// sign-in session sessionID that registers it. The same participant may
// register it again (last_seen_at and the session are refreshed). A token
// bound to another participant moves only when the session it is bound to
// is gone (logged out, revoked or expired): the phone changed hands, or
// its user signed out and in as someone else. While that session lives it
// is ErrDeviceTaken: knowing someone's token must not redirect their
// pushes.
func (s *Store) RegisterDevice(ctx context.Context, participantID int64, sessionID, token, platform string) error {
	if len(token) < 8 || len(token) > 4096 || (platform != "android" && platform != "ios" && platform != "web") {
		return ErrBadDevice
	}
	var owner int64
	err := s.db.QueryRow(ctx, `INSERT INTO push_devices (participant_id, token, platform, session_id) VALUES ($1, $2, $3, $4::uuid)
		ON CONFLICT ON CONSTRAINT push_devices_token_key DO UPDATE
		SET participant_id = EXCLUDED.participant_id, platform = EXCLUDED.platform, session_id = EXCLUDED.session_id,
		    last_seen_at = now()
		WHERE push_devices.participant_id = EXCLUDED.participant_id
		   OR NOT EXISTS (SELECT 1 FROM auth_refresh_tokens r
		                   WHERE r.revoked_at IS NULL AND r.expires_at > now()
		                     AND (r.family_id = push_devices.session_id
		                          OR push_devices.session_id IS NULL AND r.participant_id = push_devices.participant_id))
		RETURNING participant_id`, participantID, token, platform, sessionID).Scan(&owner)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrDeviceTaken
	}
	return err
}

// DeleteDevice removes the participant's push token; another participant's
// token or an unknown one is left alone (and is not an error).
func (s *Store) DeleteDevice(ctx context.Context, participantID int64, token string) error {
	_, err := s.db.Exec(ctx, `DELETE FROM push_devices WHERE participant_id = $1 AND token = $2`, participantID, token)
	return err
}
