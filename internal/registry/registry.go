package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
)

// Kind is what a registry holds.
type Kind string

// Registry kinds.
const (
	KindParticipants Kind = "participants"
	KindPoints       Kind = "points"
)

// Status of an upload (registry_uploads.status).
type Status string

// Upload statuses; see the package comment for the machine.
const (
	StatusUploaded   Status = "uploaded"
	StatusValidated  Status = "validated"
	StatusRejected   Status = "rejected" // terminal: rows with errors, nothing changes
	StatusConfirmed  Status = "confirmed"
	StatusProcessing Status = "processing"
	StatusApplied    Status = "applied" // terminal
	StatusFailed     Status = "failed"  // terminal: e.g. the budget is short; nothing changed
)

// Invitation channels and methods.
const (
	ChannelSMS   = "sms"
	ChannelEmail = "email"

	// MethodCode: the invitation tells the participant to sign in with
	// their phone and a one-time code the app requests by SMS.
	MethodCode = "code"
	// MethodPassword: a generated password is set and sent.
	MethodPassword = "password"
)

// Options are the client's choices for one upload.
type Options struct {
	// UnknownShops is UnknownShopsReport (default) or UnknownShopsCreate.
	UnknownShops string `json:"unknown_shops,omitempty"`
	// Invite lists the channels new participants are invited by (sms,
	// email); none: no invitations.
	Invite []string `json:"invite,omitempty"`
	// InviteMethod is MethodCode (default) or MethodPassword.
	InviteMethod string `json:"invite_method,omitempty"`
}

// MaxStoredErrors bounds the row errors kept with an upload; ErrorCount
// has the total.
const MaxStoredErrors = 1000

// Upload is one registry file and where it is in its life.
type Upload struct {
	ID         int64   `json:"id"`
	ClientID   int64   `json:"client_id"`
	Kind       Kind    `json:"kind"`
	ProgramID  int64   `json:"program_id,omitempty"`
	Period     string  `json:"period,omitempty"`
	Status     Status  `json:"status"`
	FileName   string  `json:"file_name"`
	FileSHA256 string  `json:"file_sha256"`
	FileSize   int64   `json:"file_size"`
	Format     Format  `json:"format"`
	Encoding   string  `json:"encoding,omitempty"`
	Options    Options `json:"options"`
	UploadedBy int64   `json:"uploaded_by"`
	// ConfirmedBy is the staff member who confirmed; a different one from
	// UploadedBy when NeedsSecondApproval.
	ConfirmedBy         int64 `json:"confirmed_by,omitempty"`
	NeedsSecondApproval bool  `json:"needs_second_approval"`
	Rows                int   `json:"rows"`
	ErrorCount          int   `json:"error_count"`
	// Errors are the first MaxStoredErrors row errors.
	Errors []RowError `json:"errors"`
	// ItemsTotal and ItemsDone are the progress of processing: participant
	// rows or per-participant point lines.
	ItemsTotal   int                 `json:"items_total"`
	ItemsDone    int                 `json:"items_done"`
	Participants *ParticipantPreview `json:"participants_preview,omitempty"`
	Points       *PointsPreview      `json:"points_preview,omitempty"`
	Result       *Result             `json:"result,omitempty"`
	FailureCode  string              `json:"failure_code,omitempty"`
	FailureText  string              `json:"failure_message,omitempty"`
	CreatedAt    time.Time           `json:"created_at"`
	ConfirmedAt  *time.Time          `json:"confirmed_at,omitempty"`
	StartedAt    *time.Time          `json:"started_at,omitempty"`
	FinishedAt   *time.Time          `json:"finished_at,omitempty"`
}

// Result is what applying an upload did.
type Result struct {
	// Participants registries.
	Created     int `json:"created,omitempty"`
	Updated     int `json:"updated,omitempty"`
	Unchanged   int `json:"unchanged,omitempty"`
	ShopsAdded  int `json:"shops_added,omitempty"`
	Invitations int `json:"invitations,omitempty"`
	// Points registries.
	Posted        int   `json:"posted,omitempty"`
	Skipped       int   `json:"skipped,omitempty"` // nothing to post
	CreditKopecks int64 `json:"credit_kopecks,omitempty"`
	DebitKopecks  int64 `json:"debit_kopecks,omitempty"`
	// DebitsRefused are lines whose debit would overdraw the participant
	// (they spent the points): not posted, listed for the client.
	DebitsRefused []RefusedDebit `json:"debits_refused,omitempty"`
}

// RefusedDebit is a correction that could not be taken back.
type RefusedDebit struct {
	ParticipantID  int64 `json:"participant_id"`
	WantKopecks    int64 `json:"want_kopecks"`
	BalanceKopecks int64 `json:"balance_kopecks"`
}

