package mobileapi

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/auth"
	"github.com/loyaltyjam/loyaltyjam/internal/config"
	"github.com/loyaltyjam/loyaltyjam/internal/intake"
	"github.com/loyaltyjam/loyaltyjam/internal/logging"
	"github.com/loyaltyjam/loyaltyjam/internal/password"
	"github.com/loyaltyjam/loyaltyjam/internal/photostore"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/authdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/programdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/receiptdb"
	"github.com/loyaltyjam/loyaltyjam/internal/qrscan"
	"github.com/loyaltyjam/loyaltyjam/internal/queue"
	"github.com/loyaltyjam/loyaltyjam/internal/ratelimit"
	"github.com/loyaltyjam/loyaltyjam/internal/ratelimit/redislimit"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
)

// OpenAPI is the API's contract (OpenAPI 3.1), served at /v1/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte

// Enqueuer enqueues Asynq tasks (*asynq.Client).
type Enqueuer interface {
	EnqueueContext(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// Deps are what the API needs. DB, Redis, Queue, SMS and Auth.JWTSecret
// are required.
type Deps struct {
	DB     *pgxpool.Pool
	Redis  redis.Cmdable
	Queue  Enqueuer
	Logger *slog.Logger
	// SMS sends sign-in codes (*sms.Client pointed at the gateway or at the
	// smssim simulator).
	SMS auth.SMSSender
	// Auth is config.Config.Auth: secret, TTLs, limits, decode budget.
	Auth config.Auth
	// PhotoDir is config.Config.PhotoDir; used when Photos is nil.
	PhotoDir string
	// Photos overrides the photo store (default: photostore.Dir at PhotoDir).
	Photos intake.Photos
	// Decoder overrides the QR decoder (default: qrscan with the full
	// ladder and the photo limits of Auth).
	Decoder intake.Decoder
	// Receipts is the receipt store shared with the workers, with its event
	// hooks installed (default: a plain receiptdb store on DB).
	Receipts *receiptdb.Store
	// Notifications serves the inbox and notification preferences and the
	// unread count of GET /v1/me (notifydb.Store); nil: no
	// /v1/notifications routes, and /v1/me counts none.
	Notifications Inbox
	// Ledger serves /v1/balance and /v1/ledger (ledgerdb.Store); nil: not
	// served.
	Ledger Ledger
	// Tasks serves /v1/tasks (taskdb.Store); nil: not served.
	Tasks Tasks
	// Team serves /v1/team (*tenantdb.Store); nil: not served.
	Team Team
	// Tax serves /v1/me/tax-profile and /v1/me/consents (taxdb.Store); nil:
	// not served.
	Tax TaxProfiles
	// Rewards serves /v1/rewards and /v1/redemptions (rewarddb.Store); nil:
	// not served.
	Rewards Rewards
	// Plans serves /v1/plans/current (plandb.Store); nil: not served.
	Plans Plans
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// API is the mobile API. Register mounts it.
type API struct {
	auth     *auth.Service
	users    *authdb.Store
	receipts *receiptdb.Store
	intake   *intake.Service
	log      *slog.Logger
	cfg      config.Auth
	now      func() time.Time
	inbox    Inbox
	ledger   Ledger
	tasks    Tasks
	team     Team
	tax      TaxProfiles
	rewards  Rewards
	rewardQ  *asynqQueue
	plans    Plans
}

// New builds the API from its dependencies.
func New(d Deps) (*API, error) {
	if d.DB == nil || d.Redis == nil || d.Queue == nil || d.SMS == nil {
		return nil, errors.New("mobileapi: DB, Redis, Queue and SMS are required")
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	users := authdb.New(d.DB)
	limiter := redislimit.New(d.Redis, "lj:rl:", redislimit.WithLogger(d.Logger))
	as, err := auth.New(users, limiter, d.SMS, auth.Config{
		Secret: []byte(d.Auth.JWTSecret.Value()), AccessTTL: d.Auth.AccessTTL, RefreshTTL: d.Auth.RefreshTTL,
		OTPTTL: d.Auth.OTPTTL, OTPMaxAttempts: d.Auth.OTPMaxAttempts, Now: d.Now, Logger: d.Logger,
	})
	if err != nil {
		return nil, err
	}
	if d.Photos == nil {
		dir := d.PhotoDir
		if dir == "" {
			dir = "./.local/photos"
		}
		ps, err := photostore.NewDir(dir)
		if err != nil {
			return nil, err
		}
		d.Photos = ps
	}
	if d.Decoder == nil {
		d.Decoder = qrscan.New(qrscan.Options{MaxBytes: d.Auth.MaxPhotoBytes, MaxPixels: d.Auth.MaxPhotoPixels})
	}
	receipts := d.Receipts
	if receipts == nil {
		receipts = receiptdb.New(d.DB)
	}
	in := intake.New(receiptStore{receipts}, d.Photos, d.Decoder, &asynqQueue{c: d.Queue}, programPicker{programdb.New(d.DB)}, limiter,
		intake.Config{UploadsPerHour: d.Auth.UploadsPerHour, UploadsPerDay: d.Auth.UploadsPerDay,
			DecodeBudget: d.Auth.DecodeBudget, DecodeWorkers: d.Auth.DecodeWorkers, MaxPhotoBytes: d.Auth.MaxPhotoBytes,
			MaxPhotoPixels: d.Auth.MaxPhotoPixels, Logger: d.Logger})
	return &API{auth: as, users: users, receipts: receipts, intake: in, log: d.Logger, cfg: d.Auth, now: d.Now,
		inbox: d.Notifications, ledger: d.Ledger, tasks: d.Tasks, team: d.Team, tax: d.Tax,
		rewards: d.Rewards, rewardQ: &asynqQueue{c: d.Queue}, plans: d.Plans}, nil
}

// Register mounts every route under /v1 on app (an httpapi.New app, whose
// error handler renders the errors): sign-in, profile and devices,
// receipts (here), and the features of the other files: the inbox
// (inbox.go), points (points.go) and tasks (tasks.go).
func (a *API) Register(app *fiber.App) {
	v1 := app.Group("/v1")
	v1.Get("/openapi.yaml", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, "application/yaml")
		return c.Send(OpenAPI)
	})
	v1.Post("/auth/otp/request", a.otpRequest)
	v1.Post("/auth/otp/verify", a.otpVerify)
	v1.Post("/auth/login", a.login)
	v1.Post("/auth/refresh", a.refresh)
	v1.Post("/auth/logout", a.logout)

	v1.Post("/auth/logout-all", a.authenticate, a.logoutAll)
	v1.Get("/me", a.authenticate, a.me)
	v1.Post("/me/password", a.authenticate, a.changePassword)
	v1.Get("/program", a.authenticate, a.program)
	v1.Post("/devices", a.authenticate, a.registerDevice)
	v1.Delete("/devices/:token", a.authenticate, a.deleteDevice)
	v1.Post("/receipts", a.authenticate, a.submitReceipt)
	v1.Get("/receipts", a.authenticate, a.listReceipts)
	v1.Get("/receipts/:id", a.authenticate, a.getReceipt)
	a.registerFeatures(v1, a.authenticate)
	// Unknown routes under /v1 are JSON 404s, not Fiber's text.
	v1.Use(func(c *fiber.Ctx) error { return fiber.ErrNotFound })
}

// registerFeatures mounts the routes of the inbox, points and tasks on v1,
// each behind authn (which puts the caller in c.Locals, see callerOf);
// a feature without its store is left out.
func (a *API) registerFeatures(v1 fiber.Router, authn fiber.Handler) {
	if a.inbox != nil {
		a.registerInbox(v1, authn)
	}
	if a.ledger != nil {
		a.registerPoints(v1, authn)
	}
	if a.tasks != nil {
		a.registerTasks(v1, authn)
	}
	if a.team != nil {
		v1.Get("/team", authn, a.getTeam)
	}
	if a.tax != nil {
		a.registerTax(v1, authn)
	}
	if a.rewards != nil {
		a.registerRewards(v1, authn)
	}
	if a.plans != nil {
		a.registerPlans(v1, authn)
	}
}

// caller is the signed-in participant of a request.
type caller struct {
	auth.Participant
	// SessionID is the sign-in session (refresh token family) of the
	// access token.
	SessionID string
}

const callerKey = "mobileapi.caller"

// authenticate checks the bearer access token and loads the participant:
// a blocked participant is refused at once, whatever their token says.
// It stores the caller in c.Locals.
func (a *API) authenticate(c *fiber.Ctx) error {
	h := c.Get(fiber.HeaderAuthorization)
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="loyaltyjam"`)
		return auth.ErrTokenMissing
	}
	pr, err := a.auth.Authenticate(c.UserContext(), strings.TrimSpace(tok))
	if err != nil {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="loyaltyjam", error="invalid_token"`)
		return err
	}
	p, err := a.users.Participant(c.UserContext(), pr.ParticipantID)
	if errors.Is(err, auth.ErrNotFound) || err == nil && p.ClientID != pr.ClientID {
		return auth.ErrTokenInvalid
	}
	if err != nil {
		return err
	}
	if p.Status == auth.StatusBlocked {
		return auth.BlockedError(p.BlockedReason)
	}
	c.Locals(callerKey, &caller{Participant: p, SessionID: pr.SessionID})
	c.SetUserContext(logging.With(c.UserContext(), slog.Int64("participant_id", p.ID)))
	return c.Next()
}

