package notify

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/money"
)

// Content is a rendered notification: the texts of every channel and the
// push parameters.
type Content struct {
	Title string
	Body  string
	// DeepLink opens the subject in the app ("loyaltyjam://receipts/<id>").
	DeepLink string
	// PushData is the push's data block (string values; see push.Message).
	PushData map[string]string
	// CollapseKey groups pushes about one subject ("receipt:<id>").
	CollapseKey string
	// AndroidChannel and ThreadID group notifications on the phone.
	AndroidChannel string
	// TTL is how long FCM keeps the push for an offline device.
	TTL time.Duration
	// Urgent pushes ignore quiet hours; NormalPriority ones may be batched.
	Urgent         bool
	NormalPriority bool
	// SMS is the SMS text, EmailSubject/EmailText the e-mail.
	SMS          string
	EmailSubject string
	EmailText    string
}

// spec describes one event type.
type spec struct {
	// channels the event type uses; inbox first if it has one.
	channels []Channel
	// configurable: the participant may switch these channels off.
	configurable []Channel
	// urgent pushes ignore quiet hours.
	urgent bool
	// normal priority lets the phone batch the push (nobody waits for it).
	normal bool
	ttl    time.Duration
	render func(d Data) (Content, error)
}

var specs = map[EventType]*spec{
	ReceiptCredited: {
		channels: []Channel{ChannelInbox, ChannelPush}, configurable: []Channel{ChannelPush},
		ttl: 72 * time.Hour, render: renderReceiptCredited,
	},
	ReceiptNoPoints: {
		channels: []Channel{ChannelInbox, ChannelPush}, configurable: []Channel{ChannelPush},
		ttl: 72 * time.Hour, render: renderReceiptNoPoints,
	},
	ReceiptRejected: {
		channels: []Channel{ChannelInbox, ChannelPush}, configurable: []Channel{ChannelPush},
		ttl: 72 * time.Hour, render: renderReceiptRejected,
	},
	ReceiptNeedsReview: {
		channels: []Channel{ChannelInbox, ChannelPush}, configurable: []Channel{ChannelPush},
		ttl: 24 * time.Hour, render: renderReceiptNeedsReview,
	},
	PointsReleased: {
		channels: []Channel{ChannelInbox, ChannelPush}, configurable: []Channel{ChannelPush},
		normal: true, ttl: 7 * 24 * time.Hour, render: renderPointsReleased,
	},
	TaskReviewed: {
		channels: []Channel{ChannelInbox, ChannelPush}, configurable: []Channel{ChannelPush},
		ttl: 72 * time.Hour, render: renderTaskReviewed,
	},
	RegistryCredited: {
		channels: []Channel{ChannelInbox, ChannelPush, ChannelEmail}, configurable: []Channel{ChannelPush, ChannelEmail},
		normal: true, ttl: 7 * 24 * time.Hour, render: renderRegistryCredited,
	},
	// Invitations and credentials reach people who may not have the app yet:
	// SMS and e-mail, not switchable, not subject to quiet hours (the
	// participant is being onboarded right now). Credentials carry a
	// password and so never go to the inbox.
	Invitation: {
		channels: []Channel{ChannelInbox, ChannelSMS, ChannelEmail}, urgent: true,
		ttl: 24 * time.Hour, render: renderInvitation,
	},
	Credentials: {
		channels: []Channel{ChannelSMS, ChannelEmail}, urgent: true,
		ttl: time.Hour, render: renderCredentials,
	},
	// Redemptions: the certificate code goes only by SMS and e-mail, the
	// channels the participant chose; it is opened from its seal at send
	// time (Dispatcher's SecretSource) and never stored in the intent, the
	// inbox or a push (which passes through FCM/APNs and sits on the lock
	// screen). The app shows it to its owner (GET /v1/redemptions/{id}).
	RewardDelivered: {
		channels: []Channel{ChannelInbox, ChannelPush, ChannelSMS, ChannelEmail}, configurable: []Channel{ChannelPush, ChannelSMS, ChannelEmail},
		ttl: 72 * time.Hour, render: renderRewardDelivered,
	},
	RewardFailed: {
		channels: []Channel{ChannelInbox, ChannelPush}, configurable: []Channel{ChannelPush},
		ttl: 72 * time.Hour, render: renderRewardFailed,
	},
}

