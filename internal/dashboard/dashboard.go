package dashboard

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
	"github.com/loyaltyjam/loyaltyjam/internal/password"
	"github.com/loyaltyjam/loyaltyjam/internal/ratelimit"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/registry"
	"github.com/loyaltyjam/loyaltyjam/internal/report"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// ReceiptStore is what the dashboard reads of the receipt store
// (*receiptdb.Store satisfies it).
type ReceiptStore interface {
	// Get returns the receipt with items and events, or an error of kind
	// NotFound.
	Get(ctx context.Context, id string) (receipt.Receipt, error)
}

// PhotoOpener opens a stored receipt photo by key (*photostore.Dir).
type PhotoOpener interface {
	Open(ctx context.Context, key string) (io.ReadCloser, error)
}

// Options configure the dashboard.
type Options struct {
	// Reports is the dashboard's store (*report.Store). Required.
	Reports Store
	// Foreign keeps the «не наш товар» marks (*catalogdb.Store). Required.
	Foreign  ForeignStore
	Receipts ReceiptStore
	// Approver decides needs_review receipts (a DefaultApprover on the
	// receipt store); nil: moderation answers 404.
	Approver Approver
	// Photos serves receipt photos; nil: no photos.
	Photos PhotoOpener
	Logger *slog.Logger
	Now    func() time.Time
	// SecureCookies marks cookies Secure; they are also Secure whenever
	// the request came over HTTPS.
	SecureCookies bool
	SessionTTL    time.Duration // default 12h
	// MaxFailures wrong passwords from one address shut that address out
	// of the account for LockFor (default 5, 15 min); the third and later
	// already wait 1 s, 2 s, … (see signIn).
	MaxFailures int
	LockFor     time.Duration
	// AccountFailures wrong passwords from all addresses together close the
	// account for LockFor to addresses its owner never signed in from
	// (default 20).
	AccountFailures int
	// IPAttempts caps sign-in attempts per address per IPWindow (default
	// 60 per 15 min); over it: 429 before hashing. Repeated HTTP Basic
	// calls with a password proven from the same address within the last
	// minute are neither hashed nor counted.
	IPAttempts int
	IPWindow   time.Duration
	// Limiter counts IPAttempts (*redislimit.Limiter, shared by every API
	// process); nil: an in-process counter.
	Limiter Limiter
	// Hasher runs password checks under a concurrency bound; nil:
	// password.Shared (one slot per core, process-wide).
	Hasher *password.Guard
	// Alerter tells a user about failed sign-ins to their account; nil: the
	// failures are only logged.
	Alerter Alerter
	// Outage reports whether an error is an outage of a dependency rather
	// than a bug (postgres.Unavailable), to answer 503 with Retry-After
	// instead of 500; see httpapi.Unavailable. Nil: only errors of kind
	// apperr.Unavailable are.
	Outage func(error) bool
	// TrustedProxyHeader names the header our reverse proxy puts the
	// client's address in (X-Real-IP, X-Forwarded-For); empty: the peer.
	TrustedProxyHeader string

	// Tasks backs the task pages (*taskdb.Store); nil: they answer 404.
	Tasks TaskStore
	// Registries backs the registry pages; nil: they answer 404.
	Registries *registry.Service
	// Tenant backs the clients, staff and audit pages and the invitation
	// page (*tenant.Service); nil: they answer 404.
	Tenant TenantService
	// Budgets backs the budget page and banner (*budgetdb.Store); nil:
	// no budget page.
	Budgets Budgets
	// People backs the participant page's actions (*peopledb.Store); nil:
	// the page only reads.
	People People
	// Tax backs the tax page (*taxdb.Store); nil: it answers 404.
	Tax TaxStore
	// Programs backs the program pages (/dashboard/programs); nil: they
	// answer 404.
	Programs *Programs
	// Rewards backs the redemption orders page; nil: it answers 404.
	Rewards RewardOrders
	// RewardOffers backs the reward offers and limits page
	// (*rewarddb.Store); nil: it answers 404.
	RewardOffers RewardOffers
	// Plans backs the plans page (*plandb.Store); nil: it answers 404.
	Plans PlanStore
}

// Server is the dashboard.
type Server struct {
	o        Options
	store    Store
	approver Approver
	pagesMu  sync.Mutex
	pages    map[string]map[string]*template.Template // by time zone, then page
	recent   *recentSignIns
}

