// Package report holds what the staff dashboard shows: programs, periods,
// chart points, sales and receipt rows, budgets, staff users and sessions.
// It is plain data with no driver code; package postgres/reportdb computes
// these from the rollups and the dashboard renders them.
package report

import (
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/catalog"
	"github.com/loyaltyjam/loyaltyjam/internal/kpi"
	"github.com/loyaltyjam/loyaltyjam/internal/registry"
)

// Program is a client's program as the dashboard lists it.
type Program struct {
	ID            int64
	ClientID      int64
	ClientName    string
	ClientCode    string
	Code          string
	Name          string
	Status        string
	StartsOn      time.Time
	EndsOn        time.Time
	BudgetKopecks int64
	Crediting     string
	// TimeZone is the client's IANA zone (clients.timezone), the zone the
	// dashboard shows its times in; Location is it loaded.
	TimeZone string
	Location *time.Location
}

// Period is a range of whole days [From, To).
type Period struct{ From, To time.Time }

// Previous is the period of the same length right before p.
func (p Period) Previous() Period {
	months := (p.To.Year()-p.From.Year())*12 + int(p.To.Month()-p.From.Month())
	if p.From.Day() == 1 && p.To.Day() == 1 && months > 0 {
		return Period{From: p.From.AddDate(0, -months, 0), To: p.From}
	}
	return Period{From: p.From.Add(-p.To.Sub(p.From)), To: p.From}
}

// Point is one bar of the overview chart.
type Point struct {
	Start         time.Time
	Receipts      int64
	Credited      int64
	UnitsMilli    int64
	SKUSumKopecks int64
}

// Dimensions of the sales report.
const (
	BySKU         = "sku"
	ByShop        = "shop"
	ByChain       = "chain"
	ByRegion      = "region"
	ByParticipant = "participant"
)

// SalesRow is one line of the sales report.
type SalesRow struct {
	Key           string // id, chain or region; "0" is no known shop, "" no chain or region (see DrillValue)
	Label         string
	Extra         string // article, address or shop
	Receipts      int64  // receipts (for a SKU: receipts with a line of it)
	UnitsMilli    int64
	SumKopecks    int64
	PointsKopecks int64
}

// DrillValue is the receipt filter value that lists the receipts behind
// a sales row of dimension by with key: the key, or None for the unknown
// shop and the chain or region not specified.
func DrillValue(by, key string) string {
	switch {
	case by == ByShop && key == "0", (by == ByChain || by == ByRegion) && key == "":
		return None
	}
	return key
}

// ReceiptFilter narrows a receipt search. Zero fields do not filter.
//
// Dates are the rollups' (and so the overview's and the sales report's):
// a receipt with a fiscal identity is dated by its purchase time, one
// without (received, unreadable, duplicate before its QR was read) by its
// upload time in UTC, so a drill-down from a number lists the receipts
// that number counts.
type ReceiptFilter struct {
	Status        string // a status, or "sales" for credited and no_eligible_items
	ShopID        int64
	NoShop        bool // receipts of no known shop (sales by shop: "shop not identified")
	ParticipantID int64
	SKUID         int64
	Chain         string
	NoChain       bool // receipts of no shop or of a shop with no chain (sales by chain: "not specified")
	Region        string
	NoRegion      bool // likewise for the region
	From, To      time.Time
	// Before is the keyset cursor: (purchased_at, id) of the last row seen.
	BeforeAt time.Time
	BeforeID string
	Limit    int
}

// None is the drill-down filter value (shop=none, chain=none, region=none)
// that selects receipts with no shop, chain or region, as opposed to an
// empty value, which does not filter.
const None = "none"

// ReceiptRow is one line of a receipt list.
type ReceiptRow struct {
	ID              string
	At              time.Time // purchase time (upload time when unknown)
	Status          string
	StatusReason    string
	SumKopecks      int64 // negative for a return receipt: it takes its sum back out of the sales
	PointsKopecks   int64
	ShopName        string // the shop the receipt counts for (the participant's)
	ParticipantID   int64
	ParticipantName string
	// The seller from the fiscal data ("" until the operator answered).
	SellerName    string
	SellerINN     string
	SellerAddress string // retail address, else the retail place
	// ByUpload: At is the upload time (UTC), the receipt having no
	// purchase time; otherwise At is the purchase time on the receipt,
	// the shop's wall clock with no zone.
	ByUpload bool
}

// ReceiptHeader is what a receipt page shows besides the receipt itself.
type ReceiptHeader struct {
	ProgramID       int64
	ClientID        int64
	ShopName        string
	ShopAddress     string
	ParticipantName string
	SKUNames        map[int64]string
}

// Unmatched is a receipt line name no SKU matched.
type Unmatched struct {
	Name    string
	Lines   int64
	LastDay time.Time
}

// ParticipantRow is one line of the participants list.
type ParticipantRow struct {
	ID             int64
	Name           string
	Role           string
	Status         string
	ShopName       string
	LastActivity   *time.Time
	BalanceKopecks int64
	Uploads        int64
	Receipts       int64
	PointsKopecks  int64
	SumKopecks     int64
	PendingKopecks int64
	RegisteredAt   time.Time
	ShopID         int64
}

// TimelineEntry is one line of a participant's timeline.
type TimelineEntry struct {
	At            time.Time
	Kind          string // receipt or ledger
	ReceiptID     string
	Status        string
	Text          string
	PointsKopecks int64
}

