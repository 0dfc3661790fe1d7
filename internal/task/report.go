package task

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// Report is what a participant submits for a taken task (the photos
// themselves are stored and compared by the store; here only their count).
type Report struct {
	Photos  int
	Answers Answers
	Comment string
	// Lat and Lon are the device location, nil when the phone gave none.
	Lat, Lon *float64
	// CapturedAt is when the photos were taken, as the app reports it; zero
	// when unknown.
	CapturedAt time.Time
}

// Answers are checklist answers by question key: bool for yes/no
// questions, float64 for number questions.
type Answers map[string]any

// MaxAnswersBytes bounds the answers JSON.
const MaxAnswersBytes = 64 << 10

// ParseAnswers decodes answers JSON ({"key": true, "count": 12}) against a
// checklist: unknown keys, wrong types, numbers out of bounds and missing
// required answers are ErrBadAnswers naming the question. Empty input is no
// answers.
func ParseAnswers(raw []byte, checklist []ChecklistItem) (Answers, error) {
	raw = bytes.TrimSpace(raw)
	var in map[string]json.RawMessage
	if len(raw) > MaxAnswersBytes {
		return nil, WithMessage(ErrBadAnswers, "answers", "Слишком длинные ответы чек-листа.")
	}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &in); err != nil {
			return nil, WithMessage(ErrBadAnswers, "answers", "Ответы чек-листа должны быть JSON-объектом {\"ключ\": ответ}.")
		}
	}
	items := map[string]ChecklistItem{}
	for _, it := range checklist {
		items[it.Key] = it
	}
	out := Answers{}
	for k, v := range in {
		it, ok := items[k]
		if !ok {
			return nil, WithMessage(ErrBadAnswers, "answers."+safeKey(k), "В чек-листе нет такого вопроса.")
		}
		if string(v) == "null" {
			continue
		}
		switch it.Kind {
		case YesNo:
			var b bool
			if err := json.Unmarshal(v, &b); err != nil {
				return nil, WithMessage(ErrBadAnswers, "answers."+k, fmt.Sprintf("Ответ на вопрос «%s» — да или нет (true/false).", it.Question))
			}
			out[k] = b
		case Number:
			var f float64
			if err := json.Unmarshal(v, &f); err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, WithMessage(ErrBadAnswers, "answers."+k, fmt.Sprintf("Ответ на вопрос «%s» — число.", it.Question))
			}
			if (it.Min != nil && f < *it.Min) || (it.Max != nil && f > *it.Max) {
				return nil, WithMessage(ErrBadAnswers, "answers."+k, fmt.Sprintf("Ответ на вопрос «%s» вне допустимых границ.", it.Question))
			}
			out[k] = f
		}
	}
	for _, it := range checklist {
		if _, ok := out[it.Key]; it.Required && !ok {
			return nil, WithMessage(ErrBadAnswers, "answers."+it.Key, fmt.Sprintf("Ответьте на вопрос «%s».", it.Question))
		}
	}
	return out, nil
}

// safeKey cuts an unknown answer key to something fit to echo back.
func safeKey(k string) string {
	if !validKey(k) {
		return "?"
	}
	return k
}

// FlagCode names an integrity concern shown to the moderator.
type FlagCode string

// Flag codes.
const (
	FlagDuplicatePhoto   FlagCode = "duplicate_photo"     // byte-identical photo in another report
	FlagSimilarPhoto     FlagCode = "similar_photo"       // perceptual hash within the threshold
	FlagOutsideGeofence  FlagCode = "outside_geofence"    // device farther than the radius
	FlagNoLocation       FlagCode = "no_location"         // geofenced task, no device location
	FlagShopNoCoords     FlagCode = "shop_no_coordinates" // geofenced task, shop has no coordinates
	FlagCaptureOutside   FlagCode = "capture_outside_window"
	FlagCaptureFuture    FlagCode = "capture_in_future"
	FlagNoCaptureTime    FlagCode = "no_capture_time"
	FlagUnexpectedAnswer FlagCode = "unexpected_answer" // a yes/no answer differs from Expect
)

