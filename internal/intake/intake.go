package intake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // registers JPEG for image.DecodeConfig
	_ "image/png"  // registers PNG for image.DecodeConfig
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/fiscal"
	"github.com/loyaltyjam/loyaltyjam/internal/qrscan"
	"github.com/loyaltyjam/loyaltyjam/internal/ratelimit"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
)

// Store creates receipts (receiptdb.Store). Create returns created=false
// with the existing receipt for a repeat by the same participant, and an
// error of code receipt_already_claimed for another participant's receipt.
type Store interface {
	Create(ctx context.Context, r *receipt.Receipt) (created bool, err error)
}

// Photos keeps photos for audit and returns their key.
type Photos interface {
	Put(ctx context.Context, data []byte, ext string) (key string, err error)
}

// Decoder reads the QR code of a photo (qrscan.Decoder).
type Decoder interface {
	DecodeBytes(ctx context.Context, b []byte) (qrscan.Result, error)
}

// Queue enqueues the next step of a receipt. Enqueuing a step already
// queued is not an error.
type Queue interface {
	EnqueueVerify(ctx context.Context, receiptID string) error
	EnqueueDecode(ctx context.Context, receiptID string) error
}

// Programs picks the program a new receipt belongs to: the client's only
// live program (live or test for test participants), or nil when there is
// none or more than one (the rules engine decides later).
type Programs interface {
	ProgramFor(ctx context.Context, clientID int64, isTest bool) (*int64, error)
}

// Limiter counts uploads (package ratelimit).
type Limiter interface {
	Allow(ctx context.Context, key string, limit int, window time.Duration) (ratelimit.Decision, error)
}

// Config tunes the service.
type Config struct {
	UploadsPerHour int           // default 30
	UploadsPerDay  int           // default 100
	DecodeBudget   time.Duration // default 1.5 s
	DecodeWorkers  int           // default 2
	MaxPhotoBytes  int64         // default 15 MiB
	MaxPhotoPixels int           // default 50 million
	// RequestDecodeBytes bounds the memory one request-path decode may
	// take (qrscan.DecodeCost, default 64 MiB: a 16-MP colour JPEG or
	// PNG, 5 bytes a pixel counting the grey plane). A bigger photo is accepted without decoding and read by
	// a worker, whose decoder bounds its decodes by the process's memory
	// budget: the API's memory does not grow with photo dimensions.
	RequestDecodeBytes int64
	Logger             *slog.Logger
}

// Service accepts receipts.
type Service struct {
	store    Store
	photos   Photos
	decoder  Decoder
	queue    Queue
	programs Programs
	limiter  Limiter
	cfg      Config
	log      *slog.Logger
	slots    chan struct{}

	mu sync.Mutex
	// decoding holds the participants with a request-path decode running
	// (it goes on after its request's budget ends): one at a time each,
	// so one participant cannot occupy every decode slot.
	decoding map[int64]bool
}

