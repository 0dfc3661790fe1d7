package verify

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/loyaltyjam/loyaltyjam/internal/fiscal"
	"github.com/loyaltyjam/loyaltyjam/internal/qrscan"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
)

// Decode reads the QR code of the photo of receipt id (status received) with
// the full ladder, then in one transaction moves it received → decoded →
// queued claiming its fiscal identity, and enqueues its verification. A
// photo without a fiscal QR makes it unreadable; an identity another
// receipt holds makes it duplicate. Errors are retried as a whole, except
// ErrUnknownReceipt.
func (s *Service) Decode(ctx context.Context, id string) (string, error) {
	r, err := s.store.Get(ctx, id)
	if errors.Is(err, receipt.ErrNotFound) {
		return "", fmt.Errorf("%w: %s", ErrUnknownReceipt, id)
	}
	if err != nil {
		return "", fmt.Errorf("load receipt: %w", err)
	}
	switch r.Status {
	case receipt.Received:
	case receipt.Queued:
		// An earlier run committed and may have died before enqueueing.
		if err := s.sched.ScheduleVerify(ctx, id, 0, ""); err != nil {
			return "", fmt.Errorf("schedule verify: %w", err)
		}
		return s.decoded(OutcomeSkipped), nil
	default:
		return s.decoded(OutcomeSkipped), nil
	}
	if s.photo == nil || s.qr == nil {
		return "", errors.New("verify: Decode needs Photos and QR")
	}
	if r.PhotoKey == "" {
		return s.markUnreadable(ctx, id, ReasonPhotoMissing, map[string]any{"error": "no photo key"})
	}

	text, step, derr := s.readQR(ctx, r.PhotoKey)
	switch {
	case errors.Is(derr, fs.ErrNotExist):
		return s.markUnreadable(ctx, id, ReasonPhotoMissing, nil)
	case errors.Is(derr, qrscan.ErrNotFound), errors.Is(derr, qrscan.ErrCorrupt),
		errors.Is(derr, qrscan.ErrUnsupportedFormat), errors.Is(derr, qrscan.ErrTooLarge):
		return s.markUnreadable(ctx, id, "qr_not_found", map[string]any{"error": derr.Error()})
	case derr != nil:
		return "", fmt.Errorf("decode photo: %w", derr)
	}
	p, perr := fiscal.Parse(text)
	if perr != nil {
		return s.markUnreadable(ctx, id, "qr_not_found", map[string]any{"error": fiscal.CodeOf(perr)})
	}

	err = s.store.Modify(ctx, id, func(_ context.Context, r *receipt.Receipt) error {
		if r.Status != receipt.Received {
			return errSkip
		}
		setPayload(r, text, p)
		if err := r.Transition(receipt.Decoded, Actor, "qr_decoded", map[string]any{"step": step}); err != nil {
			return err
		}
		return r.Transition(receipt.Queued, Actor, "enqueued", nil)
	})
	switch {
	case errors.Is(err, errSkip):
		return s.decoded(OutcomeSkipped), nil
	case errors.Is(err, receipt.ErrDuplicate):
		return s.markDuplicate(ctx, id, text, p)
	case err != nil:
		return "", fmt.Errorf("store decoded receipt: %w", err)
	}
	if err := s.sched.ScheduleVerify(ctx, id, 0, ""); err != nil {
		return "", fmt.Errorf("schedule verify: %w", err)
	}
	return s.decoded(OutcomeDecoded), nil
}

func (s *Service) decoded(outcome string) string {
	s.rec.Decode(outcome)
	return outcome
}

func (s *Service) readQR(ctx context.Context, key string) (text, step string, err error) {
	f, err := s.photo.Open(ctx, key)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	res, err := s.qr.Decode(ctx, f)
	if err != nil {
		return "", "", err
	}
	if !res.Fiscal {
		// Only other codes (EGAIS, payment links) in the photo.
		return "", "", fmt.Errorf("%w: no fiscal code among %d", qrscan.ErrNotFound, len(res.Texts))
	}
	return res.Text, res.Step, nil
}

func setPayload(r *receipt.Receipt, text string, p fiscal.Payload) {
	r.QRRaw = text
	r.QRCanonical = p.Canonical()
	r.FN, r.FD, r.FP = p.FN, int64(p.FD), int64(p.FP)
	r.Operation = p.Operation
	r.PurchasedAt = p.Time
	r.SumKopecks = p.SumKopecks
}

func (s *Service) markUnreadable(ctx context.Context, id, reason string, data map[string]any) (string, error) {
	err := s.store.Modify(ctx, id, func(_ context.Context, r *receipt.Receipt) error {
		if r.Status != receipt.Received {
			return errSkip
		}
		return r.Transition(receipt.Unreadable, Actor, reason, data)
	})
	if errors.Is(err, errSkip) {
		return s.decoded(OutcomeSkipped), nil
	}
	if err != nil {
		return "", fmt.Errorf("mark unreadable: %w", err)
	}
	return s.decoded(OutcomeUnreadable), nil
}

// markDuplicate records that the photo names a fiscal identity another
// receipt holds. The row keeps its QR text but not the identity (one
// receipt holds an identity; a duplicate goes without); the event says
// which identity and receipt it collided with.
func (s *Service) markDuplicate(ctx context.Context, id, text string, p fiscal.Payload) (string, error) {
	err := s.store.Modify(ctx, id, func(ctx context.Context, r *receipt.Receipt) error {
		if r.Status != receipt.Received {
			return errSkip
		}
		other, err := s.store.Holder(ctx, p.FN, int64(p.FD), int64(p.FP))
		if err != nil {
			return err
		}
		r.QRRaw, r.QRCanonical = text, p.Canonical()
		return r.Transition(receipt.Duplicate, Actor, "duplicate_claim", map[string]any{
			"fn": p.FN, "fd": p.FD, "fp": p.FP, "duplicate_of": other})
	})
	if errors.Is(err, errSkip) {
		return s.decoded(OutcomeSkipped), nil
	}
	if err != nil {
		return "", fmt.Errorf("mark duplicate: %w", err)
	}
	return s.decoded(OutcomeDuplicateQR), nil
}
