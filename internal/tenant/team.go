package tenant

import (
	"context"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
)

// TeamMember is a participant below a rep or supervisor.
type TeamMember struct {
	ID           int64  `json:"id"`
	Name         string `json:"name"`
	Role         string `json:"role"`
	Status       string `json:"status"`
	SupervisorID int64  `json:"supervisor_id"`
	ShopID       int64  `json:"shop_id,omitempty"`
	Depth        int    `json:"depth"` // 1: reports directly
}

// TeamShop is a shop where someone below works.
type TeamShop struct {
	ID      int64  `json:"id"`
	Code    string `json:"code"`
	Name    string `json:"name"`
	Chain   string `json:"chain"`
	Address string `json:"address"`
	Region  string `json:"region"`
	INN     string `json:"inn"`
}

// Team is what a participant sees below them.
type Team struct {
	Members []TeamMember `json:"members"`
	Shops   []TeamShop   `json:"shops"`
}

// MaxTeamDepth bounds the hierarchy a team query walks.
const MaxTeamDepth = 10

// Errors of the hierarchy.
var (
	ErrParticipantNotFound = apperr.New(apperr.NotFound, "participant_not_found", "Участник не найден.")
	ErrSupervisorCycle     = &apperr.Error{Kind: apperr.Conflict, Code: "supervisor_cycle", Field: "supervisor_id",
		Message: "Нельзя назначить руководителем того, кто сам подчинён этому участнику."}
	ErrSupervisorRole = &apperr.Error{Kind: apperr.Invalid, Code: "supervisor_role", Field: "supervisor_id",
		Message: "Руководителем может быть торговый представитель или управляющий (sales_rep, manager)."}
)

// SetSupervisor links a participant to their supervisor (nil: none), the
// operator or the client's manager. Both are the same client's; the
// supervisor is a sales rep or a manager; no cycles.
func (s *Service) SetSupervisor(ctx context.Context, by Caller, participantID int64, supervisorID *int64) (TeamMember, error) {
	clientID, err := s.store.ParticipantClient(ctx, participantID)
	if err != nil {
		return TeamMember{}, err
	}
	if !by.Staff.CanSee(clientID) {
		return TeamMember{}, ErrParticipantNotFound
	}
	if err := by.mayManageStaff(clientID); err != nil {
		return TeamMember{}, err
	}
	return s.store.SetSupervisor(ctx, clientID, participantID, supervisorID, by.entry("participant.set_supervisor", "participant", ""))
}
