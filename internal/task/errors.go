package task

import "github.com/loyaltyjam/loyaltyjam/internal/apperr"

// Errors with stable codes and Russian messages. Field names the offending
// input where there is one (set by the caller with Field).
var (
	ErrNotFound           = apperr.New(apperr.NotFound, "task_not_found", "Задание не найдено.")
	ErrSubmissionNotFound = apperr.New(apperr.NotFound, "task_submission_not_found", "Отчёт по заданию не найден.")
	ErrNotEligible        = apperr.New(apperr.Forbidden, "task_not_eligible", "Это задание вам недоступно.")
	ErrShopNotEligible    = apperr.New(apperr.Forbidden, "task_shop_not_eligible", "Задание нельзя выполнить в этом магазине.")
	ErrShopRequired       = apperr.New(apperr.Invalid, "task_shop_required", "Укажите магазин, в котором выполняется задание.")
	ErrNotStarted         = apperr.New(apperr.Conflict, "task_not_started", "Задание ещё не началось.")
	ErrFinished           = apperr.New(apperr.Conflict, "task_finished", "Срок выполнения задания истёк.")
	ErrArchived           = apperr.New(apperr.Conflict, "task_archived", "Задание снято с публикации.")
	ErrParticipantLimit   = apperr.New(apperr.Conflict, "task_participant_limit", "Вы уже выполнили это задание максимальное число раз за период.")
	ErrShopLimit          = apperr.New(apperr.Conflict, "task_shop_limit", "В этом магазине задание уже выполнено максимальное число раз за период.")
	ErrBadStatus          = apperr.New(apperr.Conflict, "task_submission_bad_status", "Действие недоступно в текущем статусе отчёта.")
	ErrSecondApproval     = apperr.New(apperr.Forbidden, "task_second_approval_required", "Вознаграждение выше порога: второе подтверждение должен дать другой сотрудник.")
	ErrAlreadyReviewed    = apperr.New(apperr.Conflict, "task_submission_already_reviewed", "Отчёт уже проверен.")
	ErrSlotOver           = apperr.New(apperr.Conflict, "task_slot_over", "Период выполнения задания закончился, возьмите задание заново.")
	ErrBadReason          = apperr.New(apperr.Invalid, "task_bad_reason", "Укажите причину отклонения из списка.")
	ErrTooManyPhotos      = apperr.New(apperr.Invalid, "task_too_many_photos", "Слишком много фотографий.")
	ErrTooFewPhotos       = apperr.New(apperr.Invalid, "task_too_few_photos", "Недостаточно фотографий для отчёта.")
	ErrBadPhoto           = apperr.New(apperr.Invalid, "task_bad_photo", "Фотография повреждена или имеет неподдерживаемый формат (нужен JPEG или PNG).")
	ErrPhotoTooLarge      = apperr.New(apperr.TooLarge, "task_photo_too_large", "Фотография слишком большая.")
	ErrCommentRequired    = apperr.New(apperr.Invalid, "task_comment_required", "Добавьте комментарий к отчёту.")
	ErrBadAnswers         = apperr.New(apperr.Invalid, "task_bad_answers", "Ответы на вопросы чек-листа заполнены неверно.")
	ErrBadLocation        = apperr.New(apperr.Invalid, "task_bad_location", "Некорректные координаты.")
	ErrBadCaptureTime     = apperr.New(apperr.Invalid, "task_bad_capture_time", "Некорректное время съёмки.")
	ErrInvalid            = apperr.New(apperr.Invalid, "task_invalid", "Некорректные параметры задания.")
)

// invalid returns err with its Field set and a specific message.
func invalid(field, message string) error {
	e := *ErrInvalid
	e.Field, e.Message = field, message
	return &e
}

// WithField returns a copy of err with Field set (err must be an apperr).
func WithField(err *apperr.Error, field string) *apperr.Error {
	e := *err
	e.Field = field
	return &e
}

// WithMessage returns a copy of err with a more specific message.
func WithMessage(err *apperr.Error, field, message string) *apperr.Error {
	e := *err
	e.Field, e.Message = field, message
	return &e
}