// Errors of the registry service.
var (
	ErrNotFound        = apperr.New(apperr.NotFound, "registry_not_found", "Реестр не найден.")
	ErrProgramNotFound = apperr.New(apperr.NotFound, "program_not_found", "Программа не найдена.")
	ErrBadKind         = apperr.New(apperr.Invalid, "registry_bad_kind", "Тип реестра: participants или points.")
	ErrBadPeriod       = apperr.New(apperr.Invalid, "registry_bad_period", "Период: месяц в виде 2026-03 или половина месяца 2026-03-1 / 2026-03-2.")
	ErrBadOptions      = apperr.New(apperr.Invalid, "registry_bad_options", "Неверные параметры реестра: unknown_shops — report или create; invite — sms, email; invite_method — code или password.")
	ErrNotConfirmable  = apperr.New(apperr.Conflict, "registry_not_confirmable", "Реестр нельзя подтвердить: он уже подтверждён, отклонён или применён.")
	ErrSecondApproval  = apperr.New(apperr.Forbidden, "registry_second_approval_required", "Начисления реестра выше порога (сам реестр, вместе с прежними реестрами периода или одному участнику за 30 дней): подтвердить его должен другой сотрудник, не тот, кто загрузил.")
	ErrNotApplied      = apperr.New(apperr.Conflict, "registry_not_applied", "Приглашения можно отправить повторно только после применения реестра участников.")
	ErrBudget          = apperr.New(apperr.Conflict, "budget_exhausted", "Бюджета программы не хватает на начисления реестра: ничего не начислено.")
)

// ErrPermanent marks Process errors that retrying cannot fix (the lead's
// task handler wraps them in asynq.SkipRetry).
var ErrPermanent = errors.New("registry: permanent failure")

// Store keeps uploads. Implemented by registrydb.Store.
type Store interface {
	// Participants returns the client's participants by phone.
	Participants(ctx context.Context, clientID int64) (map[string]ExistingParticipant, error)
	// Shops returns the client's shops.
	Shops(ctx context.Context, clientID int64) ([]Shop, error)
	// ProgramClient returns the client of a program, or ErrProgramNotFound.
	ProgramClient(ctx context.Context, programID int64) (int64, error)
	// PeriodPaid returns what registries paid per participant in a
	// program's period.
	PeriodPaid(ctx context.Context, programID int64, period string) (map[int64]int64, error)
	// Credited returns what the client's applied registries credited: in
	// the program's period in total, and per participant of participantIDs
	// within ApprovalWindow.
	Credited(ctx context.Context, clientID, programID int64, period string, participantIDs []int64) (Credited, error)
	// Create stores a validated or rejected upload with its rows (one of
	// participants or points is used, by u.Kind) and returns its id.
	Create(ctx context.Context, u Upload, participants []ParticipantRow, points []PointLine) (int64, error)
	// Get returns an upload, or ErrNotFound.
	Get(ctx context.Context, id int64) (Upload, error)
	// PointLines returns an upload's lines by participant id.
	PointLines(ctx context.Context, id int64, offset, limit int) ([]PointLine, error)
	// Confirm moves a validated upload to confirmed by userID; it returns
	// ErrNotConfirmable unless the upload was validated (exactly one of
	// concurrent calls succeeds).
	Confirm(ctx context.Context, id, userID int64) (Upload, error)
	// Invitations lists an upload's invitations.
	Invitations(ctx context.Context, id int64) ([]Invitation, error)
	// Resend adds a new round of pending invitations for participants of
	// the upload (all not yet signed in when r.ParticipantIDs is empty), one
	// round number per participant across channels, and returns how many.
	Resend(ctx context.Context, id int64, r ResendRequest) (int, error)
}

// Enqueuer hands an upload to the worker; reason makes the task id unique
// per trigger ("confirm", "resend-<n>").
type Enqueuer interface {
	EnqueueRegistry(ctx context.Context, uploadID int64, reason string) error
}

// EnqueueFunc adapts a function to Enqueuer.
type EnqueueFunc func(ctx context.Context, uploadID int64, reason string) error

// EnqueueRegistry calls f.
func (f EnqueueFunc) EnqueueRegistry(ctx context.Context, uploadID int64, reason string) error {
	return f(ctx, uploadID, reason)
}

// Config of the Service.
type Config struct {
	// SecondApprovalKopecks: a points registry crediting at least this much
	// — alone, with what the period's earlier registries credited, or to one
	// participant with their registry credits of the last ApprovalWindow —
	// must be confirmed by someone other than its uploader; 0 disables. The
	// applier (registrydb.WithSecondApproval) must use the same value.
	SecondApprovalKopecks int64
	// MaxFileBytes bounds an upload (DefaultMaxFileBytes when 0).
	MaxFileBytes int
	Logger       *slog.Logger
	Now          func() time.Time
}