// EventTypes lists the known event types in a stable order.
func EventTypes() []EventType {
	return []EventType{ReceiptCredited, ReceiptNoPoints, ReceiptRejected, ReceiptNeedsReview,
		PointsReleased, TaskReviewed, RegistryCredited, Invitation, Credentials, RewardDelivered, RewardFailed}
}

// Channels returns the channels an event type uses by default.
func Channels(t EventType) []Channel {
	if s := specs[t]; s != nil {
		return append([]Channel(nil), s.channels...)
	}
	return nil
}

// Configurable returns the channels of t a participant may switch off.
func Configurable(t EventType) []Channel {
	if s := specs[t]; s != nil {
		return append([]Channel(nil), s.configurable...)
	}
	return nil
}

// errMissing is returned by a template whose required data is missing.
var errMissing = errors.New("notify: template data missing")

// Render renders the notification for event type t with data d. It is a
// pure function; an unknown type or missing required data is an error
// wrapping ErrPermanent.
func Render(t EventType, d Data) (Content, error) {
	s := specs[t]
	if s == nil {
		return Content{}, fmt.Errorf("%w: unknown event type %q", ErrPermanent, t)
	}
	c, err := s.render(d)
	if err != nil {
		return Content{}, fmt.Errorf("%w: render %s: %w", ErrPermanent, t, err)
	}
	c.TTL, c.Urgent, c.NormalPriority = s.ttl, s.urgent, s.normal
	if c.PushData == nil {
		c.PushData = map[string]string{}
	}
	c.PushData["type"] = string(t)
	if c.DeepLink != "" {
		c.PushData["deep_link"] = c.DeepLink
	}
	return c, nil
}

// program returns " «Name»" or "" so a sentence reads well without a name.
func program(d Data) string {
	if d.ProgramName == "" {
		return ""
	}
	return " «" + d.ProgramName + "»"
}

// receiptSubject is "Чек от 12.03.2026 на 1 234,50 ₽" with what is known.
func receiptSubject(d Data) string {
	s := "Чек"
	if d.PurchasedAt != nil && !d.PurchasedAt.IsZero() {
		s += " от " + d.PurchasedAt.Format("02.01.2006")
	}
	if d.SumKopecks > 0 {
		s += " на " + money.Kopecks(d.SumKopecks).Roubles()
	}
	return s
}

func receiptContent(d Data, title, body string) (Content, error) {
	if d.ReceiptID == "" {
		return Content{}, fmt.Errorf("%w: receipt_id", errMissing)
	}
	link := "loyaltyjam://receipts/" + d.ReceiptID
	return Content{
		Title: title, Body: body, DeepLink: link,
		PushData:       map[string]string{"receipt_id": d.ReceiptID},
		CollapseKey:    "receipt:" + d.ReceiptID,
		AndroidChannel: "receipts",
	}, nil
}

// ReasonReturnReversed is the reason of a return receipt that took back
// the points of the sale it returns (points.Service): it is credited with
// negative points.
const ReasonReturnReversed = "return_reversed"

func renderReceiptCredited(d Data) (Content, error) {
	if d.PointsKopecks < 0 {
		return renderReturnReversed(d)
	}
	if d.PointsKopecks == 0 {
		return Content{}, fmt.Errorf("%w: points_kopecks", errMissing)
	}
	pts := money.Kopecks(d.PointsKopecks).Points()
	title := "Начислено " + pts
	body := receiptSubject(d) + " подтверждён"
	if d.Reason == "moderator_approved" {
		body += " модератором"
	}
	body += ". Программа" + program(d) + ": +" + pts + "."
	if d.Pending {
		title = "Начислено " + pts + " (ожидают)"
		body += " Баллы станут доступны после закрытия периода."
	}
	return receiptContent(d, title, body)
}

// renderReturnReversed tells the seller that a return receipt took back
// −d.PointsKopecks points of the sale it returns.
func renderReturnReversed(d Data) (Content, error) {
	pts := money.Kopecks(-d.PointsKopecks).Points()
	subject := "Чек возврата"
	if d.PurchasedAt != nil && !d.PurchasedAt.IsZero() {
		subject += " от " + d.PurchasedAt.Format("02.01.2006")
	}
	if d.SumKopecks > 0 {
		subject += " на " + money.Kopecks(d.SumKopecks).Roubles()
	}
	body := subject + " подтверждён: товар вернули в магазин, баллы за его покупку списаны. Программа" + program(d) + ": −" + pts + "."
	return receiptContent(d, "Возврат: списано "+pts, body)
}

