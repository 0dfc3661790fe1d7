package dashboard

import (
	"context"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/catalog"
	"github.com/loyaltyjam/loyaltyjam/internal/kpi"
	"github.com/loyaltyjam/loyaltyjam/internal/report"
)

// Store is what the dashboard reads and writes (*report.Store satisfies
// it). Lookups of one row return report.ErrNotFound when there is none.
type Store interface {
	Budget(ctx context.Context, p report.Program, today time.Time) (report.Budget, error)
	ConfirmAlias(ctx context.Context, clientID, skuID int64, alias string) error
	Contacts(ctx context.Context, clientID int64, ids []int64) (map[int64]report.Contact, error)
	CreateSession(ctx context.Context, tokenHash []byte, userID int64, csrf string, expires time.Time) error
	DeleteSession(ctx context.Context, tokenHash []byte, now time.Time) error
	Gate(ctx context.Context, userID int64, ip string, now time.Time) (report.SignInGate, error)
	ImportSKUs(ctx context.Context, clientID int64, skus []catalog.SKU) (int, error)
	OverviewAsOf(ctx context.Context, p report.Program, per report.Period, today time.Time) (kpi.Inputs, error)
	Participant(ctx context.Context, p report.Program, id int64) (report.ParticipantRow, error)
	Participants(ctx context.Context, p report.Program, per report.Period, limit, offset int) ([]report.ParticipantRow, error)
	Places(ctx context.Context, clientID int64, ids []int64) (map[int64]report.Place, error)
	Program(ctx context.Context, st access.Staff, id int64) (report.Program, error)
	Programs(ctx context.Context, st access.Staff) ([]report.Program, error)
	ReceiptHeader(ctx context.Context, p report.Program, id string) (report.ReceiptHeader, error)
	Receipts(ctx context.Context, p report.Program, f report.ReceiptFilter) ([]report.ReceiptRow, error)
	ReviewQueue(ctx context.Context, p report.Program, limit int) ([]report.ReceiptRow, error)
	Rules(ctx context.Context, p report.Program) ([]report.RuleVersion, error)
	SKUs(ctx context.Context, clientID int64) ([]report.SKU, error)
	Sales(ctx context.Context, p report.Program, by string, per report.Period, limit int) ([]report.SalesRow, error)
	Series(ctx context.Context, p report.Program, per report.Period, grain string) ([]report.Point, error)
	SessionByHash(ctx context.Context, tokenHash []byte, now time.Time) (report.Session, error)
	SetMarginWeight(ctx context.Context, clientID, skuID, bp int64) error
	Shops(ctx context.Context, clientID int64) ([]report.Shop, error)
	SignInFailed(ctx context.Context, userID int64, ip string, now time.Time, p report.SignInPolicy) (report.SignInFailure, error)
	SignInSucceeded(ctx context.Context, userID int64, ip string, now time.Time) error
	Timeline(ctx context.Context, p report.Program, participantID int64, limit int) ([]report.TimelineEntry, error)
	Unmatched(ctx context.Context, p report.Program, limit int) ([]report.Unmatched, int64, error)
	Uploads(ctx context.Context, clientID, programID int64) ([]report.Upload, error)
	UserByEmail(ctx context.Context, email string) (report.User, error)
}

// ForeignStore keeps the lines a client marked «не наш товар»
// (*catalogdb.Store satisfies it).
type ForeignStore interface {
	ForeignLines(ctx context.Context, clientID int64, limit int) ([]catalog.ForeignLine, error)
	MarkForeign(ctx context.Context, clientID, userID int64, name string) (catalog.ForeignLine, error)
	UnmarkForeign(ctx context.Context, clientID int64, norm string) error
}
