package seed

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/notifydb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/taskdb"
	"github.com/loyaltyjam/loyaltyjam/internal/task"
)

// demoTaskTitle names the seeded task of each client; its presence marks
// the tasks as seeded.
const demoTaskTitle = "Фото выкладки товаров программы"

// taskStep is one participant's attempt in one week of the demo task, and
// where it ends.
type taskStep struct {
	week        int // weeks before now's week (0: this week)
	participant int // index into the client's demo participants
	end         task.SubmissionStatus
}

// demoTaskSteps give the reports of every state: approved and rejected
// ones, one that expired unreported, and this week one sent back for
// rework, one a moderator has claimed, one waiting and one taken but not
// reported yet (open attempts only this week: the worker expires those of
// weeks gone by).
var demoTaskSteps = []taskStep{
	{3, 0, task.Approved}, {3, 1, task.Rejected}, {3, 2, task.Expired},
	{2, 0, task.Approved}, {2, 1, task.Approved}, {2, 2, task.Approved},
	{1, 0, task.Approved}, {1, 2, task.Rejected},
	{0, 0, task.ReworkRequested}, {0, 0, task.Taken}, {0, 1, task.Submitted}, {0, 2, task.InReview},
}

// seedTasks creates a weekly photo-report task per demo client, started
// four weeks before now, and runs the demo participants' reports through
// taskdb (take, submit with photos, moderator review, expiry) on a clock
// set to each step's moment, so rewards are credited to the ledger as the
// product credits them. A client that has the task already is skipped.
func seedTasks(ctx context.Context, db *pgxpool.Pool, now time.Time, photos taskdb.PhotoStore) (bool, error) {
	at := now
	// Steps of this week that would fall after now happen just before it.
	clock := func() time.Time {
		if at.After(now) {
			return now
		}
		return at
	}
	store := taskdb.New(db, photos, ledgerdb.Postings{}, taskdb.WithClock(clock), taskdb.WithLogger(quiet),
		taskdb.WithNotifier(notifydb.Notifier{}))
	rng := rand.New(rand.NewPCG(2026, 60))
	weekStart := func(weeksAgo int) time.Time {
		d := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
		d = d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7)) // Monday
		return d.AddDate(0, 0, -7*weeksAgo)
	}
	created := false
	for _, c := range Clients {
		var clientID, programID, managerID int64
		var exists bool
		if err := db.QueryRow(ctx, `SELECT c.id, p.id, u.id,
				EXISTS (SELECT 1 FROM tasks t WHERE t.client_id = c.id AND t.title = $2)
			FROM clients c JOIN programs p ON p.client_id = c.id AND p.code = $3
			JOIN dashboard_users u ON u.client_id = c.id AND u.role = 'client_manager'
			WHERE c.code = $1 ORDER BY u.id LIMIT 1`, c.Code, demoTaskTitle, c.ProgramCode).Scan(&clientID, &programID, &managerID, &exists); err != nil {
			return false, fmt.Errorf("demo task of %s: %w", c.Code, err)
		}
		if exists {
			continue
		}
		created = true
		staff := access.Staff{UserID: managerID, ClientID: clientID, Role: access.ClientManager}
		var parts []taskdb.Participant
		for _, p := range Participants {
			if p.Client != c.Code {
				continue
			}
			tp := taskdb.Participant{ClientID: clientID, Role: p.Role}
			if err := db.QueryRow(ctx, `SELECT id FROM participants WHERE client_id = $1 AND phone = $2`, clientID, p.Phone).Scan(&tp.ID); err != nil {
				return false, err
			}
			parts = append(parts, tp)
		}
		at = weekStart(4)
		t, err := store.CreateTask(ctx, staff, task.Task{ProgramID: programID, Title: demoTaskTitle,
			Instructions:  "Сфотографируйте полку с товарами программы так, чтобы были видны ценники. Один отчёт в неделю.",
			RewardKopecks: 15_000, Eligibility: task.Eligibility{Roles: []string{"seller", "merchandiser", "sales_rep"}},
			StartsAt: weekStart(3), DueAt: weekStart(-9), Recurrence: task.Weekly, PerParticipant: 2,
			Evidence: task.Evidence{MinPhotos: 1, MaxPhotos: 3}, Status: task.Active})
		if err != nil {
			return false, fmt.Errorf("create demo task of %s: %w", c.Code, err)
		}
		var expire []int64
		for _, st := range demoTaskSteps {
			p := parts[st.participant]
			at = weekStart(st.week).Add(time.Duration(10+st.participant) * time.Hour)
			sub, err := store.Take(ctx, p, t.ID, 0)
			if err != nil {
				return false, fmt.Errorf("take demo task: %w", err)
			}
			if st.end == task.Taken || st.end == task.Expired {
				if st.end == task.Expired {
					expire = append(expire, sub.ID)
				}
				continue
			}
			at = at.Add(40 * time.Minute)
			if _, err := store.Submit(ctx, p, sub.ID, taskdb.Upload{Photos: [][]byte{shelfPhoto(rng)},
				Comment: "Выкладка обновлена", CapturedAt: clock().Add(-5 * time.Minute)}); err != nil {
				return false, fmt.Errorf("submit demo report: %w", err)
			}
			var rv task.Review
			switch st.end {
			case task.Submitted:
				continue
			case task.InReview:
				rv = task.Review{Action: task.ActClaim}
			case task.Approved:
				rv = task.Review{Action: task.ActApprove}
			case task.Rejected:
				rv = task.Review{Action: task.ActReject, ReasonCode: "photo_unreadable", Comment: "Ценники не видны."}
			case task.ReworkRequested:
				rv = task.Review{Action: task.ActRework, Comment: "Переснимите полку целиком, с ценниками."}
			}
			at = at.Add(3 * time.Hour)
			if _, err := store.Review(ctx, staff, sub.ID, rv); err != nil {
				return false, fmt.Errorf("review demo report (%s): %w", st.end, err)
			}
		}
		// The week of the unreported attempts ends: the sweeper expires them.
		if len(expire) > 0 {
			at = weekStart(2).Add(time.Hour)
			if _, err := store.ExpireOverdue(ctx, 100); err != nil {
				return false, err
			}
		}
	}
	return created, nil
}

// shelfPhoto draws a small JPEG of coloured blocks (a shelf, as far as the
// report checks go), different for every call so that no two reports share
// a photo.
func shelfPhoto(rng *rand.Rand) []byte {
	const w, h, cell = 320, 240, 20
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y += cell {
		for x := 0; x < w; x += cell {
			c := color.RGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255}
			for dy := range cell {
				for dx := range cell {
					img.Set(x+dx, y+dy, c)
				}
			}
		}
	}
	var b bytes.Buffer
	_ = jpeg.Encode(&b, img, &jpeg.Options{Quality: 80})
	return b.Bytes()
}