// New returns a Service.
func New(store Store, photos Photos, decoder Decoder, queue Queue, programs Programs, limiter Limiter, cfg Config) *Service {
	if cfg.UploadsPerHour <= 0 {
		cfg.UploadsPerHour = 30
	}
	if cfg.UploadsPerDay <= 0 {
		cfg.UploadsPerDay = 100
	}
	if cfg.DecodeBudget <= 0 {
		cfg.DecodeBudget = 1500 * time.Millisecond
	}
	if cfg.DecodeWorkers <= 0 {
		cfg.DecodeWorkers = 2
	}
	if cfg.MaxPhotoBytes <= 0 {
		cfg.MaxPhotoBytes = 15 << 20
	}
	if cfg.MaxPhotoPixels <= 0 {
		cfg.MaxPhotoPixels = 50_000_000
	}
	if cfg.RequestDecodeBytes <= 0 {
		cfg.RequestDecodeBytes = 64 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{store: store, photos: photos, decoder: decoder, queue: queue, programs: programs,
		limiter: limiter, cfg: cfg, log: cfg.Logger, slots: make(chan struct{}, cfg.DecodeWorkers),
		decoding: map[int64]bool{}}
}

// MaxPhotoBytes is the configured photo size limit.
func (s *Service) MaxPhotoBytes() int64 { return s.cfg.MaxPhotoBytes }

// Request is one upload.
type Request struct {
	ParticipantID int64
	ClientID      int64
	IsTest        bool
	// ShopID is where the sale happened; nil means the participant's shop.
	ShopID *int64
	// Exactly one of Photo, QR and Fields.
	Photo  []byte
	QR     string
	Fields *fiscal.Fields
	// IdempotencyKey makes retries of one upload return the same receipt.
	IdempotencyKey string
	Lat, Lon       *float64
}

// Result is an accepted upload.
type Result struct {
	Receipt receipt.Receipt
	// Created is false when the participant had already sent this receipt
	// (same idempotency key or same fiscal identity).
	Created bool
}

// Errors of Submit. Their codes are part of the API contract.
var (
	ErrNoInput        = apperr.New(apperr.Invalid, "receipt_input_missing", "Пришлите фото QR-кода чека, текст QR-кода или данные чека (t, s, fn, i, fp, n).")
	ErrSeveralInputs  = apperr.New(apperr.Invalid, "receipt_input_ambiguous", "Пришлите что-то одно: фото, текст QR-кода или данные чека.")
	ErrIdempotencyKey = &apperr.Error{Kind: apperr.Invalid, Code: "invalid_idempotency_key", Message: "Заголовок Idempotency-Key должен содержать от 1 до 200 видимых символов.", Field: "Idempotency-Key"}
	ErrGeo            = &apperr.Error{Kind: apperr.Invalid, Code: "invalid_geo", Message: "Координаты заданы неверно: нужны обе, широта от -90 до 90 и долгота от -180 до 180.", Field: "lat"}
	ErrShop           = &apperr.Error{Kind: apperr.Invalid, Code: "invalid_shop", Message: "Магазин не найден в вашей программе.", Field: "shop_id"}
	ErrPhotoTooLarge  = &apperr.Error{Kind: apperr.TooLarge, Code: "photo_too_large", Message: "Фото слишком большое. Отправьте фото до 15 МБ.", Field: "photo"}
	ErrPhotoEmpty     = &apperr.Error{Kind: apperr.Invalid, Code: "photo_empty", Message: "Файл фото пустой.", Field: "photo"}
	ErrHEIC           = &apperr.Error{Kind: apperr.Unsupported, Code: "photo_heic", Message: "Формат HEIC не поддерживается. Отправьте фото в JPEG или PNG (в настройках камеры iPhone: «Наиболее совместимый»).", Field: "photo"}
	ErrPhotoFormat    = &apperr.Error{Kind: apperr.Unsupported, Code: "photo_unsupported_format", Message: "Этот формат изображения не поддерживается. Отправьте фото в JPEG или PNG.", Field: "photo"}
	ErrNotImage       = &apperr.Error{Kind: apperr.Invalid, Code: "photo_not_image", Message: "Файл не является изображением. Отправьте фото в JPEG или PNG.", Field: "photo"}
	ErrPhotoCorrupt   = &apperr.Error{Kind: apperr.Invalid, Code: "photo_corrupt", Message: "Фото повреждено или загружено не полностью. Отправьте его ещё раз.", Field: "photo"}
	ErrPhotoPixels    = &apperr.Error{Kind: apperr.Invalid, Code: "photo_too_many_pixels", Message: "Разрешение фото слишком велико. Уменьшите фото и отправьте снова.", Field: "photo"}
	ErrQRNotFound     = &apperr.Error{Kind: apperr.Invalid, Code: "qr_not_found", Message: receipt.Message("qr_not_found"), Field: "photo"}
	ErrQRTooLong      = &apperr.Error{Kind: apperr.Invalid, Code: "qr_too_long", Message: "Текст QR-кода слишком длинный.", Field: "qr"}
)

const maxQRLength = 1024

// Submit accepts one receipt upload.
func (s *Service) Submit(ctx context.Context, req Request) (Result, error) {
	if err := validate(req); err != nil {
		return Result{}, err
	}
	if err := s.limit(ctx, req.ParticipantID); err != nil {
		return Result{}, err
	}
	r := &receipt.Receipt{ClientID: req.ClientID, ParticipantID: req.ParticipantID, ShopID: req.ShopID,
		IdempotencyKey: req.IdempotencyKey, GeoLat: req.Lat, GeoLon: req.Lon}
	actor := "participant:" + strconv.FormatInt(req.ParticipantID, 10)
	var payload *fiscal.Payload
	switch {
	case req.Photo != nil:
		r.Source = receipt.SourcePhoto
		ext, cost, err := s.checkPhoto(req.Photo)
		if err != nil {
			return Result{}, err
		}
		var p *fiscal.Payload
		var step string
		if cost <= s.cfg.RequestDecodeBytes {
			if p, step, err = s.decode(ctx, req.ParticipantID, req.Photo); err != nil {
				return Result{}, err
			}
		}
		if r.PhotoKey, err = s.photos.Put(ctx, req.Photo, ext); err != nil {
			return Result{}, fmt.Errorf("store photo: %w", err)
		}
		_ = r.Transition(receipt.Received, actor, "uploaded_photo", nil)
		if p != nil {
			payload = p
			_ = r.Transition(receipt.Decoded, "api", "qr_decoded", map[string]any{"step": step})
		}
	case req.Fields != nil:
		r.Source = receipt.SourceManual
		p, err := fiscal.FromFields(*req.Fields)
		if err != nil {
			return Result{}, fiscalError(err, "")
		}
		payload = &p
		_ = r.Transition(receipt.Decoded, actor, "uploaded_manual", nil)
	default:
		r.Source = receipt.SourceQR
		p, err := fiscal.Parse(req.QR)
		if err != nil {
			return Result{}, fiscalError(err, "qr")
		}
		payload = &p
		_ = r.Transition(receipt.Decoded, actor, "uploaded_qr", nil)
	}
	if payload != nil {
		setFiscal(r, *payload)
		_ = r.Transition(receipt.Queued, "api", "enqueued", nil)
	}
	programID, err := s.programs.ProgramFor(ctx, req.ClientID, req.IsTest)
	if err != nil {
		return Result{}, err
	}
	r.ProgramID = programID
	created, err := s.store.Create(ctx, r)
	if err != nil {
		return Result{}, err
	}
	if created {
		s.enqueue(ctx, r)
	}
	return Result{Receipt: *r, Created: created}, nil
}

// enqueue hands the receipt to the workers. A failure is logged, not
// returned: the receipt is committed and the sweeper will enqueue it.
func (s *Service) enqueue(ctx context.Context, r *receipt.Receipt) {
	var err error
	if r.Status == receipt.Received {
		err = s.queue.EnqueueDecode(ctx, r.ID)
	} else {
		err = s.queue.EnqueueVerify(ctx, r.ID)
	}
	if err != nil {
		s.log.WarnContext(ctx, "enqueue failed; the sweeper will retry", "receipt_id", r.ID, "status", string(r.Status), "err", err)
	}
}

func setFiscal(r *receipt.Receipt, p fiscal.Payload) {
	r.QRRaw, r.QRCanonical = p.Raw, p.Canonical()
	r.FN, r.FD, r.FP = p.FN, int64(p.FD), int64(p.FP)
	r.Operation, r.PurchasedAt, r.SumKopecks = p.Operation, p.Time, p.SumKopecks
}

func validate(req Request) error {
	n := 0
	if req.Photo != nil {
		n++
	}
	if req.QR != "" {
		n++
	}
	if req.Fields != nil {
		n++
	}
	switch {
	case n == 0:
		return ErrNoInput
	case n > 1:
		return ErrSeveralInputs
	}
	if req.IdempotencyKey != "" {
		if len(req.IdempotencyKey) > 200 {
			return ErrIdempotencyKey
		}
		for _, c := range []byte(req.IdempotencyKey) {
			if c < 0x21 || c > 0x7e {
				return ErrIdempotencyKey
			}
		}
	}
	if (req.Lat == nil) != (req.Lon == nil) {
		return ErrGeo
	}
	if req.Lat != nil && (!(*req.Lat >= -90 && *req.Lat <= 90) || !(*req.Lon >= -180 && *req.Lon <= 180)) {
		return ErrGeo
	}
	if req.ShopID != nil && *req.ShopID <= 0 {
		return ErrShop
	}
	if len(req.QR) > maxQRLength {
		return ErrQRTooLong
	}
	if req.Photo != nil && len(req.Photo) == 0 {
		return ErrPhotoEmpty
	}
	return nil
}

func (s *Service) limit(ctx context.Context, participantID int64) error {
	id := strconv.FormatInt(participantID, 10)
	for _, l := range []struct {
		key    string
		n      int
		window time.Duration
	}{{"upload:h:" + id, s.cfg.UploadsPerHour, time.Hour}, {"upload:d:" + id, s.cfg.UploadsPerDay, 24 * time.Hour}} {
		d, err := s.limiter.Allow(ctx, l.key, l.n, l.window)
		if err != nil {
			return err
		}
		if !d.OK {
			return ratelimit.Exceeded("upload_limit_exceeded", "Слишком много чеков за короткое время. Попробуйте позже.", d.RetryAfter)
		}
	}
	return nil
}

// fiscalError turns a fiscal validation error into an API error carrying
// the reason code and field.
func fiscalError(err error, field string) error {
	var fe *fiscal.Error
	if !errors.As(err, &fe) {
		return err
	}
	if fe.Field != "" {
		field = fe.Field
	}
	return &apperr.Error{Kind: apperr.Invalid, Code: fe.Code, Message: fe.Message, Field: field, Err: err}
}

// checkPhoto accepts JPEG and PNG with sane declared dimensions, looking
// only at the header: no pixel is decoded here. cost is the memory a decode
// would take (qrscan.DecodeCost).
func (s *Service) checkPhoto(b []byte) (ext string, cost int64, err error) {
	if int64(len(b)) > s.cfg.MaxPhotoBytes {
		return "", 0, ErrPhotoTooLarge
	}
	switch Sniff(b) {
	case FormatJPEG:
		ext = "jpg"
	case FormatPNG:
		ext = "png"
	case FormatHEIC:
		return "", 0, ErrHEIC
	case FormatOtherImage:
		return "", 0, ErrPhotoFormat
	default:
		return "", 0, ErrNotImage
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return "", 0, ErrPhotoCorrupt
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return "", 0, ErrPhotoCorrupt
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(s.cfg.MaxPhotoPixels) || cfg.Width > qrscan.DefaultMaxDimension || cfg.Height > qrscan.DefaultMaxDimension {
		return "", 0, ErrPhotoPixels
	}
	return ext, qrscan.DecodeCost(cfg), nil
}

// decode reads the photo's QR code on the bounded pool within the budget.
// It returns the payload, or nil (and no error) when the budget ran out or
// the participant already has a photo decoding here: the photo is then
// accepted and decoded by a worker.
func (s *Service) decode(ctx context.Context, participantID int64, b []byte) (*fiscal.Payload, string, error) {
	s.mu.Lock()
	busy := s.decoding[participantID]
	s.decoding[participantID] = true
	s.mu.Unlock()
	if busy {
		return nil, "", nil
	}
	started := false
	done := func() {
		s.mu.Lock()
		delete(s.decoding, participantID)
		s.mu.Unlock()
	}
	defer func() {
		if !started {
			done()
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, s.cfg.DecodeBudget)
	defer cancel()
	if ctx.Err() != nil {
		return nil, "", budgetOrCancel(ctx)
	}
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, "", budgetOrCancel(ctx)
	}
	type outcome struct {
		res qrscan.Result
		err error
	}
	out := make(chan outcome, 1)
	started = true
	go func() {
		defer done()
		defer func() { <-s.slots }()
		defer func() {
			if p := recover(); p != nil {
				out <- outcome{err: fmt.Errorf("%w: panic %v", qrscan.ErrCorrupt, p)}
			}
		}()
		res, err := s.decoder.DecodeBytes(ctx, b)
		out <- outcome{res, err}
	}()
	var o outcome
	select {
	case o = <-out:
	case <-ctx.Done():
		return nil, "", budgetOrCancel(ctx)
	}
	switch {
	case o.err == nil:
		p, err := fiscal.Parse(o.res.Text)
		if err != nil {
			return nil, "", fiscalError(err, "photo")
		}
		return &p, o.res.Step, nil
	case errors.Is(o.err, context.DeadlineExceeded), errors.Is(o.err, context.Canceled):
		return nil, "", budgetOrCancel(ctx)
	case errors.Is(o.err, qrscan.ErrNotFound):
		return nil, "", ErrQRNotFound
	case errors.Is(o.err, qrscan.ErrHEIC):
		return nil, "", ErrHEIC
	case errors.Is(o.err, qrscan.ErrUnsupportedFormat):
		return nil, "", ErrPhotoFormat
	case errors.Is(o.err, qrscan.ErrTooLarge):
		return nil, "", ErrPhotoPixels
	case errors.Is(o.err, qrscan.ErrCorrupt):
		return nil, "", ErrPhotoCorrupt
	}
	return nil, "", o.err
}

// budgetOrCancel tells a spent budget (accept the photo for the worker)
// from a caller that went away (give up).
func budgetOrCancel(ctx context.Context) error {
	if errors.Is(context.Cause(ctx), context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return nil
	}
	return ctx.Err()
}