func renderReceiptNoPoints(d Data) (Content, error) {
	if strings.HasPrefix(d.Reason, "return_") && d.Reason != ReasonReturnReversed && strings.TrimSpace(d.ReasonMessage) != "" {
		// A return whose sale earned nothing here: nothing to take back.
		return receiptContent(d, "Возврат: баллы не списаны", strings.TrimSpace(d.ReasonMessage))
	}
	body := receiptSubject(d) + " подтверждён, но в нём нет товаров, участвующих в программе" + program(d) + "."
	return receiptContent(d, "Чек проверен: баллов нет", body)
}

func renderReceiptRejected(d Data) (Content, error) {
	why := strings.TrimSpace(d.ReasonMessage)
	if why == "" {
		why = "Чек не прошёл проверку."
	}
	switch d.Reason {
	case "return_reversed":
		return receiptContent(d, "Баллы за чек списаны", why)
	case "qr_not_found":
		// The photo could not be read: what to do is in why.
		return receiptContent(d, "Чек не распознан", why)
	case "photo_missing":
		return receiptContent(d, "Загрузите чек ещё раз", why)
	case "duplicate_claim":
		return receiptContent(d, "Чек уже загружен", why)
	}
	return receiptContent(d, "Чек отклонён", receiptSubject(d)+" отклонён. "+why)
}

func renderReceiptNeedsReview(d Data) (Content, error) {
	body := receiptSubject(d) + " отправлен на проверку модератору. Мы сообщим о решении."
	if m := strings.TrimSpace(d.ReasonMessage); m != "" {
		body = m + " " + body
	}
	return receiptContent(d, "Чек на проверке", body)
}

func renderPointsReleased(d Data) (Content, error) {
	if d.PointsKopecks <= 0 {
		return Content{}, fmt.Errorf("%w: points_kopecks", errMissing)
	}
	pts := money.Kopecks(d.PointsKopecks).Points()
	return Content{
		Title:          "Баллы доступны: " + pts,
		Body:           "Период программы" + program(d) + " закрыт: " + pts + " можно обменять на призы.",
		DeepLink:       "loyaltyjam://points",
		CollapseKey:    "points",
		AndroidChannel: "points",
	}, nil
}

func renderTaskReviewed(d Data) (Content, error) {
	if d.TaskID == "" {
		return Content{}, fmt.Errorf("%w: task_id", errMissing)
	}
	task := "Задание"
	if d.Title != "" {
		task += " «" + d.Title + "»"
	}
	var title, body string
	if d.Approved {
		title = "Задание принято"
		body = task + " принято"
		if d.PointsKopecks > 0 {
			title += ": +" + money.Kopecks(d.PointsKopecks).Points()
			body += ", начислено " + money.Kopecks(d.PointsKopecks).Points()
		}
		body += "."
	} else {
		title = "Задание не принято"
		body = task + " не принято."
		if m := strings.TrimSpace(d.ReasonMessage); m != "" {
			body += " " + m
		}
	}
	if d.ProgramName != "" {
		body += " Программа" + program(d) + "."
	}
	link := "loyaltyjam://tasks/" + d.TaskID
	return Content{
		Title: title, Body: body, DeepLink: link,
		PushData:       map[string]string{"task_id": d.TaskID},
		CollapseKey:    "task:" + d.TaskID,
		AndroidChannel: "tasks",
	}, nil
}

func renderRegistryCredited(d Data) (Content, error) {
	if d.PointsKopecks <= 0 {
		return Content{}, fmt.Errorf("%w: points_kopecks", errMissing)
	}
	pts := money.Kopecks(d.PointsKopecks).Points()
	period := ""
	if d.Title != "" {
		period = " за " + d.Title
	}
	body := "Программа" + program(d) + " начислила вам " + pts + period + "."
	return Content{
		Title: "Начислено " + pts, Body: body,
		DeepLink:       "loyaltyjam://points",
		CollapseKey:    "points",
		AndroidChannel: "points",
		EmailSubject:   "Начислено " + pts,
		EmailText:      "Здравствуйте!\n\n" + body + "\n\nБаланс и история — в приложении Loyalty Jam.\n",
	}, nil
}

