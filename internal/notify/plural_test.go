package notify

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRender(t *testing.T) {
	t.Parallel()
	day := time.Date(2026, 3, 11, 18, 30, 0, 0, time.UTC)
	tests := []struct {
		name      string
		typ       EventType
		data      Data
		wantTitle string
		wantBody  string
		wantLink  string
		wantSMS   string
	}{
		{"credited", ReceiptCredited, Data{ReceiptID: "r1", PointsKopecks: 2100, ProgramName: "Весна", PurchasedAt: &day, SumKopecks: 9900},
			"Начислено 21 балл", "Чек от 11.03.2026 на 99\u00a0₽ подтверждён. Программа «Весна»: +21 балл.", "loyaltyjam://receipts/r1", ""},
		{"credited pending by moderator", ReceiptCredited, Data{ReceiptID: "r1", PointsKopecks: 300, ProgramName: "Весна", Pending: true, Reason: "moderator_approved"},
			"Начислено 3 балла (ожидают)", "Чек подтверждён модератором. Программа «Весна»: +3 балла. Баллы станут доступны после закрытия периода.", "loyaltyjam://receipts/r1", ""},
		{"no points", ReceiptNoPoints, Data{ReceiptID: "r2", ProgramName: "Весна"},
			"Чек проверен: баллов нет", "Чек подтверждён, но в нём нет товаров, участвующих в программе «Весна».", "loyaltyjam://receipts/r2", ""},
		{"rejected", ReceiptRejected, Data{ReceiptID: "r3", ReasonMessage: "Чек не найден в ФНС."},
			"Чек отклонён", "Чек отклонён. Чек не найден в ФНС.", "loyaltyjam://receipts/r3", ""},
		{"reversal", ReceiptRejected, Data{ReceiptID: "r3", Reason: "return_reversed", ReasonMessage: "Возврат товара: баллы за исходную покупку списаны."},
			"Баллы за чек списаны", "Возврат товара: баллы за исходную покупку списаны.", "loyaltyjam://receipts/r3", ""},
		{"return reversed", ReceiptCredited, Data{ReceiptID: "r5", PointsKopecks: -3250, ProgramName: "Весна", PurchasedAt: &day,
			SumKopecks: 65000, Reason: ReasonReturnReversed},
			"Возврат: списано 32,5 балла", "Чек возврата от 11.03.2026 на 650\u00a0₽ подтверждён: товар вернули в магазин, баллы за его покупку списаны. Программа «Весна»: −32,5 балла.",
			"loyaltyjam://receipts/r5", ""},
		{"return of no sale", ReceiptNoPoints, Data{ReceiptID: "r6", Reason: "return_no_sale",
			ReasonMessage: "Возврат: исходная покупка с начисленными баллами не найдена."},
			"Возврат: баллы не списаны", "Возврат: исходная покупка с начисленными баллами не найдена.", "loyaltyjam://receipts/r6", ""},
		{"unreadable", ReceiptRejected, Data{ReceiptID: "r7", Reason: "qr_not_found", ReasonMessage: "На фото не найден QR-код чека. Сфотографируйте QR-код ближе."},
			"Чек не распознан", "На фото не найден QR-код чека. Сфотографируйте QR-код ближе.", "loyaltyjam://receipts/r7", ""},
		{"duplicate", ReceiptRejected, Data{ReceiptID: "r8", Reason: "duplicate_claim", ReasonMessage: "Этот чек уже загружен."},
			"Чек уже загружен", "Этот чек уже загружен.", "loyaltyjam://receipts/r8", ""},
		{"needs review", ReceiptNeedsReview, Data{ReceiptID: "r4"},
			"Чек на проверке", "Чек отправлен на проверку модератору. Мы сообщим о решении.", "loyaltyjam://receipts/r4", ""},
		{"released", PointsReleased, Data{PointsKopecks: 150, ProgramName: "Весна"},
			"Баллы доступны: 1,5 балла", "Период программы «Весна» закрыт: 1,5 балла можно обменять на призы.", "loyaltyjam://points", ""},
		{"task approved", TaskReviewed, Data{TaskID: "t1", Approved: true, PointsKopecks: 500, Title: "Выкладка"},
			"Задание принято: +5 баллов", "Задание «Выкладка» принято, начислено 5 баллов.", "loyaltyjam://tasks/t1", ""},
		{"task rejected", TaskReviewed, Data{TaskID: "t1", ReasonMessage: "Фото размыто.", ProgramName: "Весна"},
			"Задание не принято", "Задание не принято. Фото размыто. Программа «Весна».", "loyaltyjam://tasks/t1", ""},
		{"registry", RegistryCredited, Data{PointsKopecks: 120000, ProgramName: "Весна", Title: "март 2026"},
			"Начислено 1\u00a0200 баллов", "Программа «Весна» начислила вам 1\u00a0200 баллов за март 2026.", "loyaltyjam://points", ""},
		{"invitation", Invitation, Data{ProgramName: "Весна", Link: "https://x.example/app"},
			"Добро пожаловать в программу «Весна»", "Вас пригласили в программу «Весна».", "loyaltyjam://home",
			"Вас пригласили в программу «Весна». Установите приложение: https://x.example/app"},
		{"credentials", Credentials, Data{Login: "anna", Password: "pw"},
			"Данные для входа", "Логин и пароль отправлены.", "", "Loyalty Jam: логин anna, пароль pw. Смените пароль после входа."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := Render(tc.typ, tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if c.Title != tc.wantTitle || c.Body != tc.wantBody || c.DeepLink != tc.wantLink || c.SMS != tc.wantSMS {
				t.Errorf("got  %q / %q / %q / %q\nwant %q / %q / %q / %q", c.Title, c.Body, c.DeepLink, c.SMS,
					tc.wantTitle, tc.wantBody, tc.wantLink, tc.wantSMS)
			}
			if c.PushData["type"] != string(tc.typ) {
				t.Errorf("push data type = %q", c.PushData["type"])
			}
			for k := range c.PushData {
				if k == "from" || k == "message_type" || strings.HasPrefix(k, "google.") || strings.HasPrefix(k, "gcm.") {
					t.Errorf("reserved push data key %q", k)
				}
			}
			if len(c.CollapseKey) > 64 {
				t.Errorf("collapse key too long: %q", c.CollapseKey)
			}
		})
	}
}

