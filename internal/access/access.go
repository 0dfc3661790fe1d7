// Package access describes who is acting on the admin side (dashboard and
// admin API) and what a role may do, so every admin feature checks tenant
// isolation the same way. Transports authenticate; domain code asks Staff.
package access

import (
	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
)

// Role of a dashboard user.
type Role string

// Dashboard roles (dashboard_users.role).
const (
	ClientManager Role = "client_manager" // configures the client's programs, uploads, exports
	Moderator     Role = "moderator"      // reviews receipts and task reports of the client
	Operator      Role = "operator"       // platform staff: every client
	Analyst       Role = "analyst"        // reads the client's figures and exports; changes nothing
	TaxOfficer    Role = "tax_officer"    // the client's tax pages and the full legal data they need
)

// Staff is an authenticated dashboard user.
type Staff struct {
	UserID int64
	// ClientID is the tenant; 0 for operators, who may act for any client.
	ClientID int64
	Role     Role
}

// ErrForbidden is returned when staff may not act on a client or action.
var ErrForbidden = apperr.New(apperr.Forbidden, "forbidden", "Недостаточно прав для этого действия.")

// CanSee reports whether s may read data of clientID.
func (s Staff) CanSee(clientID int64) bool {
	return s.Role == Operator || (s.ClientID != 0 && s.ClientID == clientID)
}

// CheckClient returns ErrForbidden unless s may act on clientID with one of
// roles (any role when none is given). Operators may act on every client.
func (s Staff) CheckClient(clientID int64, roles ...Role) error {
	if !s.CanSee(clientID) {
		return ErrForbidden
	}
	if len(roles) == 0 || s.Role == Operator {
		return nil
	}
	for _, r := range roles {
		if s.Role == r {
			return nil
		}
	}
	return ErrForbidden
}