func renderInvitation(d Data) (Content, error) {
	if d.ProgramName == "" {
		return Content{}, fmt.Errorf("%w: program_name", errMissing)
	}
	text := "Вас пригласили в программу" + program(d) + "."
	sms := text
	if d.Link != "" {
		sms += " Установите приложение: " + d.Link
	}
	email := "Здравствуйте!\n\n" + text + " Загружайте чеки продаж и получайте баллы, которые можно обменять на призы.\n"
	if d.Link != "" {
		email += "\nУстановите приложение Loyalty Jam: " + d.Link + "\n"
	}
	return Content{
		Title: "Добро пожаловать в программу" + program(d), Body: text,
		DeepLink: "loyaltyjam://home", CollapseKey: "invitation", AndroidChannel: "general",
		SMS: sms, EmailSubject: "Приглашение в программу" + program(d), EmailText: email,
	}, nil
}

func renderCredentials(d Data) (Content, error) {
	if d.Login == "" || d.Password == "" {
		return Content{}, fmt.Errorf("%w: login and password", errMissing)
	}
	sms := "Loyalty Jam: логин " + d.Login + ", пароль " + d.Password + ". Смените пароль после входа."
	email := "Здравствуйте!\n\nДанные для входа в приложение Loyalty Jam" +
		func() string {
			if d.ProgramName != "" {
				return " (программа" + program(d) + ")"
			}
			return ""
		}() + ":\n\nЛогин: " + d.Login + "\nПароль: " + d.Password +
		"\n\nСмените пароль после первого входа. Если вы не ждали это письмо, просто удалите его.\n"
	return Content{
		Title: "Данные для входа", Body: "Логин и пароль отправлены.",
		SMS: sms, EmailSubject: "Данные для входа в Loyalty Jam", EmailText: email,
	}, nil
}

func renderRewardDelivered(d Data) (Content, error) {
	if d.RedemptionID == "" || d.Title == "" {
		return Content{}, fmt.Errorf("%w: redemption_id and title", errMissing)
	}
	body := "Ваш приз «" + d.Title + "» готов. Код и инструкция — в приложении, в разделе «Мои заказы»."
	c := Content{
		Title: "Приз готов", Body: body,
		DeepLink:       "loyaltyjam://redemptions/" + d.RedemptionID,
		CollapseKey:    "redemption:" + d.RedemptionID,
		AndroidChannel: "rewards",
		EmailSubject:   "Ваш приз готов",
		EmailText:      "Здравствуйте!\n\n" + body + "\n",
	}
	if s := d.Reward; !s.Empty() {
		var parts []string
		if s.Code != "" {
			parts = append(parts, "код "+s.Code)
		}
		if s.PIN != "" {
			parts = append(parts, "PIN "+s.PIN)
		}
		if s.URL != "" {
			parts = append(parts, s.URL)
		}
		c.SMS = "Loyalty Jam: приз «" + d.Title + "»: " + strings.Join(parts, ", ") + ". Никому не сообщайте."
		mail := "Здравствуйте!\n\nВаш приз «" + d.Title + "» готов.\n\n"
		if s.Code != "" {
			mail += "Код: " + s.Code + "\n"
		}
		if s.PIN != "" {
			mail += "PIN: " + s.PIN + "\n"
		}
		if s.URL != "" {
			mail += "Ссылка: " + s.URL + "\n"
		}
		c.EmailText = mail + "\nКод также есть в приложении, в разделе «Мои заказы». Никому его не сообщайте.\n"
	}
	return c, nil
}

func renderRewardFailed(d Data) (Content, error) {
	if d.RedemptionID == "" || d.Title == "" || d.PointsKopecks <= 0 {
		return Content{}, fmt.Errorf("%w: redemption_id, title and points_kopecks", errMissing)
	}
	body := "Заказ «" + d.Title + "» не выполнен. " + money.Kopecks(d.PointsKopecks).Points() + " возвращено на счёт."
	if d.ReasonMessage != "" {
		body = "Заказ «" + d.Title + "» не выполнен: " + d.ReasonMessage
	}
	return Content{
		Title: "Заказ не выполнен", Body: body,
		DeepLink:       "loyaltyjam://redemptions/" + d.RedemptionID,
		CollapseKey:    "redemption:" + d.RedemptionID,
		AndroidChannel: "rewards",
	}, nil
}
