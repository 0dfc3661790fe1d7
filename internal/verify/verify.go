package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/ofd"
	"github.com/loyaltyjam/loyaltyjam/internal/qrscan"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
)

// Fetcher asks the fiscal data services about a receipt. ofd.Chain,
// ofd.Proverkacheka and ofd.OpenAPI implement it. Fetch returns a
// cross-checked receipt or one of the typed outcomes of package ofd
// (ErrNotYet, *RejectedError, *RateLimitedError, a transient error).
type Fetcher interface {
	Fetch(ctx context.Context, q ofd.Query) (ofd.Receipt, error)
}

// Processor continues a verified receipt inside the transaction that marks
// it verified: it matches items to SKUs, applies the program's rules and
// posts the ledger, moving r on (matched, credited, no_eligible_items …)
// with r.Transition. Everything it writes must join the transaction ctx
// carries (the Store's Modify hands it on; *points.Service's store joins
// it). An error rolls the whole step back, verification included, and the
// task is retried. Process may run more than once for one receipt only if
// an earlier run's transaction did not commit.
type Processor interface {
	Process(ctx context.Context, r *receipt.Receipt) error
}

// Store is the receipt storage the service needs; *receiptdb.Store
// implements it. It speaks in domain errors, so nothing here knows how the
// database detects them.
type Store interface {
	// Get returns the receipt, or receipt.ErrNotFound.
	Get(ctx context.Context, id string) (receipt.Receipt, error)
	// Modify locks the receipt, lets fn change it and saves it, all in one
	// transaction that the ctx given to fn carries (for the Processor to
	// join). If fn fails nothing is written. Returns receipt.ErrNotFound
	// for an unknown id, receipt.ErrDuplicate when the receipt would claim
	// a fiscal identity another receipt holds.
	Modify(ctx context.Context, id string, fn func(ctx context.Context, r *receipt.Receipt) error) error
	// Holder returns the id of the receipt holding the fiscal identity
	// (fn, fd, fp), "" if none; within Modify it reads in its transaction.
	Holder(ctx context.Context, fn string, fd, fp int64) (string, error)
	// Stuck returns a page of the receipts the sweeper looks at.
	Stuck(ctx context.Context, q receipt.StuckQuery) ([]receipt.Receipt, error)
}

// Tasks tells which receipts the task queue holds work for;
// workers.LiveTasks implements it over Asynq.
type Tasks interface {
	// Live returns the ids of the receipts that have a task pending,
	// scheduled, waiting for a retry or running.
	Live(ctx context.Context) (map[string]bool, error)
}

// Scheduler enqueues follow-up tasks. Enqueueing the same (receipt, key)
// again while the first is still known to the queue is not an error and
// does not create a second task; key "" names the receipt's default task.
type Scheduler interface {
	// ScheduleVerify enqueues the verification of receipt id to run after
	// delay (at once when delay <= 0).
	ScheduleVerify(ctx context.Context, id string, delay time.Duration, key string) error
	// ScheduleDecode enqueues the photo decoding of receipt id.
	ScheduleDecode(ctx context.Context, id string, key string) error
}

// Recorder receives pipeline measurements; *metrics.Pipeline implements it.
type Recorder interface {
	// Verification records one task run of the verification step; took is
	// the provider call's duration (zero when no call was made).
	Verification(provider, outcome string, took time.Duration)
	// Decode records one photo decoding run.
	Decode(outcome string)
	// Swept records how many receipts one sweep re-enqueued.
	Swept(n int)
}

// Photos opens stored receipt photos by key. It returns an error satisfying
// errors.Is(err, fs.ErrNotExist) when the photo is gone.
type Photos interface {
	Open(ctx context.Context, key string) (io.ReadCloser, error)
}

// QRDecoder finds the QR code in a photo; *qrscan.Decoder implements it.
type QRDecoder interface {
	Decode(ctx context.Context, r io.Reader) (qrscan.Result, error)
}

// ErrUnknownReceipt means a task names a receipt that does not exist: a
// poison task, never worth retrying.
var ErrUnknownReceipt = errors.New("verify: no such receipt")

// Actor is the actor of the events the service records.
const Actor = "worker"

