package reportdb

import "github.com/loyaltyjam/loyaltyjam/internal/report"

// The store's rows are package report's types (no driver code there, so
// the dashboard can use them); these names keep reportdb's callers as they
// were.
type (
	Program        = report.Program
	Period         = report.Period
	Point          = report.Point
	SalesRow       = report.SalesRow
	ReceiptFilter  = report.ReceiptFilter
	ReceiptRow     = report.ReceiptRow
	ReceiptHeader  = report.ReceiptHeader
	Unmatched      = report.Unmatched
	ParticipantRow = report.ParticipantRow
	TimelineEntry  = report.TimelineEntry
	Budget         = report.Budget
	BudgetMonth    = report.BudgetMonth
	User           = report.User
	Session        = report.Session
	SKU            = report.SKU
	RuleVersion    = report.RuleVersion
	SignInPolicy   = report.SignInPolicy
	SignInGate     = report.SignInGate
	SignInFailure  = report.SignInFailure
)

// Dimensions of the sales report and the other constants of package report.
const (
	BySKU         = report.BySKU
	ByShop        = report.ByShop
	ByChain       = report.ByChain
	ByRegion      = report.ByRegion
	ByParticipant = report.ByParticipant
	None          = report.None
	BurnWindow    = report.BurnWindow
)

// Errors of the store, defined in package report.
var (
	ErrNotFound    = report.ErrNotFound
	ErrBadWeight   = report.ErrBadWeight
	ErrBadTimeZone = report.ErrBadTimeZone
)

// DrillValue is report.DrillValue.
func DrillValue(by, key string) string { return report.DrillValue(by, key) }
