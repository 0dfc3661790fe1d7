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
	// Programs serves /admin/v1/programs and /admin/v1/receipts/:id/programs.
	Programs *Programs
}

// API is the staff API. Register mounts it.
type API struct {
	staff      StaffFunc
	tasks      Tasks
	registries Registries
	programs   *Programs
}

// New builds the API from its dependencies.
func New(d Deps) (*API, error) {
	if d.Staff == nil {
		return nil, errors.New("adminapi: Staff is required")
	}
	if d.Programs != nil && (d.Programs.Service == nil || d.Programs.Store == nil || d.Programs.Matcher == nil) {
		return nil, errors.New("adminapi: Programs needs Service, Store and Matcher")
	}
	return &API{staff: d.Staff, tasks: d.Tasks, registries: d.Registries, programs: d.Programs}, nil
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
//	GET  /admin/v1/programs (?client_id= for operators), POST create
//	GET|PUT /admin/v1/programs/:id                 one program; edit
//	POST /admin/v1/programs/:id/clone              {"code","name","starts_on","ends_on"}: a draft copy with its rules
//	POST /admin/v1/programs/:id/status             {"status","reason"}: draft → test → live → closed
//	GET|POST /admin/v1/programs/:id/rules          versions; save a new one {"effective_from","rules"}
//	POST /admin/v1/programs/:id/dry-run            {"receipt_id"|"qr"|"items"+"purchased_at","draft"}: every version, line by line
//	GET  /admin/v1/receipts/:id/programs           a receipt's outcome per program
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
	if a.programs != nil {
		a.registerPrograms(r)
	}
}
