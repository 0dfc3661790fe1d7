package workers_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/notify"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/push/fcm"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/push/fcmsim"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/notifydb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/receiptdb"
	"github.com/loyaltyjam/loyaltyjam/internal/qrscan"
	"github.com/loyaltyjam/loyaltyjam/internal/queue"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
)

// A receipt that fails in the worker after the API answered 202 — a photo
// without a readable QR code, a receipt someone already uploaded — tells
// the seller by push and in the inbox, once, with what to do.
func TestFailureAfterAcceptNotifiesTheSeller(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// The worker's store as `loyaltyjam worker` wires it: events write
	// notification intents in their transaction.
	e.store = receiptdb.New(e.pool, notifydb.Notifier{})
	photos := dirPhotos(t.TempDir())
	_, h := e.service(t, svcOptions{photos: photos, qr: qrscan.New(qrscan.Options{})})
	ctx := context.Background()

	const project = "lj-test"
	sim := fcmsim.New(fcmsim.Options{ProjectID: project, Logger: slog.New(slog.DiscardHandler)})
	fts := httptest.NewServer(sim)
	t.Cleanup(fts.Close)
	pusher, err := fcm.New(ctx, fcm.Options{ProjectID: project, Endpoint: fts.URL, Timeout: 20 * time.Second,
		Logger: slog.New(slog.DiscardHandler)})
	mustT(t, err)
	// Noon in Moscow tomorrow: outside the default quiet hours.
	noon := func() time.Time {
		msk := time.FixedZone("MSK", 3*3600)
		d := time.Now().In(msk).AddDate(0, 0, 1)
		return time.Date(d.Year(), d.Month(), d.Day(), 12, 0, 0, 0, msk)
	}
	disp := notify.NewDispatcher(notifydb.New(e.pool), notify.WithPush(pusher), notify.WithClock(noon),
		notify.WithLogger(slog.New(slog.DiscardHandler)))

	holder := e.newQueued(t, scenarioFN(0, 0), time.Date(2026, 3, 1, 9, 15, 0, 0, time.UTC))
	for i, tc := range []struct {
		name, token string
		photo       []byte
		wantStatus  receipt.Status
		wantTitle   string
		wantAdvice  string
	}{
		{"unreadable photo", "device-token-unreadable-01", qrPNG(t, ""), receipt.Unreadable,
			"Чек не распознан", "Сфотографируйте QR-код ближе"},
		{"duplicate", "device-token-duplicate-001", qrPNG(t, holder.QRCanonical), receipt.Duplicate,
			"Чек уже загружен", "Этот чек уже загружен"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// One participant per case, each with one phone.
			var pid int64
			mustT(t, e.pool.QueryRow(ctx, `INSERT INTO participants (client_id, phone, role) VALUES (1, $1, 'seller') RETURNING id`,
				fmt.Sprintf("+7999100000%d", i)).Scan(&pid))
			_, err := e.pool.Exec(ctx, `INSERT INTO push_devices (participant_id, token, platform) VALUES ($1, $2, 'android')`, pid, tc.token)
			mustT(t, err)
			key := fmt.Sprintf("notify-%d.png", i)
			photos.put(t, key, tc.photo)
			r := &receipt.Receipt{ClientID: 1, ParticipantID: pid, Source: receipt.SourcePhoto, PhotoKey: key}
			mustT(t, r.Transition(receipt.Received, fmt.Sprintf("participant:%d", pid), "uploaded_photo", nil))
			if created, err := e.store.Create(ctx, r); err != nil || !created {
				t.Fatalf("create: %v %v", created, err)
			}
			task, err := queue.NewReceiptDecode(r.ID)
			mustT(t, err)
			for range 2 { // a redelivered task changes nothing and tells nobody twice
				mustT(t, h.Decode(ctx, task))
			}
			if got := e.get(t, r.ID); got.Status != tc.wantStatus {
				t.Fatalf("status %s (%s), want %s", got.Status, got.StatusReason, tc.wantStatus)
			}
			rows, err := e.pool.Query(ctx, `SELECT id FROM notification_intents WHERE participant_id = $1`, pid)
			mustT(t, err)
			var ids []int64
			for rows.Next() {
				var id int64
				mustT(t, rows.Scan(&id))
				ids = append(ids, id)
			}
			mustT(t, rows.Err())
			if len(ids) != 1 {
				t.Fatalf("%d notification intents, want 1", len(ids))
			}
			for range 2 { // a redelivered notify task sends nothing new
				mustT(t, disp.Deliver(ctx, ids[0]))
			}
			msgs := sim.Messages(tc.token)
			if len(msgs) != 1 {
				t.Fatalf("%d pushes, want 1", len(msgs))
			}
			if m := msgs[0]; m.Title != tc.wantTitle || !strings.Contains(m.Body, tc.wantAdvice) || m.Data["receipt_id"] != r.ID {
				t.Errorf("push %q / %q (data %v), want %q saying %q", m.Title, m.Body, m.Data, tc.wantTitle, tc.wantAdvice)
			}
			var n int
			var title, body string
			mustT(t, e.pool.QueryRow(ctx, `SELECT count(*), max(title), max(body) FROM notifications WHERE participant_id = $1`, pid).
				Scan(&n, &title, &body))
			if n != 1 || title != tc.wantTitle || !strings.Contains(body, tc.wantAdvice) {
				t.Errorf("inbox: %d items, %q / %q; want 1 saying %q", n, title, body, tc.wantAdvice)
			}
		})
	}
}
