package dashboard_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/dashboard"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
	"github.com/loyaltyjam/loyaltyjam/internal/photostore"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/catalogdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/notifydb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/registrydb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb/reporttest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/taskdb"
	"github.com/loyaltyjam/loyaltyjam/internal/registry"
	"github.com/loyaltyjam/loyaltyjam/internal/task"
)

// fullEnv is the dashboard with the task store and the registry service,
// on the demo data set.
type fullEnv struct {
	*env
	db        *pgxpool.Pool
	tasks     *taskdb.Store
	registry  *registry.Service
	processor *registry.Processor

	mu       sync.Mutex
	enqueued []int64
}

// secondApproval is the maker-checker threshold of the test services
// (registries and task rewards): 10 000 points.
const secondApproval = 1_000_000

func newFullEnv(t *testing.T) *fullEnv {
	t.Helper()
	db, _ := pgtest.New(t)
	data := reporttest.Load(t, db, testNow)
	clk := &clock{t: testNow}
	quiet := slog.New(slog.DiscardHandler)
	photos, err := photostore.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e := &fullEnv{db: db}
	e.tasks = taskdb.New(db, photos, ledgerdb.Postings{}, taskdb.WithClock(clk.Now), taskdb.WithLogger(quiet),
		taskdb.WithSecondApproval(secondApproval), taskdb.WithNotifier(notifydb.Notifier{}))
	store := registrydb.New(db, ledgerdb.Postings{}, auditdb.New(db), registrydb.WithSecondApproval(secondApproval), registrydb.WithCreditSubscribers(notifydb.Notifier{}))
	e.processor = registry.NewProcessor(store, nil, nil, registry.ProcessorConfig{Logger: quiet})
	e.registry = registry.NewService(store, registry.EnqueueFunc(func(_ context.Context, id int64, _ string) error {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.enqueued = append(e.enqueued, id)
		return nil
	}), registry.Config{SecondApprovalKopecks: secondApproval, Logger: quiet, Now: clk.Now})
	app := httpapi.New(httpapi.Options{Logger: quiet})
	dashboard.New(dashboard.Options{Reports: reportdb.New(db), Foreign: catalogdb.New(db), Outage: postgres.Unavailable, Receipts: data.Receipts,
		Approver: dashboard.DefaultApprover[pgx.Tx]{Receipts: data.Receipts}, Photos: photos, Now: clk.Now, Logger: quiet,
		Tasks: e.tasks, Registries: e.registry}).Register(app)
	e.env = &env{app: app, data: data, clock: clk}
	return e
}

// process runs the worker's job for every enqueued upload.
func (e *fullEnv) process(t *testing.T) {
	t.Helper()
	e.mu.Lock()
	ids := e.enqueued
	e.enqueued = nil
	e.mu.Unlock()
	for _, id := range ids {
		if err := e.processor.Process(t.Context(), id); err != nil {
			t.Fatalf("process upload %d: %v", id, err)
		}
	}
}