// Config tunes the service. Zero values select the defaults.
type Config struct {
	// CallTimeout bounds one provider call; default 15 s (OFD_CALL_TIMEOUT).
	CallTimeout time.Duration
	// PendingWindow is how long after the upload a receipt may stay
	// unconfirmed before a moderator gets it; default 72 h (OFD_PENDING_WINDOW).
	PendingWindow time.Duration
	// PendingDelays is the schedule for ErrNotYet; default DefaultPendingDelays.
	PendingDelays []time.Duration
	// TransientDelays is the schedule for transient failures; default
	// DefaultTransientDelays.
	TransientDelays []time.Duration
	// NoDataLimit is how many "no data" answers send a receipt to review;
	// default 5.
	NoDataLimit int
	// StuckAfter is how long a receipt may sit untouched in a non-terminal
	// state before the sweeper re-enqueues its task; it must exceed the
	// longest task run. Default 10 min.
	StuckAfter time.Duration
	// LostAfter is how long a receipt may sit untouched in a non-terminal
	// state, with no task for it in the queue (Deps.Tasks), before the
	// sweeper re-enqueues its task; default 30 s. It only needs to exceed
	// the moment between a commit and the enqueue that follows it.
	LostAfter time.Duration
	// DueGrace is how late a scheduled retry may be before the sweeper
	// re-enqueues it when it cannot see the queue (no Deps.Tasks); default
	// 2 min.
	DueGrace time.Duration
	// SweepBatch bounds the receipts looked at per sweep; default 500.
	SweepBatch int
	// Concurrency bounds the provider calls in flight in this process
	// (OFD_VERIFY_CONCURRENCY); 0 leaves it to the task concurrency.
	Concurrency int
	// Now is the clock; default time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.CallTimeout <= 0 {
		c.CallTimeout = 15 * time.Second
	}
	if c.PendingWindow <= 0 {
		c.PendingWindow = 72 * time.Hour
	}
	if len(c.PendingDelays) == 0 {
		c.PendingDelays = DefaultPendingDelays
	}
	if len(c.TransientDelays) == 0 {
		c.TransientDelays = DefaultTransientDelays
	}
	if c.NoDataLimit <= 0 {
		c.NoDataLimit = 5
	}
	if c.StuckAfter <= 0 {
		c.StuckAfter = 10 * time.Minute
	}
	if c.LostAfter <= 0 {
		c.LostAfter = 30 * time.Second
	}
	if c.DueGrace <= 0 {
		c.DueGrace = 2 * time.Minute
	}
	if c.SweepBatch <= 0 {
		c.SweepBatch = 500
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Deps are the collaborators of a Service. Store, Fetcher and Scheduler are
// required; Processor nil stops receipts at verified; Photos and QR are
// needed for Decode only; Tasks lets the sweeper see the queue (without it
// a lost task is noticed only after StuckAfter); Recorder and Logger may be
// nil.
type Deps struct {
	Store     Store
	Fetcher   Fetcher
	Scheduler Scheduler
	Processor Processor
	Photos    Photos
	QR        QRDecoder
	Tasks     Tasks
	Recorder  Recorder
	Logger    *slog.Logger
}

// Service runs the verification steps.
type Service struct {
	cfg   Config
	store Store
	fetch Fetcher
	sched Scheduler
	proc  Processor
	photo Photos
	qr    QRDecoder
	tasks Tasks
	rec   Recorder
	log   *slog.Logger
	sem   chan struct{}
}

// New returns a Service; it fails when a required dependency is missing.
func New(d Deps, cfg Config) (*Service, error) {
	if d.Store == nil || d.Fetcher == nil || d.Scheduler == nil {
		return nil, errors.New("verify: Store, Fetcher and Scheduler are required")
	}
	s := &Service{cfg: cfg.withDefaults(), store: d.Store, fetch: d.Fetcher, sched: d.Scheduler, proc: d.Processor,
		photo: d.Photos, qr: d.QR, tasks: d.Tasks, rec: d.Recorder, log: d.Logger}
	if s.cfg.Concurrency > 0 {
		s.sem = make(chan struct{}, s.cfg.Concurrency)
	}
	if s.rec == nil {
		s.rec = nopRecorder{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

type nopRecorder struct{}

func (nopRecorder) Verification(string, string, time.Duration) {}
func (nopRecorder) Decode(string)                              {}
func (nopRecorder) Swept(int)                                  {}

// errSkip aborts an Update whose row is no longer in the expected state.
var errSkip = errors.New("verify: receipt moved on")

// scheduleKey names the follow-up task of a retry scheduled for at: one
// task per schedule, so a re-enqueue of the same schedule (after a crash,
// or by the sweeper) is refused by the queue rather than run twice.
func scheduleKey(at time.Time) string { return "at" + strconv.FormatInt(at.UnixMilli(), 10) }

// Verify runs one verification step for receipt id. It returns the outcome
// (Outcome* constants) and an error only when the step must be retried as
// a whole: storage unreachable, the Processor failed, the scheduler failed
// after a commit, or ctx ended mid-call. ErrUnknownReceipt is final.
func (s *Service) Verify(ctx context.Context, id string) (string, error) {
	r, err := s.store.Get(ctx, id)
	if errors.Is(err, receipt.ErrNotFound) {
		return "", fmt.Errorf("%w: %s", ErrUnknownReceipt, id)
	}
	if err != nil {
		return "", fmt.Errorf("load receipt: %w", err)
	}
	now := s.cfg.Now()
	switch {
	case r.Status == receipt.Verified:
		if s.proc == nil {
			return s.done("", OutcomeSkipped, 0), nil
		}
		return s.processVerified(ctx, id)
	case r.Status.Terminal(), r.Status == receipt.Matched, r.Status == receipt.Received:
		return s.done("", OutcomeSkipped, 0), nil
	case notDue(r, now):
		// A retry is scheduled for later: this run is a duplicate or a sweep.
		// Make sure the scheduled task exists (it may have been lost between
		// the commit and the enqueue) and stop.
		if err := s.sched.ScheduleVerify(ctx, id, r.NextAttemptAt.Sub(now), scheduleKey(*r.NextAttemptAt)); err != nil {
			return "", fmt.Errorf("schedule verify: %w", err)
		}
		return s.done("", OutcomeNotDue, 0), nil
	}

	var claimed receipt.Receipt
	err = s.store.Modify(ctx, id, func(_ context.Context, r *receipt.Receipt) error {
		data := map[string]any{"attempt": r.Attempts + 1}
		switch r.Status {
		case receipt.Decoded:
			if err := r.Transition(receipt.Queued, Actor, "enqueued", nil); err != nil {
				return err
			}
			fallthrough
		case receipt.Queued, receipt.PendingOFD:
			if notDue(*r, now) {
				return errSkip
			}
			if err := r.Transition(receipt.Verifying, Actor, "verifying", data); err != nil {
				return err
			}
		case receipt.Verifying:
			// The previous run died or is still running; ask again. The
			// apply step below acts only once.
			data["resumed"] = true
			r.Note(Actor, "verifying", data)
		default:
			return errSkip
		}
		r.NextAttemptAt = nil
		claimed = *r
		return nil
	})
	if errors.Is(err, errSkip) {
		return s.done("", OutcomeSkipped, 0), nil
	}
	if err != nil {
		return "", fmt.Errorf("claim receipt: %w", err)
	}

	rec, took, ferr := s.call(ctx, claimed)
	prov := provider(rec, ferr)
	if ferr != nil && ctx.Err() != nil {
		// The task itself is over (shutdown, task timeout): write nothing;
		// the row stays verifying and the queue or the sweeper runs it again.
		s.rec.Verification(prov, OutcomeAborted, took)
		return "", fmt.Errorf("verify aborted: %w", errors.Join(ctx.Err(), ferr))
	}

	now = s.cfg.Now()
	var (
		outcome string
		next    *time.Time
	)
	err = s.store.Modify(ctx, id, func(ctx context.Context, r *receipt.Receipt) error {
		if r.Status != receipt.Verifying {
			return errSkip
		}
		var err error
		outcome, next, err = s.apply(r, rec, ferr, now)
		if err != nil {
			return err
		}
		if outcome == OutcomeVerified && s.proc != nil {
			if err := s.proc.Process(ctx, r); err != nil {
				return &processError{err}
			}
		}
		return nil
	})
	var pe *processError
	switch {
	case errors.Is(err, errSkip):
		return s.done(prov, OutcomeDuplicate, took), nil
	case errors.As(err, &pe):
		s.done(prov, OutcomeProcessError, took)
		return "", fmt.Errorf("process verified receipt: %w", pe.err)
	case err != nil:
		return "", fmt.Errorf("apply verification outcome: %w", err)
	}
	if next != nil {
		if err := s.sched.ScheduleVerify(ctx, id, next.Sub(now), scheduleKey(*next)); err != nil {
			// The row says when; a retry of this task (or the sweeper)
			// enqueues it.
			return "", fmt.Errorf("schedule verify: %w", err)
		}
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "receipt_verification", slog.String("receipt_id", id),
		slog.String("provider", prov), slog.String("outcome", outcome), slog.Duration("took", took))
	return s.done(prov, outcome, took), nil
}

// call asks the provider with the per-call deadline, within the
// concurrency bound.
func (s *Service) call(ctx context.Context, r receipt.Receipt) (ofd.Receipt, time.Duration, error) {
	if s.sem != nil {
		select {
		case s.sem <- struct{}{}:
			defer func() { <-s.sem }()
		case <-ctx.Done():
			return ofd.Receipt{}, 0, ctx.Err()
		}
	}
	cctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	start := time.Now()
	rec, err := s.fetch.Fetch(cctx, query(r))
	return rec, time.Since(start), err
}

type processError struct{ err error }

func (e *processError) Error() string { return e.err.Error() }
func (e *processError) Unwrap() error { return e.err }

func (s *Service) done(provider, outcome string, took time.Duration) string {
	s.rec.Verification(provider, outcome, took)
	return outcome
}

// earlyRun is how early a scheduled task may run and still count as due:
// Asynq keeps ProcessIn/ProcessAt in whole seconds, so a task can start up
// to a second before next_attempt_at. Treating it as not due would end it
// without a run and leave the row to the sweeper.
const earlyRun = 5 * time.Second

// notDue reports whether r waits for a retry scheduled after now.
func notDue(r receipt.Receipt, now time.Time) bool {
	return (r.Status == receipt.Queued || r.Status == receipt.PendingOFD) &&
		r.NextAttemptAt != nil && r.NextAttemptAt.After(now.Add(earlyRun))
}

// query builds the provider query from a receipt's QR fields.
func query(r receipt.Receipt) ofd.Query {
	raw := r.QRCanonical
	if raw == "" {
		raw = r.QRRaw
	}
	return ofd.Query{FN: r.FN, FD: uint64(r.FD), FP: uint64(r.FP), Operation: r.Operation,
		Time: r.PurchasedAt, SumKopecks: r.SumKopecks, Raw: raw}
}

// apply writes the outcome of a provider call onto r (status verifying)
// and returns the outcome and, when a retry follows, its time.
//
// A receipt a moderator approved without fiscal data (back to queued) gets
// a fresh window from the approval, and what would send it to the
// moderation queue again rejects it (ReasonNoDataAfterReview): the
// moderator has already decided, so the queue never sees it twice.
func (s *Service) apply(r *receipt.Receipt, rec ofd.Receipt, ferr error, now time.Time) (string, *time.Time, error) {
	deadline := r.CreatedAt.Add(s.cfg.PendingWindow)
	approved, reviewed := approvedAt(r)
	if reviewed && approved.Add(s.cfg.PendingWindow).After(deadline) {
		deadline = approved.Add(s.cfg.PendingWindow)
	}
	return s.applyOutcome(r, rec, ferr, now, deadline, reviewed)
}

// review moves r to needs_review for reason, or, when a moderator has
// already approved it (reviewed), rejects it with ReasonNoDataAfterReview.
func review(r *receipt.Receipt, reviewed bool, reason string, data map[string]any) (string, error) {
	if !reviewed {
		return OutcomeNeedsReview, r.Transition(receipt.NeedsReview, Actor, reason, data)
	}
	if data == nil {
		data = map[string]any{}
	}
	data["review_reason"] = reason
	return OutcomeRejected, r.Transition(receipt.Rejected, Actor, ReasonNoDataAfterReview, data)
}

// applyOutcome is apply's policy with the verification deadline given.
func (s *Service) applyOutcome(r *receipt.Receipt, rec ofd.Receipt, ferr error, now, deadline time.Time, reviewed bool) (string, *time.Time, error) {
	var (
		rl *ofd.RateLimitedError
		re *ofd.RejectedError
	)
	switch {
	case ferr == nil:
		r.Attempts++
		fill(r, rec, now)
		err := r.Transition(receipt.Verified, Actor, "ofd_verified",
			map[string]any{"provider": rec.Provider, "items": len(rec.Items), "attempt": r.Attempts})
		return OutcomeVerified, nil, err

	case errors.As(ferr, &rl):
		// Says nothing about the receipt: no attempt burnt, no window check.
		wait := rl.RetryAfter
		if wait < time.Second {
			wait = time.Second
		}
		next := now.Add(wait)
		r.NextAttemptAt = &next
		err := r.Transition(receipt.Queued, Actor, "ofd_rate_limited",
			map[string]any{"provider": rl.Provider, "limit": rl.Reason, "retry_after_s": int(wait / time.Second)})
		return OutcomeRateLimited, &next, err

	case errors.As(ferr, &re):
		r.Attempts++
		to, reason := RejectReason(re)
		data := map[string]any{"provider": re.Provider, "provider_reason": re.Reason, "provider_message": re.Message}
		if to == receipt.NeedsReview {
			out, err := review(r, reviewed, reason, data)
			return out, nil, err
		}
		return OutcomeRejected, nil, r.Transition(to, Actor, reason, data)

	case errors.Is(ferr, ofd.ErrNotYet):
		r.Attempts++
		pr := pendingReason(ferr)
		data := map[string]any{"provider": provider(rec, ferr), "pending_reason": pr, "attempt": r.Attempts}
		if pr == "no_data" && countNoData(r.Events)+1 >= s.cfg.NoDataLimit {
			out, err := review(r, reviewed, ReasonNoData, data)
			return out, nil, err
		}
		if !now.Before(deadline) {
			if reviewed {
				out, err := review(r, reviewed, "ofd_pending_expired", data)
				return out, nil, err
			}
			return OutcomeExpired, nil, r.Transition(receipt.NeedsReview, Actor, "ofd_pending_expired", data)
		}
		next := minTime(now.Add(delayAt(s.cfg.PendingDelays, r.Attempts)), deadline)
		r.NextAttemptAt = &next
		return OutcomePending, &next, r.Transition(receipt.PendingOFD, Actor, "ofd_not_yet", data)

	default:
		r.Attempts++
		data := map[string]any{"provider": provider(rec, ferr), "error": truncate(ferr.Error(), 300), "attempt": r.Attempts}
		if !now.Before(deadline) {
			if reviewed {
				out, err := review(r, reviewed, ReasonRetriesExhausted, data)
				return out, nil, err
			}
			return OutcomeExpired, nil, r.Transition(receipt.NeedsReview, Actor, ReasonRetriesExhausted, data)
		}
		next := minTime(now.Add(delayAt(s.cfg.TransientDelays, r.Attempts)), deadline)
		r.NextAttemptAt = &next
		return OutcomeTransient, &next, r.Transition(receipt.Queued, Actor, "ofd_unavailable", data)
	}
}

// fill copies the operator's data onto r.
func fill(r *receipt.Receipt, rec ofd.Receipt, now time.Time) {
	r.OFDProvider = rec.Provider
	r.SellerName = rec.SellerName
	r.SellerINN = rec.SellerINN
	r.RetailPlace = rec.RetailPlace
	r.RetailAddress = rec.RetailAddress
	r.KKTRegNumber = rec.KKTRegID
	r.OFDRaw = nil
	if len(rec.Raw) > 0 && json.Valid(rec.Raw) {
		r.OFDRaw = append([]byte(nil), rec.Raw...)
	}
	at := now
	r.VerifiedAt = &at
	r.NextAttemptAt = nil
	r.Items = make([]receipt.Item, 0, len(rec.Items))
	for i, it := range rec.Items {
		r.Items = append(r.Items, receipt.Item{LineNo: i + 1, Name: it.Name, PriceKopecks: it.PriceKopecks,
			QuantityMilli: it.QuantityMilli, SumKopecks: it.SumKopecks, GTIN: it.GTIN})
	}
	r.ItemsChanged = true
}

// processVerified runs the Processor on a receipt left at verified (it was
// verified while no Processor was configured, or the step's task was lost).
func (s *Service) processVerified(ctx context.Context, id string) (string, error) {
	err := s.store.Modify(ctx, id, func(ctx context.Context, r *receipt.Receipt) error {
		if r.Status != receipt.Verified {
			return errSkip
		}
		return s.proc.Process(ctx, r)
	})
	switch {
	case errors.Is(err, errSkip):
		return s.done("", OutcomeSkipped, 0), nil
	case err != nil:
		s.done("", OutcomeProcessError, 0)
		return "", fmt.Errorf("process verified receipt: %w", err)
	}
	return s.done("", OutcomeVerified, 0), nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