// New returns the dashboard server.
func New(o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SessionTTL == 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.MaxFailures == 0 {
		o.MaxFailures = 5
	}
	if o.LockFor == 0 {
		o.LockFor = 15 * time.Minute
	}
	if o.AccountFailures == 0 {
		o.AccountFailures = 20
	}
	if o.IPAttempts == 0 {
		o.IPAttempts = 60
	}
	if o.IPWindow == 0 {
		o.IPWindow = 15 * time.Minute
	}
	if o.Limiter == nil {
		// Tests and tools that build the dashboard without Redis.
		o.Limiter = ratelimit.NewMemory(o.Now, 0)
	}
	if o.Hasher == nil {
		o.Hasher = password.Shared
	}
	s := &Server{o: o, store: o.Reports, approver: o.Approver, recent: newRecent()}
	if s.approver == nil {
		s.approver = noApprover{}
	}
	s.pages = map[string]map[string]*template.Template{defaultZone.String(): parseTemplates(defaultZone)}
	return s
}

// Prefix is where the dashboard is mounted.
const Prefix = "/dashboard"

// Register mounts the dashboard's routes under /dashboard on app.
func (s *Server) Register(app *fiber.App) {
	static, _ := fs.Sub(staticFS, "static")
	g := app.Group(Prefix, s.noStore)
	g.Use("/static", filesystem.New(filesystem.Config{Root: http.FS(static), MaxAge: 3600}))
	g.Get("/login", s.loginPage)
	g.Post("/login", s.login)
	s.registerInvite(g) // before the session group: its middleware covers every later route
	a := g.Group("", s.requireSession)
	a.Post("/logout", s.checkCSRF, s.logout)
	a.Get("/", s.home)
	a.Get("/tax", s.taxRunsPage)
	s.registerPrograms(a)
	p := a.Group("/p/:pid", s.requireProgram, s.checkCSRF)
	p.Get("/overview", s.overview)
	p.Get("/sales", s.sales)
	p.Get("/sales/export", s.salesExport)
	p.Get("/receipts", s.receipts)
	p.Get("/receipts/export", s.receiptsExport)
	p.Get("/receipts/:rid", s.receiptPage)
	p.Get("/receipts/:rid/photo", s.photo)
	p.Get("/moderation", s.moderation)
	p.Post("/moderation/:rid/approve", s.approve)
	p.Post("/moderation/:rid/reject", s.reject)
	p.Get("/unmatched", s.unmatched)
	p.Post("/unmatched/confirm", s.confirmAlias)
	p.Post("/unmatched/foreign", s.markForeign)
	p.Post("/unmatched/foreign/undo", s.unmarkForeign)
	p.Get("/participants", s.participants)
	p.Get("/participants/export", s.participantsExport)
	p.Get("/participants/:id", s.participantPage)
	p.Get("/settings", s.settings)
	p.Post("/settings/skus/:sid/weight", s.setWeight)
	p.Get("/settings/skus/export", s.skusExport)
	p.Post("/settings/skus/import", s.skusImport)
	s.registerTasks(p)
	s.registerRegistries(p)
	s.registerOps(a)
	s.registerMoney(p)
	s.registerTax(p)
	s.registerRewards(p)
	s.registerPlans(p)
}

func (s *Server) noStore(c *fiber.Ctx) error {
	c.Set("Cache-Control", "no-store")
	c.Set("X-Frame-Options", "DENY")
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("Referrer-Policy", "same-origin")
	c.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'")
	return c.Next()
}

const sessionCookie = "lj_session"

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func hashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// clientIP is the caller's address (see httpapi.ClientIP).
func (s *Server) clientIP(c *fiber.Ctx) string { return httpapi.ClientIP(c, s.o.TrustedProxyHeader) }

func (s *Server) secure(c *fiber.Ctx) bool { return s.o.SecureCookies || c.Protocol() == "https" }

func (s *Server) setCookie(c *fiber.Ctx, name, value string, expires time.Time) {
	// Path "/" so the admin API (/admin/v1) sees the session too; it checks
	// CSRF itself (see Staff).
	c.Cookie(&fiber.Cookie{Name: name, Value: value, Path: "/", Expires: expires, HTTPOnly: true,
		Secure: s.secure(c), SameSite: fiber.CookieSameSiteLaxMode})
}

