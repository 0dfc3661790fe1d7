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
	// Tenant serves /admin/v1/clients, /admin/v1/staff and
	// /admin/v1/audit (*tenant.Service).
	Tenant Tenant
	// Shops serves /admin/v1/clients/:id/shops and /admin/v1/shops
	// (*tenant.Service).
	Shops Shops
	// TrustedProxyHeader names the header the reverse proxy puts the
	// client's address in (for the audit log); empty: the peer.
	TrustedProxyHeader string
	// Budgets serves /admin/v1/programs/:id/budget (budgetdb.Store).
	Budgets Budgets
	// People serves /admin/v1/participants/:id and /admin/v1/adjustments (peopledb.Store).
	People People
	// Programs serves /admin/v1/programs and /admin/v1/receipts/:id/programs.
	Programs *Programs
	// Plans serves /admin/v1/programs/:id/plans and …/periods (plandb.Store).
	Plans Plans
	// Rewards serves /admin/v1/programs/:id/reward-offers and
	// …/reward-limits (rewarddb.Store).
	Rewards Rewards
}

// API is the staff API. Register mounts it.
type API struct {
	staff       StaffFunc
	tasks       Tasks
	registries  Registries
	tenant      Tenant
	shops       Shops
	proxyHeader string
	budgets     Budgets
	people      People
	programs    *Programs
	plans       Plans
	rewards     Rewards
}

// New builds the API from its dependencies.
func New(d Deps) (*API, error) {
	if d.Staff == nil {
		return nil, errors.New("adminapi: Staff is required")
	}
	if d.Programs != nil && (d.Programs.Service == nil || d.Programs.Store == nil || d.Programs.Matcher == nil) {
		return nil, errors.New("adminapi: Programs needs Service, Store and Matcher")
	}
	return &API{staff: readOnly(d.Staff), tasks: d.Tasks, registries: d.Registries, tenant: d.Tenant, shops: d.Shops,
		proxyHeader: d.TrustedProxyHeader, budgets: d.Budgets, people: d.People, programs: d.Programs, plans: d.Plans,
		rewards: d.Rewards}, nil
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
//	POST|GET /admin/v1/clients, GET|PATCH /admin/v1/clients/:id   clients (operators; a client's staff read their own)
//	GET  /admin/v1/clients/:id/staff                      staff and invitations
//	POST /admin/v1/staff/invitations                      invite by e-mail; /:id/resend, /:id/revoke
//	POST /admin/v1/staff/invitations/accept               the invitee sets a password (no sign-in: the token is the credential)
//	POST /admin/v1/staff/:id/deactivate                   close an account, end its sessions
//	GET  /admin/v1/audit                                  the audit log (?client_id=&actor_id=&action=&from=&to=&before_id=&limit=)
//	GET  /admin/v1/clients/:id/shops, POST /admin/v1/clients/:id/shops/import (multipart file), PATCH /admin/v1/shops/:id
//	GET  /admin/v1/openapi.yaml                           the contract
//
// Every route refuses an analyst's request that is not a read (403
// read_only_role), whoever adds it: the check wraps Deps.Staff.
//
//	GET  /admin/v1/programs/:id/budget                    figures, settings, open alerts, latest top-ups
//	GET  /admin/v1/programs/:id/budget/top-ups            history
//	POST /admin/v1/programs/:id/budget/top-ups            {"amount":"15000.00","document","comment"} + Idempotency-Key
//	PUT  /admin/v1/programs/:id/budget/settings           {"at_zero":"pause|review","alert_percents":[80],"alert_runway_days":14}
//	GET  /admin/v1/budget/alerts                          open alerts (?client_id= for operators)
//	GET  /admin/v1/participants/:id                       participant page: state, balances, manual adjustments
//	POST /admin/v1/participants/:id/block, /unblock       {"reason"}
//	POST /admin/v1/participants/:id/move                  {"shop_id","reason"}
//	PUT  /admin/v1/participants/:id/tester                {"is_tester":true}
//	POST /admin/v1/participants/:id/adjustments           {"program_id","amount":"-150.00","reason","document"} + Idempotency-Key
//	GET  /admin/v1/adjustments                            waiting for a second approval (?client_id=)
//	POST /admin/v1/adjustments/:id/approve, /reject       {"note"}; never by the maker
//
//	GET  /admin/v1/programs (?client_id= for operators), POST create
//	GET|PUT /admin/v1/programs/:id                 one program; edit
//	POST /admin/v1/programs/:id/clone              {"code","name","starts_on","ends_on"}: a draft copy with its rules
//	POST /admin/v1/programs/:id/status             {"status","reason"}: draft → test → live → closed
//	GET|POST /admin/v1/programs/:id/rules          versions; save a new one {"effective_from","rules"}
//	POST /admin/v1/programs/:id/dry-run            {"receipt_id"|"qr"|"items"+"purchased_at","draft"}: every version, line by line
//	GET  /admin/v1/receipts/:id/programs           a receipt's outcome per program
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
//	GET|PUT /admin/v1/programs/:id/reward-offers                 the program's prize offers; create/edit one {"reward_id",...}
//	PUT  /admin/v1/programs/:id/reward-limits                    redemption limits, moderation threshold, cooling-off
func (a *API) Register(r fiber.Router) {
	r.Get("/admin/v1/openapi.yaml", serveOpenAPI)
	if a.tenant != nil {
		a.registerOps(r)
	}
	if a.shops != nil {
		a.registerShops(r)
	}
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
	a.registerMoney(r)
	if a.programs != nil {
		a.registerPrograms(r)
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
	a.registerRewards(r)
}