func callerOf(c *fiber.Ctx) *caller { return c.Locals(callerKey).(*caller) }

// clientIP is the caller's address. Behind a proxy, TRUSTED_PROXY_HEADER
// names the header the proxy sets (X-Real-IP) or appends to
// (X-Forwarded-For): the last entry is the one our proxy wrote, every
// entry before it came from the client and could be anything, so only the
// last counts, and only when it is an IP address. Otherwise the peer.
func (a *API) clientIP(c *fiber.Ctx) string {
	if a.cfg.TrustedProxyHdr != "" {
		return forwardedIP(c.Get(a.cfg.TrustedProxyHdr), c.IP())
	}
	return c.IP()
}

// forwardedIP is the last comma-separated entry of a proxy header when it is
// an IP address, else peer.
func forwardedIP(header, peer string) string {
	last := header
	if i := strings.LastIndexByte(header, ','); i >= 0 {
		last = header[i+1:]
	}
	if ip, err := netip.ParseAddr(strings.TrimSpace(last)); err == nil {
		return ip.Unmap().String()
	}
	return peer
}

// fail adds Retry-After to rate-limit errors and returns err to the error
// handler.
func fail(c *fiber.Ctx, err error) error {
	var ex *ratelimit.ExceededError
	if errors.As(err, &ex) {
		c.Set(fiber.HeaderRetryAfter, fmt.Sprint(ex.RetryAfterSeconds()))
	} else if errors.Is(err, password.ErrBusy) {
		c.Set(fiber.HeaderRetryAfter, fmt.Sprint(int(password.Shared.RetryAfter()/time.Second)))
	}
	return err
}