// shelfPhoto is a small synthetic JPEG; seed changes the picture.
func shelfPhoto(t testing.TB, seed int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 240, 160))
	for y := 0; y < 160; y++ {
		for x := 0; x < 240; x++ {
			v := uint8((x*(seed+3) + y*(seed*5+1)) % 256)
			img.SetRGBA(x, y, color.RGBA{v, uint8(255 - int(v)), uint8((x / 30 * 40 * (seed + 1)) % 256), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// taskFixture creates a task through the dashboard form and returns it.
func (e *fullEnv) createTask(t *testing.T, c *client, title string) task.Task {
	t.Helper()
	v := e.data.Vetluga
	resp, body := e.do(t, c, "POST", fmt.Sprintf("/dashboard/p/%d/tasks", v.ProgramID), url.Values{
		"_csrf": {c.csrf}, "title": {title}, "instructions": {"Сфотографируйте полку с продукцией."},
		"reward": {"300"}, "starts_at": {"2026-03-01T00:00"}, "due_at": {"2026-04-01T00:00"}, "recurrence": {"weekly"},
		"per_participant": {"1"}, "per_shop": {"0"}, "min_photos": {"1"}, "max_photos": {"3"}, "geofence_meters": {"300"},
		"roles": {"seller", "merchandiser"}, "checklist": {"Стойка установлена?"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create task: %d %s", resp.StatusCode, errorText(body))
	}
	list, err := e.tasks.Tasks(t.Context(), staffOf(t, e.db, v.ManagerEmail), v.ClientID, "", 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range list {
		if x.Title == title {
			return x
		}
	}
	t.Fatalf("task %q not stored", title)
	return task.Task{}
}

// submit takes tk for participant i of vetluga and reports with photo;
// at the shop when atShop, else without a location.
func (e *fullEnv) submit(t *testing.T, tk task.Task, i int, photo []byte, atShop bool) task.Submission {
	t.Helper()
	ctx := t.Context()
	v := e.data.Vetluga
	var role string
	if err := e.db.QueryRow(ctx, `SELECT role FROM participants WHERE id = $1`, v.Participants[i]).Scan(&role); err != nil {
		t.Fatal(err)
	}
	p := taskdb.Participant{ID: v.Participants[i], ClientID: v.ClientID, Role: role}
	sub, err := e.tasks.Take(ctx, p, tk.ID, 0)
	if err != nil {
		t.Fatalf("take: %v", err)
	}
	u := taskdb.Upload{Photos: [][]byte{photo}, Answers: []byte(`{"q1": true}`), Comment: "Готово",
		CapturedAt: testNow.Add(-time.Minute)}
	if atShop {
		var lat, lon float64
		if err := e.db.QueryRow(ctx, `SELECT lat, lon FROM shops WHERE id = $1`, sub.ShopID).Scan(&lat, &lon); err != nil {
			t.Fatal(err)
		}
		lat += 0.0003
		u.Lat, u.Lon = &lat, &lon
	}
	sub, err = e.tasks.Submit(ctx, p, sub.ID, u)
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	return sub
}

// staffOf is the access identity of the dashboard user with e-mail email.
func staffOf(t *testing.T, db *pgxpool.Pool, email string) access.Staff {
	t.Helper()
	var st access.Staff
	var role string
	if err := db.QueryRow(t.Context(), `SELECT id, COALESCE(client_id, 0), role FROM dashboard_users WHERE email = $1`,
		email).Scan(&st.UserID, &st.ClientID, &role); err != nil {
		t.Fatalf("staff %s: %v", email, err)
	}
	st.Role = access.Role(role)
	return st
}

func errorText(body string) string {
	if i := strings.Index(body, `class="error"`); i >= 0 {
		return body[i:min(len(body), i+300)]
	}
	return ""
}

// participantPoints is what participant id holds in the program, available
// and pending.
func participantPoints(t *testing.T, db *pgxpool.Pool, programID, id int64) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(t.Context(), `SELECT COALESCE(sum(balance_kopecks), 0) FROM ledger_accounts
		WHERE program_id = $1 AND participant_id = $2 AND kind IN ('participant_available', 'participant_pending')`,
		programID, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTaskPages(t *testing.T) {
	t.Parallel()
	e := newFullEnv(t)
	v, k := e.data.Vetluga, e.data.Krasnodol
	base := fmt.Sprintf("/dashboard/p/%d/tasks", v.ProgramID)
	mgr := e.mustLogin(t, v.ManagerEmail)

	for _, p := range []string{base, base + "/new", base + "/queue"} {
		if resp, body := e.do(t, mgr, "GET", p, nil); resp.StatusCode != 200 || !strings.Contains(body, "Задания") {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
		}
	}
	// The form: CSRF required, errors shown with the values kept.
	form := url.Values{"title": {"Без токена"}, "reward": {"100"}, "starts_at": {"2026-03-01T00:00"}, "due_at": {"2026-04-01T00:00"}}
	if resp, _ := e.do(t, mgr, "POST", base, form); resp.StatusCode != http.StatusForbidden {
		t.Errorf("create without CSRF: %d", resp.StatusCode)
	}
	form.Set("_csrf", mgr.csrf)
	form.Set("due_at", "2026-02-01T00:00")
	resp, body := e.do(t, mgr, "POST", base, form)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Срок выполнения должен быть позже начала") ||
		!strings.Contains(body, `value="Без токена"`) {
		t.Errorf("invalid task: %d %s", resp.StatusCode, errorText(body))
	}
	if list, _ := e.tasks.Tasks(t.Context(), staffOf(t, e.db, v.ManagerEmail), v.ClientID, "", 50); len(list) != 0 {
		t.Fatalf("a refused form stored %d tasks", len(list))
	}
	tk := e.createTask(t, mgr, "Выкладка антифриза")
	if tk.RewardKopecks != 30000 || tk.Recurrence != task.Weekly || tk.GeofenceMeters != 300 || len(tk.Eligibility.Roles) != 2 ||
		len(tk.Evidence.Checklist) != 1 || !tk.StartsAt.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, task.Moscow)) {
		t.Errorf("stored task: %+v", tk)
	}
	if _, body := e.do(t, mgr, "GET", base, nil); !strings.Contains(body, "Выкладка антифриза") || !strings.Contains(body, `<td class="num">300</td>`) {
		t.Errorf("task list lacks the new task")
	}

	// Two reports with the same photo: the second is flagged as a
	// duplicate, and without a location as outside the geofence check.
	photo := shelfPhoto(t, 1)
	clean := e.submit(t, tk, 0, photo, true)
	dup := e.submit(t, tk, 2, photo, false)
	if len(clean.Flags) != 0 || len(dup.Flags) == 0 {
		t.Fatalf("flags: clean %+v, dup %+v", clean.Flags, dup.Flags)
	}

	mod := e.mustLogin(t, v.ModeratorMail)
	_, body = e.do(t, mod, "GET", base+"/queue", nil)
	for _, want := range []string{"Выкладка антифриза", "Эта фотография уже есть в другом отчёте программы.",
		"Телефон не передал местоположение.", fmt.Sprintf("/submissions/%d/photos/0", clean.ID),
		"Стойка установлена? — <b>да</b>", "Иван Петров", "Автомир на Ленина", "м от магазина"} {
		if !strings.Contains(body, want) {
			t.Errorf("queue lacks %q", want)
		}
	}
	if strings.Index(body, fmt.Sprintf(`id="sub-%d"`, clean.ID)) > strings.Index(body, fmt.Sprintf(`id="sub-%d"`, dup.ID)) {
		t.Errorf("queue is not in due/submission order")
	}
	resp, body = e.do(t, mod, "GET", fmt.Sprintf("%s/submissions/%d/photos/0", base, clean.ID), nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" || !bytes.Equal([]byte(body), photo) {
		t.Errorf("photo: %d %s %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
	}
	if resp, _ := e.do(t, mod, "GET", fmt.Sprintf("%s/submissions/%d/photos/5", base, clean.ID), nil); resp.StatusCode != 404 {
		t.Errorf("missing photo: %d", resp.StatusCode)
	}
	// A moderator reviews but does not create tasks.
	if resp, _ := e.do(t, mod, "GET", base+"/new", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("moderator opens the task form: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, mod, "POST", fmt.Sprintf("%s/%d/archive", base, tk.ID), url.Values{"_csrf": {mod.csrf}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("moderator archives: %d", resp.StatusCode)
	}

	// Approve: CSRF required; approving credits the reward once, however
	// often the form is sent.
	sub := func(id int64) string { return fmt.Sprintf("%s/submissions/%d", base, id) }
	before := participantPoints(t, e.db, v.ProgramID, clean.ParticipantID)
	for _, f := range []url.Values{{}, {"_csrf": {strings.Repeat("0", 64)}}} {
		if resp, _ := e.do(t, mod, "POST", sub(clean.ID)+"/approve", f); resp.StatusCode != http.StatusForbidden {
			t.Errorf("approve without a valid CSRF token: %d", resp.StatusCode)
		}
	}
	if got := participantPoints(t, e.db, v.ProgramID, clean.ParticipantID); got != before {
		t.Fatalf("a forged approval credited %d", got-before)
	}
	for i := 0; i < 3; i++ {
		resp, _ := e.do(t, mod, "POST", sub(clean.ID)+"/approve", url.Values{"_csrf": {mod.csrf}, "from": {"queue"}})
		if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "/queue?done=approved") {
			t.Errorf("approve %d: %d %s", i, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if got := participantPoints(t, e.db, v.ProgramID, clean.ParticipantID); got-before != tk.RewardKopecks {
		t.Errorf("approval credited %d, want %d once", got-before, tk.RewardKopecks)
	}
	var txs int
	if err := e.db.QueryRow(t.Context(), `SELECT count(*) FROM ledger_transactions WHERE idempotency_key = $1`,
		task.RewardKey(clean.ID)).Scan(&txs); err != nil || txs != 1 {
		t.Errorf("ledger transactions for the report: %d %v", txs, err)
	}
	_, body = e.do(t, mod, "GET", sub(clean.ID), nil)
	if !strings.Contains(body, "одобрен") || !strings.Contains(body, "<dt>Начислено</dt><dd><b>300</b>") || strings.Contains(body, `/approve"`) {
		t.Errorf("approved report page: %s", body[strings.Index(body, "<main>"):])
	}

	// Reject needs a reason from the list; rework needs a comment.
	resp, body = e.do(t, mod, "POST", sub(dup.ID)+"/reject", url.Values{"_csrf": {mod.csrf}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Укажите причину отклонения") {
		t.Errorf("reject without reason: %d %s", resp.StatusCode, errorText(body))
	}
	resp, body = e.do(t, mod, "POST", sub(dup.ID)+"/rework", url.Values{"_csrf": {mod.csrf}, "comment": {" "}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Напишите, что нужно исправить") {
		t.Errorf("rework without comment: %d %s", resp.StatusCode, errorText(body))
	}
	resp, _ = e.do(t, mod, "POST", sub(dup.ID)+"/reject", url.Values{"_csrf": {mod.csrf}, "reason_code": {"duplicate_photo"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("reject: %d", resp.StatusCode)
	}
	got, err := e.tasks.Submission(t.Context(), staffOf(t, e.db, v.ModeratorMail), dup.ID)
	if err != nil || got.Status != task.Rejected || got.ReasonCode != "duplicate_photo" {
		t.Errorf("after reject: %s %s %v", got.Status, got.ReasonCode, err)
	}
	// Deciding a decided report again is a conflict, shown on the page.
	resp, body = e.do(t, mod, "POST", sub(dup.ID)+"/approve", url.Values{"_csrf": {mod.csrf}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "Отчёт уже проверен") {
		t.Errorf("approve a rejected report: %d %s", resp.StatusCode, errorText(body))
	}
	// Archive and publish again.
	for _, a := range []string{"archive", "activate"} {
		if resp, _ := e.do(t, mgr, "POST", fmt.Sprintf("%s/%d/%s", base, tk.ID, a), url.Values{"_csrf": {mgr.csrf}}); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("%s: %d", a, resp.StatusCode)
		}
	}

	// Tenant isolation: krasnodol's manager sees none of it, neither under
	// vetluga's program nor with vetluga's ids under krasnodol's own.
	kr := e.mustLogin(t, k.ManagerEmail)
	kbase := fmt.Sprintf("/dashboard/p/%d/tasks", k.ProgramID)
	for _, u := range []string{base, base + "/new", base + "/queue", sub(dup.ID), sub(clean.ID) + "/photos/0",
		fmt.Sprintf("%s/submissions/%d", kbase, clean.ID), fmt.Sprintf("%s/submissions/%d/photos/0", kbase, clean.ID)} {
		resp, body := e.do(t, kr, "GET", u, nil)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("krasnodol GET %s: %d", u, resp.StatusCode)
		}
		if strings.Contains(body, "Выкладка антифриза") || strings.Contains(body, "Иван Петров") {
			t.Errorf("krasnodol GET %s shows vetluga data", u)
		}
	}
	if _, body := e.do(t, kr, "GET", kbase+"/queue", nil); strings.Contains(body, "Выкладка антифриза") {
		t.Errorf("krasnodol's queue shows vetluga's reports")
	}
	third := e.submit(t, tk, 1, shelfPhoto(t, 7), true)
	for _, u := range []string{sub(third.ID) + "/approve", fmt.Sprintf("%s/submissions/%d/approve", kbase, third.ID),
		fmt.Sprintf("%s/%d/archive", kbase, tk.ID), fmt.Sprintf("%s/%d/archive", base, tk.ID), base} {
		resp, _ := e.do(t, kr, "POST", u, url.Values{"_csrf": {kr.csrf}, "title": {"x"}, "reward": {"1"}})
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("krasnodol POST %s: %d", u, resp.StatusCode)
		}
	}
	if got, _ := e.tasks.Submission(t.Context(), staffOf(t, e.db, v.ModeratorMail), third.ID); got.Status != task.Submitted {
		t.Errorf("krasnodol changed vetluga's report: %s", got.Status)
	}
	if x, _ := e.tasks.Task(t.Context(), staffOf(t, e.db, v.ManagerEmail), tk.ID); x.Status != task.Active {
		t.Errorf("krasnodol archived vetluga's task")
	}
}

// A task reward over the second-approval limit: the moderator's approval is
// recorded as the first, the same person cannot add the second, and the
// manager's approval credits it.
func TestLargeTaskRewardNeedsTwoApprovers(t *testing.T) {
	t.Parallel()
	e := newFullEnv(t)
	v := e.data.Vetluga
	base := fmt.Sprintf("/dashboard/p/%d/tasks", v.ProgramID)
	mgr := e.mustLogin(t, v.ManagerEmail)
	e.do(t, mgr, "GET", base+"/new", nil)
	tk := e.createTask(t, mgr, "Большая выкладка")
	if _, err := e.db.Exec(t.Context(), `UPDATE tasks SET reward_kopecks = $2 WHERE id = $1`, tk.ID, 2*secondApproval); err != nil {
		t.Fatal(err)
	}
	s := e.submit(t, tk, 0, shelfPhoto(t, 7), true)
	before := participantPoints(t, e.db, v.ProgramID, s.ParticipantID)
	approve := fmt.Sprintf("%s/submissions/%d/approve", base, s.ID)

	mod := e.mustLogin(t, v.ModeratorMail)
	e.do(t, mod, "GET", base+"/queue", nil)
	resp, _ := e.do(t, mod, "POST", approve, url.Values{"_csrf": {mod.csrf}})
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "done=first_approval") {
		t.Fatalf("first approval: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := e.do(t, mod, "POST", approve, url.Values{"_csrf": {mod.csrf}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "второе подтверждение должен дать другой сотрудник") {
		t.Fatalf("the same moderator again: %d %s", resp.StatusCode, errorText(body))
	}
	if got := participantPoints(t, e.db, v.ProgramID, s.ParticipantID); got != before {
		t.Fatalf("one person's approvals credited %d", got-before)
	}
	resp, _ = e.do(t, mgr, "POST", approve, url.Values{"_csrf": {mgr.csrf}})
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "done=approved") {
		t.Fatalf("second approval: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := participantPoints(t, e.db, v.ProgramID, s.ParticipantID); got-before != 2*secondApproval {
		t.Fatalf("after the second approval: credited %d, want %d", got-before, 2*secondApproval)
	}
}