// request-scoped values.
const (
	ctxSession = "dash_session"
	ctxProgram = "dash_program"
)

func session(c *fiber.Ctx) report.Session { return c.Locals(ctxSession).(report.Session) }

func staff(c *fiber.Ctx) access.Staff { return session(c).User.Staff() }

func program(c *fiber.Ctx) report.Program { return c.Locals(ctxProgram).(report.Program) }

func (s *Server) requireSession(c *fiber.Ctx) error {
	tok := c.Cookies(sessionCookie)
	if tok != "" {
		ss, err := s.store.SessionByHash(c.UserContext(), hashToken(tok), s.o.Now())
		if err == nil {
			c.Locals(ctxSession, ss)
			if !readOnlyGuard(c, ss.User.Staff()) {
				return s.errorPage(c, fiber.StatusForbidden, "Роль «аналитик» только просматривает данные и ничего не меняет.")
			}
			return c.Next()
		}
		if !errors.Is(err, report.ErrNotFound) {
			return s.fail(c, err)
		}
	}
	if c.Method() != fiber.MethodGet {
		return s.errorPage(c, fiber.StatusUnauthorized, "Сессия истекла. Войдите снова.")
	}
	return c.Redirect(Prefix+"/login", fiber.StatusSeeOther)
}

// checkCSRF rejects a state-changing request whose synchronizer token is
// not the session's.
func (s *Server) checkCSRF(c *fiber.Ctx) error {
	if c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead {
		return c.Next()
	}
	got := c.FormValue("_csrf")
	if got == "" {
		got = c.Get("X-CSRF-Token")
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(session(c).CSRFToken)) != 1 {
		return s.errorPage(c, fiber.StatusForbidden, "Форма устарела или отправлена не со страницы кабинета. Обновите страницу и повторите.")
	}
	return c.Next()
}

func (s *Server) requireProgram(c *fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("pid"), 10, 64)
	if err != nil {
		return s.errorPage(c, fiber.StatusNotFound, "Программа не найдена.")
	}
	p, err := s.store.Program(c.UserContext(), staff(c), id)
	if err != nil {
		return s.fail(c, err)
	}
	c.Locals(ctxProgram, p)
	return c.Next()
}

func (s *Server) home(c *fiber.Ctx) error {
	ps, err := s.store.Programs(c.UserContext(), staff(c))
	if err != nil {
		return s.fail(c, err)
	}
	if len(ps) == 0 && s.o.Programs != nil {
		return c.Redirect(Prefix+"/programs", fiber.StatusSeeOther)
	}
	if len(ps) == 0 {
		return s.adminHome(c)
	}
	return c.Redirect(Prefix+"/p/"+strconv.FormatInt(ps[0].ID, 10)+"/overview", fiber.StatusSeeOther)
}

// fail renders err as an HTML error page with the status of its kind.
func (s *Server) fail(c *fiber.Ctx, err error) error {
	if errors.Is(err, report.ErrNotFound) {
		return s.errorPage(c, fiber.StatusNotFound, "Не найдено.")
	}
	if e, ok := apperr.As(err); ok {
		switch e.Kind {
		case apperr.NotFound:
			return s.errorPage(c, fiber.StatusNotFound, "Не найдено.")
		case apperr.Forbidden:
			return s.errorPage(c, fiber.StatusForbidden, e.Message)
		case apperr.Invalid, apperr.Conflict:
			return s.errorPage(c, fiber.StatusBadRequest, e.Message)
		}
	}
	s.o.Logger.ErrorContext(c.UserContext(), "dashboard request failed", "path", c.Path(), "err", err)
	if httpapi.Unavailable(err, s.o.Outage) {
		// An outage (the database is down or restarting), not a bug.
		c.Set(fiber.HeaderRetryAfter, httpapi.RetryAfterUnavailable)
		return s.errorPage(c, fiber.StatusServiceUnavailable, "Сервис временно недоступен. Обновите страницу через несколько секунд.")
	}
	return s.errorPage(c, fiber.StatusInternalServerError, "Внутренняя ошибка. Попробуйте позже.")
}

func (s *Server) errorPage(c *fiber.Ctx, status int, msg string) error {
	c.Status(status)
	data := map[string]any{"Message": msg, "Status": status}
	if ss, ok := c.Locals(ctxSession).(report.Session); ok {
		data["Session"] = ss
	}
	return s.render(c, "error", data)
}