// Adapters between the domain's small interfaces and the stores/queue.

type receiptStore struct{ s *receiptdb.Store }

func (r receiptStore) Create(ctx context.Context, rc *receipt.Receipt) (bool, error) {
	created, err := r.s.Create(ctx, rc)
	if errors.Is(err, receipt.ErrUnknownShop) {
		return false, intake.ErrShop
	}
	return created, err
}

// asynqQueue enqueues the next step of a new receipt. While Redis is away
// an upload should not wait on it: the receipt is committed and the
// sweeper enqueues it later, so after a failed enqueue the next ones are
// skipped for queueRetryAfter, and one enqueue waits at most queueTimeout.
type asynqQueue struct {
	c         Enqueuer
	mu        sync.Mutex
	downUntil time.Time
}

const (
	queueTimeout    = 500 * time.Millisecond
	queueRetryAfter = time.Second
)

var errQueueDown = errors.New("queue unavailable: left to the sweeper")

func (q *asynqQueue) EnqueueVerify(ctx context.Context, id string) error {
	return q.enqueue(ctx, func(ctx context.Context) error { return queue.EnqueueReceiptVerify(ctx, q.c, id, 0, "") })
}

func (q *asynqQueue) EnqueueDecode(ctx context.Context, id string) error {
	return q.enqueue(ctx, func(ctx context.Context) error { return queue.EnqueueReceiptDecode(ctx, q.c, id, "") })
}

func (q *asynqQueue) enqueue(ctx context.Context, enqueue func(context.Context) error) error {
	q.mu.Lock()
	down := time.Now().Before(q.downUntil)
	q.mu.Unlock()
	if down {
		return errQueueDown
	}
	ctx, cancel := context.WithTimeout(ctx, queueTimeout)
	defer cancel()
	err := enqueue(ctx)
	if err != nil {
		q.mu.Lock()
		q.downUntil = time.Now().Add(queueRetryAfter)
		q.mu.Unlock()
	}
	return err
}

// programPicker files an upload under the client's one live receipt
// program (none when there are several: the worker credits each), and
// refuses it once the client's receipt programs are all closed.
type programPicker struct{ s *programdb.Store }

func (p programPicker) ProgramFor(ctx context.Context, clientID int64, isTest bool) (*int64, error) {
	return p.s.ReceiptProgramFor(ctx, clientID, isTest)
}

var errBadJSON = apperr.New(apperr.Invalid, "malformed_json", "Тело запроса — некорректный JSON.")
