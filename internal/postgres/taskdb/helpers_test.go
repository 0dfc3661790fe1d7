package taskdb_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/photostore"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/notifydb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/taskdb"
	"github.com/loyaltyjam/loyaltyjam/internal/task"
)

// clock is a settable clock shared by the store and the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

var start = time.Date(2026, 3, 2, 9, 0, 0, 0, task.Moscow) // a Monday

// env is one client with a funded live program, shops and participants.
type env struct {
	db        *pgxpool.Pool
	store     *taskdb.Store
	clock     *clock
	clientID  int64
	programID int64
	shops     []int64 // shops[0] at shopLat/shopLon
	parts     []taskdb.Participant
	manager   access.Staff
	moderator access.Staff
}

const shopLat, shopLon = 55.7539, 37.6208

func newEnv(t *testing.T, participants int, budgetKopecks int64, opts ...taskdb.Option) *env {
	t.Helper()
	db, _ := pgtest.New(t)
	return addClient(t, db, "acme", participants, budgetKopecks, opts...)
}

func addClient(t *testing.T, db *pgxpool.Pool, code string, participants int, budgetKopecks int64, opts ...taskdb.Option) *env {
	t.Helper()
	ctx := context.Background()
	photos, err := photostore.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e := &env{db: db, clock: &clock{t: start.Add(time.Hour)}}
	e.store = taskdb.New(db, photos, ledgerdb.Postings{}, append([]taskdb.Option{taskdb.WithClock(e.clock.Now), taskdb.WithNotifier(notifydb.Notifier{})}, opts...)...)
	err = postgres.WithTx(ctx, db, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO clients (code, name) VALUES ($1, $1) RETURNING id`, code).Scan(&e.clientID); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `INSERT INTO programs (client_id, code, name, status, starts_on, ends_on, budget_kopecks)
			VALUES ($1, 'p1', 'Программа', 'live', '2026-01-01', '2026-12-31', $2) RETURNING id`, e.clientID, budgetKopecks).Scan(&e.programID); err != nil {
			return err
		}
		if budgetKopecks > 0 {
			if _, err := ledgerdb.SyncBudget(ctx, tx, e.programID); err != nil {
				return err
			}
		}
		for i := 0; i < 3; i++ {
			var id int64
			lat, lon := shopLat+float64(i)*0.1, shopLon
			if err := tx.QueryRow(ctx, `INSERT INTO shops (client_id, code, name, chain, region, lat, lon)
				VALUES ($1, $2, $2, 'Сеть', 'Москва', $3, $4) RETURNING id`, e.clientID, fmt.Sprintf("s%d", i), lat, lon).Scan(&id); err != nil {
				return err
			}
			e.shops = append(e.shops, id)
		}
		for i := 0; i < participants; i++ {
			var id int64
			if err := tx.QueryRow(ctx, `INSERT INTO participants (client_id, phone, role, status, shop_id)
				VALUES ($1, $2, 'merchandiser', 'active', $3) RETURNING id`, e.clientID, fmt.Sprintf("+7900%07d", i+1), e.shops[0]).Scan(&id); err != nil {
				return err
			}
			e.parts = append(e.parts, taskdb.Participant{ID: id, ClientID: e.clientID, Role: "merchandiser"})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e.manager = access.Staff{UserID: 1, ClientID: e.clientID, Role: access.ClientManager}
	e.moderator = access.Staff{UserID: 2, ClientID: e.clientID, Role: access.Moderator}
	return e
}

// newTask creates a task with sensible defaults edited by edit.
func (e *env) newTask(t *testing.T, edit func(*task.Task)) task.Task {
	t.Helper()
	x := task.Task{ProgramID: e.programID, Title: "Выкладка на полке", Instructions: "Сфотографируйте полку.",
		RewardKopecks: 30000, StartsAt: start, DueAt: start.AddDate(0, 1, 0), Recurrence: task.Weekly,
		PerParticipant: 1, Evidence: task.Evidence{MinPhotos: 1, MaxPhotos: 3}}
	if edit != nil {
		edit(&x)
	}
	out, err := e.store.CreateTask(context.Background(), e.manager, x)
	if err != nil {
		t.Fatalf("CreateTask: %v", err)
	}
	return out
}

// upload is a clean report at the shop, captured now.
func (e *env) upload(photos ...[]byte) taskdb.Upload {
	lat, lon := shopLat+0.0003, shopLon
	return taskdb.Upload{Photos: photos, Lat: &lat, Lon: &lon, CapturedAt: e.clock.Now().Add(-time.Minute)}
}

func (e *env) balance(t *testing.T, participantID int64) int64 {
	t.Helper()
	b, err := ledgerdb.AccountBalance(context.Background(), e.db, ledger.AvailableAccount(e.clientID, e.programID, participantID))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// shelfJPEG draws a synthetic shelf photo (seed picks the layout).
func shelfJPEG(t testing.TB, seed uint64, w, h, quality int) []byte {
	t.Helper()
	return encode(t, shelf(seed, w, h), quality)
}

func encode(t testing.TB, img image.Image, quality int) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: quality}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func shelf(seed uint64, w, h int) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, seed*7+1))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), &image.Uniform{color.RGBA{200, 200, 190, 255}}, image.Point{}, draw.Src)
	rows := 3 + r.IntN(3)
	for s := 0; s < rows; s++ {
		y0, y1 := h*s/rows, h*(s+1)/rows
		board := y1 - h/40
		draw.Draw(img, image.Rect(0, board, w, y1), &image.Uniform{color.RGBA{90, 60, 40, 255}}, image.Point{}, draw.Src)
		for x := r.IntN(w / 20); x < w; {
			pw := w/30 + r.IntN(w/10)
			ph := (board - y0) * (5 + r.IntN(5)) / 10
			c := color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255}
			draw.Draw(img, image.Rect(x, board-ph, x+pw, board), &image.Uniform{c}, image.Point{}, draw.Src)
			x += pw + r.IntN(w/40+1)
		}
	}
	return img
}

// halfSize returns a box-filtered half-size copy.
func halfSize(src image.Image) *image.RGBA {
	b := src.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx()/2, b.Dy()/2))
	for y := 0; y < b.Dy()/2; y++ {
		for x := 0; x < b.Dx()/2; x++ {
			var rs, gs, bs uint32
			for dy := 0; dy < 2; dy++ {
				for dx := 0; dx < 2; dx++ {
					r, g, bb, _ := src.At(b.Min.X+2*x+dx, b.Min.Y+2*y+dy).RGBA()
					rs, gs, bs = rs+r>>8, gs+g>>8, bs+bb>>8
				}
			}
			dst.SetRGBA(x, y, color.RGBA{uint8(rs / 4), uint8(gs / 4), uint8(bs / 4), 255})
		}
	}
	return dst
}

func decodeJPEG(t testing.TB, b []byte) image.Image {
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func errCode(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := apperr.As(err); ok {
		return e.Code
	}
	return "other: " + err.Error()
}