// Service handles registry requests of staff: upload and validate, report,
// confirm, re-send invitations.
type Service struct {
	store Store
	queue Enqueuer
	cfg   Config
}

// NewService returns a Service.
func NewService(store Store, queue Enqueuer, cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxFileBytes <= 0 {
		cfg.MaxFileBytes = DefaultMaxFileBytes
	}
	return &Service{store: store, queue: queue, cfg: cfg}
}

// MaxFileBytes is the upload limit the service enforces.
func (s *Service) MaxFileBytes() int { return s.cfg.MaxFileBytes }

// UploadRequest is one uploaded file with its parameters.
type UploadRequest struct {
	ClientID  int64
	Kind      Kind
	ProgramID int64 // points
	Period    string
	FileName  string
	Data      []byte
	Options   Options
}

func (o *Options) normalize(kind Kind) error {
	if kind == KindPoints {
		*o = Options{}
		return nil
	}
	switch o.UnknownShops {
	case "":
		o.UnknownShops = UnknownShopsReport
	case UnknownShopsReport, UnknownShopsCreate:
	default:
		return ErrBadOptions
	}
	switch o.InviteMethod {
	case "":
		o.InviteMethod = MethodCode
	case MethodCode, MethodPassword:
	default:
		return ErrBadOptions
	}
	var ch []string
	for _, c := range o.Invite {
		if c != ChannelSMS && c != ChannelEmail {
			return ErrBadOptions
		}
		if !slices.Contains(ch, c) {
			ch = append(ch, c)
		}
	}
	o.Invite = ch
	return nil
}

// Upload reads and validates a registry file and stores it, validated (ready
// to confirm, with a preview) or rejected (with row errors). A file that
// cannot be read at all returns an *apperr.Error and stores nothing.
func (s *Service) Upload(ctx context.Context, staff access.Staff, req UploadRequest) (Upload, error) {
	if err := staff.CheckClient(req.ClientID, access.ClientManager); err != nil {
		return Upload{}, err
	}
	if req.Kind != KindParticipants && req.Kind != KindPoints {
		return Upload{}, ErrBadKind
	}
	if err := req.Options.normalize(req.Kind); err != nil {
		return Upload{}, err
	}
	if req.Kind == KindPoints {
		if _, err := ParsePeriod(req.Period); err != nil {
			return Upload{}, ErrBadPeriod
		}
		owner, err := s.store.ProgramClient(ctx, req.ProgramID)
		if err != nil {
			return Upload{}, err
		}
		if owner != req.ClientID {
			return Upload{}, ErrProgramNotFound
		}
	} else {
		req.ProgramID, req.Period = 0, ""
	}
	sum := sha256.Sum256(req.Data)
	u := Upload{
		ClientID: req.ClientID, Kind: req.Kind, ProgramID: req.ProgramID, Period: req.Period,
		FileName: truncate(req.FileName, 255), FileSHA256: hex.EncodeToString(sum[:]), FileSize: int64(len(req.Data)),
		Options: req.Options, UploadedBy: staff.UserID,
	}
	t, errs, err := ReadTable(req.Data, s.cfg.MaxFileBytes)
	if err != nil {
		return Upload{}, err
	}
	u.Format, u.Encoding, u.Rows = t.Format, t.Encoding, len(t.Rows)
	existing, err := s.store.Participants(ctx, req.ClientID)
	if err != nil {
		return Upload{}, err
	}
	var (
		prows  []ParticipantRow
		plines []PointLine
		perrs  []RowError
	)
	if req.Kind == KindParticipants {
		shops, err := s.store.Shops(ctx, req.ClientID)
		if err != nil {
			return Upload{}, err
		}
		var pv ParticipantPreview
		prows, pv, perrs = ParseParticipants(t, existing, shops, req.Options.UnknownShops, len(req.Options.Invite))
		u.Participants = &pv
		u.ItemsTotal = len(prows)
	} else {
		prev, err := s.store.PeriodPaid(ctx, req.ProgramID, req.Period)
		if err != nil {
			return Upload{}, err
		}
		var pv PointsPreview
		plines, pv, perrs = ParsePoints(t, existing, prev)
		u.Points = &pv
		u.ItemsTotal = len(plines)
		if s.cfg.SecondApprovalKopecks > 0 && len(perrs) == 0 {
			credits := Credits(plines)
			ids := make([]int64, 0, len(credits))
			for id := range credits {
				ids = append(ids, id)
			}
			done, err := s.store.Credited(ctx, req.ClientID, req.ProgramID, req.Period, ids)
			if err != nil {
				return Upload{}, err
			}
			// A first look for the preview and the confirm button; the
			// applying transaction decides again under its locks.
			u.NeedsSecondApproval = NeedsSecondApproval(s.cfg.SecondApprovalKopecks, credits, done)
		}
	}
	errs = append(errs, perrs...)
	slices.SortStableFunc(errs, func(a, b RowError) int { return a.Line - b.Line })
	u.ErrorCount = len(errs)
	u.Errors = errs[:min(len(errs), MaxStoredErrors)]
	u.Status = StatusValidated
	if len(errs) > 0 {
		u.Status, prows, plines, u.ItemsTotal = StatusRejected, nil, nil, 0
	}
	id, err := s.store.Create(ctx, u, prows, plines)
	if err != nil {
		return Upload{}, err
	}
	s.cfg.Logger.InfoContext(ctx, "registry_uploaded", "upload_id", id, "client_id", u.ClientID,
		"kind", string(u.Kind), "status", string(u.Status), "rows", u.Rows, "errors", u.ErrorCount)
	return s.store.Get(ctx, id)
}