// Budget is a program's budget and how fast it burns. Every figure is a
// sum of one table, rpt_budget_day (what left the program's budget
// account per business day and transaction kind, kept by a trigger on the
// ledger postings): receipt credits, task rewards, registry credits, net
// of return reversals and registry debits, dated by the transaction's
// business date (occurred_on: purchase date of the sale, task approval)
// or, without one (registry lines), the UTC day it was posted. So
// SpentKopecks = Σ Monthly, BalanceKopecks = FundedKopecks − SpentKopecks,
// and the burn rate and forecast come from the same rows.
type Budget struct {
	BudgetKopecks  int64 // programs.budget_kopecks
	FundedKopecks  int64 // put into the budget account by funding transactions
	SpentKopecks   int64 // paid out of the budget account, all time: Σ Monthly
	Last30Kopecks  int64 // paid out in the BurnDays days up to today
	BurnDays       int   // 30, or fewer when the program started less than 30 days ago
	BalanceKopecks int64 // the program_budget ledger account: what it can still pay
	// Last30ByKind splits Last30Kopecks by transaction kind
	// (ledger.KindReceiptCredit, KindTaskReward, KindReversal, …).
	Last30ByKind map[string]int64
	// Monthly is the spending per calendar month, every month with
	// spending, oldest first.
	Monthly []BudgetMonth
}

// BudgetMonth is one month's spending of a budget.
type BudgetMonth struct {
	Start        time.Time // first day
	SpentKopecks int64
}

// BurnWindow is the number of days the burn rate averages over.
const BurnWindow = 30

// BurnPerDay is b's average spend per day over its burn window (kopecks).
func (b Budget) BurnPerDay() int64 { return kpi.BurnPerDay(b.Last30Kopecks, b.BurnDays) }

// ErrNotFound: no such user, session, program, receipt or participant (or
// not the caller's tenant).
var ErrNotFound = apperr.New(apperr.NotFound, "not_found", "Не найдено.")

// User is a dashboard user as sign-in needs it.
type User struct {
	ID           int64
	ClientID     int64 // 0 for operators
	Email        string
	Name         string
	Role         access.Role
	PasswordHash string
	FailedLogins int
	LockedUntil  *time.Time
}

// Staff returns the access identity of u.
func (u User) Staff() access.Staff {
	return access.Staff{UserID: u.ID, ClientID: u.ClientID, Role: u.Role}
}

// Session is a signed-in dashboard session.
type Session struct {
	User      User
	CSRFToken string
	ExpiresAt time.Time
}

// SKU is a catalog SKU with its database id.
type SKU struct {
	DBID   int64
	Active bool
	catalog.SKU
}

// ErrBadWeight: a margin weight outside (0, 10].
var ErrBadWeight = apperr.New(apperr.Invalid, "bad_margin_weight", "Вес маржинальности должен быть больше 0 и не больше 10.")

// RuleVersion is one stored version of a program's rules.
type RuleVersion struct {
	Version       int
	EffectiveFrom time.Time
	Body          []byte
	CreatedAt     time.Time
}

// ErrBadTimeZone: the zone is no IANA name PostgreSQL knows
// (clients_timezone_iana).
var ErrBadTimeZone = apperr.New(apperr.Invalid, "bad_time_zone",
	"Часовой пояс — название из базы IANA, например Europe/Moscow или Asia/Novosibirsk.")

// SignInPolicy says how failed staff sign-ins slow an address down and when
// the account as a whole is closed to unknown addresses.
type SignInPolicy struct {
	// Window is how long failures of one address are remembered.
	Window time.Duration
	// Delay is how long an address must wait after its n-th failure in the
	// window (0: may try again at once).
	Delay func(failures int) time.Duration
	// AccountFailures failures from all addresses together close the
	// account to addresses the owner has never signed in from, for LockFor.
	AccountFailures int
	LockFor         time.Duration
	// AlertEvery: the owner is told at most once per this long.
	AlertEvery time.Duration
}

// SignInGate is what a sign-in attempt from one address must respect.
type SignInGate struct {
	// ThrottledUntil is set while this address must wait.
	ThrottledUntil *time.Time
	// Known: the owner has signed in from this address before.
	Known bool
}

// SignInFailure is what one failed sign-in led to.
type SignInFailure struct {
	// Failures of this address in its window, this one included.
	Failures int
	// ThrottledUntil: when this address may try again (nil: at once).
	ThrottledUntil *time.Time
	// AccountLockedUntil is set when this failure closed the account to
	// unknown addresses.
	AccountLockedUntil *time.Time
	// Alert: the owner should be told now (the first notable failure since
	// the last notice, AlertEvery ago).
	Alert bool
}

// Upload is one line of the dashboard's list of registry uploads.
type Upload struct {
	ID           int64
	Kind         registry.Kind
	Period       string
	Status       registry.Status
	FileName     string
	Rows, Errors int
	SecondOK     bool
	UploadedBy   string
	CreatedAt    time.Time
}

// Shop is a client's shop as the task form offers it.
type Shop struct {
	ID                  int64
	Code, Name, Address string
}

// Contact is a participant's name and phone, shown to moderators of task
// submissions.
type Contact struct{ Name, Phone string }

// Place is a shop's name, address and position (nil when unknown).
type Place struct {
	Name, Address string
	Lat, Lon      *float64
}