func TestRenderMissingDataIsPermanent(t *testing.T) {
	t.Parallel()
	for typ, d := range map[EventType]Data{
		ReceiptCredited: {ReceiptID: "r"}, ReceiptRejected: {}, PointsReleased: {}, TaskReviewed: {},
		RegistryCredited: {}, Invitation: {}, Credentials: {Login: "x"}, "unknown": {},
	} {
		if _, err := Render(typ, d); !errors.Is(err, ErrPermanent) {
			t.Errorf("Render(%s) = %v, want ErrPermanent", typ, err)
		}
	}
}

func TestQuietUntil(t *testing.T) {
	t.Parallel()
	msk, _ := time.LoadLocation("Europe/Moscow")
	vlad, _ := time.LoadLocation("Asia/Vladivostok")
	def := DefaultPreferences()
	day := func(h, m int, loc *time.Location) time.Time { return time.Date(2026, 3, 12, h, m, 0, 0, loc) }
	tests := []struct {
		name  string
		p     Preferences
		now   time.Time
		want  time.Time
		quiet bool
	}{
		{"noon", def, day(12, 0, msk), time.Time{}, false},
		{"start is quiet", def, day(22, 0, msk), day(8, 0, msk).AddDate(0, 0, 1), true},
		{"before midnight", def, day(23, 59, msk), day(8, 0, msk).AddDate(0, 0, 1), true},
		{"after midnight", def, day(3, 0, msk), day(8, 0, msk), true},
		{"end is not quiet", def, day(8, 0, msk), time.Time{}, false},
		{"utc instant, moscow rules", def, time.Date(2026, 3, 12, 20, 30, 0, 0, time.UTC), day(8, 0, msk).AddDate(0, 0, 1), true},
		{"vladivostok zone", Preferences{Quiet: def.Quiet, Timezone: "Asia/Vladivostok"}, day(16, 0, msk), day(8, 0, vlad).AddDate(0, 0, 1), true},
		{"disabled", Preferences{Quiet: QuietHours{Start: 0, End: 1439}}, day(3, 0, msk), time.Time{}, false},
		{"same-day window", Preferences{Quiet: QuietHours{Enabled: true, Start: 13 * 60, End: 15 * 60}}, day(14, 0, msk), day(15, 0, msk), true},
		{"empty window", Preferences{Quiet: QuietHours{Enabled: true, Start: 600, End: 600}}, day(10, 0, msk), time.Time{}, false},
	}
	for _, tc := range tests {
		got, quiet := tc.p.QuietUntil(tc.now)
		if quiet != tc.quiet || !got.Equal(tc.want) {
			t.Errorf("%s: QuietUntil = %v, %v; want %v, %v", tc.name, got, quiet, tc.want, tc.quiet)
		}
	}
}

func TestPreferencesEnabledAndValidate(t *testing.T) {
	t.Parallel()
	p := DefaultPreferences()
	p.Channels = map[EventType]map[Channel]bool{ReceiptCredited: {ChannelPush: false}}
	cases := []struct {
		t    EventType
		c    Channel
		want bool
	}{
		{ReceiptCredited, ChannelPush, false},
		{ReceiptCredited, ChannelInbox, true},
		{ReceiptCredited, ChannelSMS, false}, // not a channel of the type
		{ReceiptRejected, ChannelPush, true},
		{Credentials, ChannelSMS, true},
		{Credentials, ChannelInbox, false}, // a password never goes to the inbox
	}
	for _, tc := range cases {
		if got := p.Enabled(tc.t, tc.c); got != tc.want {
			t.Errorf("Enabled(%s, %s) = %v, want %v", tc.t, tc.c, got, tc.want)
		}
	}
	if err := p.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	bad := []Preferences{
		{Timezone: "Mars/Olympus"},
		{Quiet: QuietHours{Start: 1440}},
		{Channels: map[EventType]map[Channel]bool{Credentials: {ChannelSMS: false}}},
		{Channels: map[EventType]map[Channel]bool{ReceiptCredited: {ChannelInbox: false}}},
		{Channels: map[EventType]map[Channel]bool{"nope": {ChannelPush: false}}},
	}
	for i, b := range bad {
		if b.Validate() == nil {
			t.Errorf("bad[%d] validated", i)
		}
	}
}