// Get returns an upload the staff member may see (ErrNotFound otherwise:
// another tenant's uploads do not exist for them).
func (s *Service) Get(ctx context.Context, staff access.Staff, id int64) (Upload, error) {
	u, err := s.store.Get(ctx, id)
	if err != nil {
		return Upload{}, err
	}
	if !staff.CanSee(u.ClientID) {
		return Upload{}, ErrNotFound
	}
	return u, nil
}

// Lines returns a page of a points upload's per-participant lines.
func (s *Service) Lines(ctx context.Context, staff access.Staff, id int64, offset, limit int) ([]PointLine, error) {
	if _, err := s.Get(ctx, staff, id); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	return s.store.PointLines(ctx, id, max(offset, 0), limit)
}

// Confirm confirms a validated upload and hands it to the worker. Over the
// maker-checker threshold the uploader may not confirm their own registry
// (ErrSecondApproval). Of concurrent confirmations exactly one succeeds; the
// others get ErrNotConfirmable.
func (s *Service) Confirm(ctx context.Context, staff access.Staff, id int64) (Upload, error) {
	u, err := s.Get(ctx, staff, id)
	if err != nil {
		return Upload{}, err
	}
	if err := staff.CheckClient(u.ClientID, access.ClientManager); err != nil {
		return Upload{}, err
	}
	if u.Status != StatusValidated {
		return Upload{}, ErrNotConfirmable
	}
	if u.NeedsSecondApproval && staff.UserID == u.UploadedBy {
		return Upload{}, ErrSecondApproval
	}
	u, err = s.store.Confirm(ctx, id, staff.UserID)
	if err != nil {
		return Upload{}, err
	}
	// The upload is confirmed in the database; if Redis is down the
	// sweeper (registrydb.Store.Stuck) enqueues it later.
	if err := s.queue.EnqueueRegistry(ctx, id, "confirm"); err != nil {
		s.cfg.Logger.WarnContext(ctx, "registry_enqueue_failed", "upload_id", id, "error", err)
	}
	return u, nil
}

// Invitations lists the invitations of a participant upload with their
// delivery and sign-in state.
func (s *Service) Invitations(ctx context.Context, staff access.Staff, id int64) ([]Invitation, error) {
	if _, err := s.Get(ctx, staff, id); err != nil {
		return nil, err
	}
	return s.store.Invitations(ctx, id)
}

// ResendRequest says who a re-send goes to and whether it resets passwords.
type ResendRequest struct {
	// ParticipantIDs lists participants of the upload; empty: everyone
	// who has not signed in yet.
	ParticipantIDs []int64 `json:"participant_ids"`
	// NewPassword (password invitations): generate and send new passwords
	// also to participants who have signed in. Without it a participant
	// who has signed in keeps their password and the re-send reminds them
	// of the login; one who has not gets a new password.
	NewPassword bool `json:"new_password"`
}

// Resend queues a new round of invitations to participants of an applied
// participant upload: those listed, or all who have not signed in yet. A
// participant who has signed in keeps their password (see ResendWith).
func (s *Service) Resend(ctx context.Context, staff access.Staff, id int64, participantIDs []int64) (int, error) {
	return s.ResendWith(ctx, staff, id, ResendRequest{ParticipantIDs: participantIDs})
}

// ResendWith is Resend with the choice of new credentials.
func (s *Service) ResendWith(ctx context.Context, staff access.Staff, id int64, r ResendRequest) (int, error) {
	u, err := s.Get(ctx, staff, id)
	if err != nil {
		return 0, err
	}
	if err := staff.CheckClient(u.ClientID, access.ClientManager); err != nil {
		return 0, err
	}
	if u.Kind != KindParticipants || u.Status != StatusApplied {
		return 0, ErrNotApplied
	}
	n, err := s.store.Resend(ctx, id, r)
	if err != nil || n == 0 {
		return n, err
	}
	if err := s.queue.EnqueueRegistry(ctx, id, fmt.Sprintf("resend-%d", s.cfg.Now().UnixNano())); err != nil {
		return n, err
	}
	return n, nil
}
