package adminapi

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/task"
)

// StaffFunc authenticates the staff member of a request, or returns an
// apperr Unauthorized (or Forbidden) error.
type StaffFunc func(*fiber.Ctx) (access.Staff, error)

// Deps are what the API needs. Staff is required; a nil store leaves its
// routes out.
type Deps struct {
	// Staff authenticates every request (dashboard.Server.Staff).
	Staff StaffFunc
	// Tasks serves /admin/v1/tasks (taskdb.Store).
	Tasks Tasks
	// Registries serves /admin/v1/registries (registry.Service).
	Registries Registries
	// Plans serves /admin/v1/programs/:id/plans and …/periods (plandb.Store).
	Plans Plans
}

// API is the staff API. Register mounts it.
type API struct {
	staff      StaffFunc
	tasks      Tasks
	registries Registries
	plans      Plans
}

// New builds the API from its dependencies.
func New(d Deps) (*API, error) {
	if d.Staff == nil {
		return nil, errors.New("adminapi: Staff is required")
	}
	return &API{staff: d.Staff, tasks: d.Tasks, registries: d.Registries, plans: d.Plans}, nil
}

// Register mounts the routes on r (the app root; an httpapi.New app, whose
// error handler renders the errors):
//
//	POST /admin/v1/tasks                           create
//	GET  /admin/v1/tasks                           list (?client_id= for operators, &status=)
//	GET  /admin/v1/tasks/submissions               moderation queue by due date (?client_id=&status=&task_id=&limit=&offset=)
//	GET  /admin/v1/tasks/submissions/:id           one report with flags and photos
//	GET  /admin/v1/tasks/submissions/:id/photos/:idx  a photo
//	POST /admin/v1/tasks/submissions/:id/:action   claim | approve | reject | rework, {"reason_code","comment"}
//	GET  /admin/v1/tasks/:id                       one task
//	POST /admin/v1/tasks/:id/archive, /:id/activate
//
//	POST /admin/v1/registries                             upload (multipart)
//	GET  /admin/v1/registries/:id                         report, preview, status, progress
//	GET  /admin/v1/registries/:id/progress                status and counters only
//	GET  /admin/v1/registries/:id/lines?offset=&limit=    points: per-participant sums and differences
//	POST /admin/v1/registries/:id/confirm                 confirm (maker-checker over the threshold)
//	GET  /admin/v1/registries/:id/invitations             delivery and sign-in of invitations
//	POST /admin/v1/registries/:id/invitations/resend      {"participant_ids":[…]} or {} for all not signed in; "new_password":true resets signed-in participants' passwords too
//
//	PUT  /admin/v1/programs/:id/plans/:period/table              tier table (new version)
//	GET  /admin/v1/programs/:id/plans/:period                    current table and plans
//	GET  /admin/v1/programs/:id/plans/:period/summary            tiers, forecast, by shop/region, leaderboard (?top=&names=1)
//	PUT  /admin/v1/programs/:id/plans/:period/targets            {"targets":[{participant_id,target}],"reason"} (new versions)
//	POST /admin/v1/programs/:id/plans/:period/import             CSV/XLSX preview; confirm=<sha256> applies
//	GET  /admin/v1/programs/:id/plans/:period/participants/:pid/lines  receipt lines behind an actual
//	POST /admin/v1/programs/:id/periods/:period/close            close preview (a run)
//	GET  /admin/v1/programs/:id/periods/:period/close/:run       run and lines (?after=&limit=)
//	POST /admin/v1/programs/:id/periods/:period/close/:run/approve  approve and post (maker-checker)
//	PUT  /admin/v1/programs/:id/plan-close-schedule              {"close_day":3}: the scheduler closes periods then
func (a *API) Register(r fiber.Router) {
	if a.tasks != nil {
		g := r.Group("/admin/v1/tasks")
		g.Post("/", a.createTask)
		g.Get("/", a.listTasks)
		g.Get("/submissions", a.queue)
		g.Get("/submissions/:id", a.submission)
		g.Get("/submissions/:id/photos/:idx", a.photo)
		g.Post("/submissions/:id/:action", a.review)
		g.Get("/:id", a.getTask)
		g.Post("/:id/archive", a.setTaskStatus(task.Archived))
		g.Post("/:id/activate", a.setTaskStatus(task.Active))
	}
	if a.registries != nil {
		g := r.Group("/admin/v1/registries")
		g.Post("/", a.upload)
		g.Get("/:id", a.getRegistry)
		g.Get("/:id/progress", a.progress)
		g.Get("/:id/lines", a.lines)
		g.Post("/:id/confirm", a.confirm)
		g.Get("/:id/invitations", a.invitations)
		g.Post("/:id/invitations/resend", a.resend)
	}
	if a.plans != nil {
		g := r.Group("/admin/v1/programs/:id")
		g.Put("/plans/:period/table", a.putPlanTable)
		g.Get("/plans/:period", a.getPlans)
		g.Get("/plans/:period/summary", a.planSummary)
		g.Put("/plans/:period/targets", a.putPlanTargets)
		g.Post("/plans/:period/import", a.importPlans)
		g.Get("/plans/:period/participants/:pid/lines", a.planActualLines)
		g.Post("/periods/:period/close", a.previewClose)
		g.Get("/periods/:period/close/:run", a.getCloseRun)
		g.Post("/periods/:period/close/:run/approve", a.approveClose)
		g.Put("/plan-close-schedule", a.putCloseSchedule)
	}
}
