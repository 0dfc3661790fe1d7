package receipt

import (
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
)

// Errors the receipt stores return, so that no caller needs to know how
// the storage detects them.
var (
	// ErrNotFound: no such receipt (or not the caller's).
	ErrNotFound = apperr.New(apperr.NotFound, "receipt_not_found", "Чек не найден.")
	// ErrDuplicate: saving the receipt would claim a fiscal identity (fn,
	// fd, fp) that another receipt holds.
	ErrDuplicate = apperr.New(apperr.Conflict, "receipt_duplicate", "Этот чек уже зарегистрирован.")
	// ErrUnknownShop: the receipt names a shop that is not its client's.
	ErrUnknownShop = apperr.New(apperr.Invalid, "receipt_shop_unknown", "Магазин не найден у клиента чека.")
)

// StuckQuery selects the receipts the sweeper looks at: in a non-terminal
// state, not touched since UntouchedBefore, with no retry scheduled at or
// after DueBefore. Rows come in (updated_at, id) order; a page starts after
// the row (AfterUpdated, AfterID) when AfterID is set.
type StuckQuery struct {
	UntouchedBefore time.Time
	DueBefore       time.Time
	AfterUpdated    time.Time
	AfterID         string
	Limit           int
}