var flagMessages = map[FlagCode]string{
	FlagDuplicatePhoto:   "Эта фотография уже есть в другом отчёте программы.",
	FlagSimilarPhoto:     "Фотография очень похожа на фотографию из другого отчёта программы.",
	FlagOutsideGeofence:  "Отчёт отправлен далеко от магазина.",
	FlagNoLocation:       "Телефон не передал местоположение.",
	FlagShopNoCoords:     "У магазина не заданы координаты, геозону проверить нельзя.",
	FlagCaptureOutside:   "Снимок сделан вне срока задания.",
	FlagCaptureFuture:    "Время съёмки в будущем.",
	FlagNoCaptureTime:    "Время съёмки неизвестно.",
	FlagUnexpectedAnswer: "Ответ чек-листа не соответствует выполненной работе.",
}

// Flag is one integrity concern about a report.
type Flag struct {
	Code    FlagCode `json:"code"`
	Message string   `json:"message"`
	// Photo is the index (0-based) of the photo concerned, for photo flags.
	Photo *int `json:"photo,omitempty"`
	// RefSubmissionID is the other report whose photo matched.
	RefSubmissionID int64 `json:"ref_submission_id,omitempty"`
	// Bits is the Hamming distance of a similar photo.
	Bits *int `json:"bits,omitempty"`
	// Meters is the distance from the shop for outside_geofence.
	Meters int `json:"meters,omitempty"`
	// Question is the checklist key for unexpected_answer.
	Question string `json:"question,omitempty"`
}

// NewFlag returns a flag with its Russian message.
func NewFlag(code FlagCode) Flag { return Flag{Code: code, Message: flagMessages[code]} }

// FutureSkew is how far a capture time may run ahead of the server clock
// (phones' clocks drift) before it is flagged.
const FutureSkew = 5 * time.Minute

// CheckReport validates r against t's evidence requirements and returns
// the flags the moderator should see about location, capture time and
// answers. Slot is the period the submission was taken in; shop the shop
// it is done in. Photo-duplicate flags are the store's job.
func (t Task) CheckReport(r Report, slot Slot, shop Shop, now time.Time) ([]Flag, error) {
	ev := t.Evidence
	switch {
	case r.Photos < ev.MinPhotos:
		return nil, WithMessage(ErrTooFewPhotos, "photos", fmt.Sprintf("Нужно фотографий: не меньше %d.", ev.MinPhotos))
	case r.Photos > ev.MaxPhotos:
		return nil, WithMessage(ErrTooManyPhotos, "photos", fmt.Sprintf("Можно приложить не больше %d фотографий.", ev.MaxPhotos))
	case ev.CommentRequired && strings.TrimSpace(r.Comment) == "":
		return nil, WithField(ErrCommentRequired, "comment")
	case utf8.RuneCountInString(r.Comment) > MaxCommentRunes || !utf8.ValidString(r.Comment):
		return nil, invalid("comment", fmt.Sprintf("Комментарий не длиннее %d символов.", MaxCommentRunes))
	case (r.Lat == nil) != (r.Lon == nil):
		return nil, WithField(ErrBadLocation, "lat")
	case r.Lat != nil && !ValidCoordinates(*r.Lat, *r.Lon):
		return nil, WithField(ErrBadLocation, "lat")
	}
	var flags []Flag
	if t.GeofenceMeters > 0 {
		switch {
		case shop.Lat == nil || shop.Lon == nil:
			flags = append(flags, NewFlag(FlagShopNoCoords))
		case r.Lat == nil:
			flags = append(flags, NewFlag(FlagNoLocation))
		default:
			if d := Distance(*shop.Lat, *shop.Lon, *r.Lat, *r.Lon); d > float64(t.GeofenceMeters) {
				f := NewFlag(FlagOutsideGeofence)
				f.Meters = int(math.Round(d))
				flags = append(flags, f)
			}
		}
	}
	switch {
	case r.CapturedAt.IsZero():
		flags = append(flags, NewFlag(FlagNoCaptureTime))
	case r.CapturedAt.After(now.Add(FutureSkew)):
		flags = append(flags, NewFlag(FlagCaptureFuture))
	case !slot.Contains(r.CapturedAt):
		flags = append(flags, NewFlag(FlagCaptureOutside))
	}
	for _, it := range ev.Checklist {
		if it.Kind != YesNo || it.Expect == nil {
			continue
		}
		if v, ok := r.Answers[it.Key].(bool); ok && v != *it.Expect {
			f := NewFlag(FlagUnexpectedAnswer)
			f.Question = it.Key
			flags = append(flags, f)
		}
	}
	return flags, nil
}
