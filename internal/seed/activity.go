package seed

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/fiscal"
	"github.com/loyaltyjam/loyaltyjam/internal/money"
	"github.com/loyaltyjam/loyaltyjam/internal/ofd"
	"github.com/loyaltyjam/loyaltyjam/internal/ofd/ofdsim"
	"github.com/loyaltyjam/loyaltyjam/internal/points"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/catalogdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pointsdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/receiptdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/taskdb"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/verify"
)

// Run loads the demo data set (Demo) and a month of activity (Activity) at
// now: what `loyaltyjam seed` and `loyaltyjam dev` both do. photos keeps the
// photos of the seeded task reports (the API's PHOTO_DIR).
func Run(ctx context.Context, db *pgxpool.Pool, now time.Time, photos taskdb.PhotoStore) error {
	if err := Demo(ctx, db, now); err != nil {
		return err
	}
	if err := Activity(ctx, db, now, photos); err != nil {
		return fmt.Errorf("demo activity: %w", err)
	}
	return nil
}

// RegisterShops tells an OFD simulator the demo shops: a receipt from one of
// their fiscal drives comes from that shop, with the INN and KKT
// registration number the seeded shop has. `dev`, the standalone `ofdsim`
// and Activity all use it.
func RegisterShops(sim *ofdsim.Server) {
	for _, s := range Shops {
		sim.RegisterShop(s.FN, ofdsim.Shop{Name: s.Chain + " (" + s.Name + ")", INN: s.INN, Address: s.Address, KKTRegID: s.KKT, Kind: s.Kind})
	}
}

// activityDays is how far back the seeded activity goes: a month, inside
// the programs' 30-day limit on a receipt's age at upload.
const activityDays = 28

// Fiscal drives of the seeded receipts that do not come from a demo shop.
// The 9999… ones select the OFD simulator's scenarios (ofdsim.ScenarioFromFN).
const (
	fnOtherShop  = "7281440500009901" // a shop of nobody's: the seller's shop does not match
	fnInvalidFP  = "9999030000000001" // the operator rejects the fiscal sign
	fnAutonomous = "9999050000000001" // an autonomous cash register: a moderator decides
)

// Activity adds a month of demo activity before now, made by the product's
// own code: receipts uploaded by the demo sellers are verified by
// internal/verify against an in-process OFD simulator (over the real
// proverkacheka client) and credited by internal/points, so their ledger
// postings, statuses, events and dashboard rollups are the ones the worker
// would make. The month holds credited sales, sales without program SKUs,
// receipts the operator or the rules reject, receipts waiting for a
// moderator, and a return that takes a sale's points back; and a weekly
// photo-report task per client with reports in every state (seedTasks);
// an applied points registry per client (seedRegistries).
// Afterwards the dashboard rollups are rebuilt.
//
// It is deterministic (a fixed random sequence; dates relative to now) and
// idempotent: every seeded receipt carries an idempotency key and the task
// is made once per client, so running it again on the same database adds
// nothing.
func Activity(ctx context.Context, db *pgxpool.Pool, now time.Time, photos taskdb.PhotoStore) error {
	now = now.UTC()
	// Every step runs at the simulated moment it happened (a.at): the
	// upload, the operator's answer, the rules' checks of upload time and
	// upload rate.
	a := &activity{db: db, now: now, at: now, fds: map[string]int64{}}
	clock := func() time.Time { return a.at }
	a.sim = ofdsim.New(ofdsim.Config{Now: clock, Logger: quiet})
	RegisterShops(a.sim)
	fetcher, err := ofd.NewProverkacheka(ofd.ProverkachekaConfig{BaseURL: "http://ofdsim.seed", Token: "seed",
		HTTPClient: &http.Client{Transport: handlerTransport{a.sim}}, Now: clock, Logger: quiet})
	if err != nil {
		return err
	}
	a.store = receiptdb.New(db, reportdb.Rollups{})
	a.svc, err = verify.New(verify.Deps{Store: a.store, Fetcher: fetcher, Scheduler: noFollowUps{},
		Processor: points.New(pointsdb.New(db), catalogdb.New(db), ledgerdb.Postings{}, points.WithClock(clock), points.WithLogger(quiet)), Logger: quiet},
		verify.Config{Now: clock, CallTimeout: 10 * time.Second})
	if err != nil {
		return err
	}
	sellers, err := demoSellers(ctx, db)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(2026, 14))
	// Wall-clock times of the shops (Moscow), as their QR codes print them.
	local := now.Add(3 * time.Hour)
	var sales []seeded
	for day := activityDays; day >= 1; day-- {
		for _, p := range sellers {
			if rng.IntN(10) < 3 { // not every seller sells every day
				continue
			}
			at := time.Date(local.Year(), local.Month(), local.Day(), 9+rng.IntN(11), rng.IntN(60), 0, 0, time.UTC).AddDate(0, 0, -day)
			sum := int64(300+rng.IntN(2700)) * 100
			r, err := a.upload(ctx, p, p.shop.FN, at, sum, 1)
			if err != nil {
				return err
			}
			if r.Status == receipt.Credited {
				sales = append(sales, r)
			}
		}
	}
	// The other outcomes, each once per client, a few days ago: a receipt
	// of another shop and one with a false fiscal sign are rejected; one
	// from an autonomous register the operator never receives waits, and
	// after 72 h goes to a moderator.
	for i, p := range sellers {
		if i%2 == 1 { // one seller per client
			continue
		}
		at := time.Date(local.Year(), local.Month(), local.Day(), 12, 10*i, 0, 0, time.UTC).AddDate(0, 0, -4)
		for _, fn := range []string{fnOtherShop, fnInvalidFP, fnAutonomous} {
			r, err := a.upload(ctx, p, fn, at, 84_900, 1)
			if err != nil {
				return err
			}
			if r.Status == receipt.PendingOFD {
				a.at = now
				if _, err := a.svc.Verify(ctx, r.ID); err != nil {
					return fmt.Errorf("verify seeded receipt %s again: %w", r.IdempotencyKey, err)
				}
			}
		}
	}
	// A seller returns a sale two days after buying it: the return takes
	// its points back.
	if len(sales) > 0 {
		sale := sales[len(sales)/2]
		if err := a.returnSale(ctx, sale); err != nil {
			return err
		}
	}
	tasks, err := seedTasks(ctx, db, now, photos)
	if err != nil {
		return fmt.Errorf("demo tasks: %w", err)
	}
	registries, err := seedRegistries(ctx, db, now)
	if err != nil {
		return fmt.Errorf("demo registries: %w", err)
	}
	if !a.created && !tasks && !registries {
		return nil
	}
	return reportdb.Rebuild(ctx, db)
}

// seeded is a receipt Activity uploaded.
type seeded struct {
	receipt.Receipt
	seller seller
}

type seller struct {
	Participant
	id, clientID int64
	shop         Shop
}

type activity struct {
	db      *pgxpool.Pool
	store   *receiptdb.Store
	svc     *verify.Service
	sim     *ofdsim.Server
	now     time.Time        // when seeding runs
	at      time.Time        // the simulated moment of the step being seeded
	fds     map[string]int64 // last document number used per fiscal drive
	created bool
}

// demoSellers are the demo participants who upload receipts, with their
// database ids.
func demoSellers(ctx context.Context, db *pgxpool.Pool) ([]seller, error) {
	var out []seller
	for _, p := range Participants {
		if p.Role != "seller" {
			continue
		}
		s := seller{Participant: p}
		if err := db.QueryRow(ctx, `SELECT pa.id, pa.client_id FROM participants pa JOIN clients c ON c.id = pa.client_id
			WHERE c.code = $1 AND pa.phone = $2`, p.Client, p.Phone).Scan(&s.id, &s.clientID); err != nil {
			return nil, fmt.Errorf("demo seller %s: %w", p.Login, err)
		}
		for _, sh := range Shops {
			if sh.Code == p.Shop {
				s.shop = sh
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// upload does what the participant API and the worker do with a QR upload:
// the receipt is stored queued (intake), then verified and processed
// (verify.Service.Verify with the points Processor). A receipt already
// seeded (same idempotency key) is returned as it is.
func (a *activity) upload(ctx context.Context, p seller, fn string, at time.Time, sum int64, op int) (seeded, error) {
	a.fds[fn]++
	fd := a.fds[fn] + 1000
	qr := fmt.Sprintf("t=%s&s=%s&fn=%s&i=%d&fp=%d&n=%d", at.Format("20060102T150405"), money.Kopecks(sum), fn, fd, 3_000_000_000+fd, op)
	return a.submit(ctx, p, qr, fmt.Sprintf("seed-activity:%s:%d", fn, fd))
}

func (a *activity) submit(ctx context.Context, p seller, qr, key string) (seeded, error) {
	pl, err := fiscal.Parse(qr)
	if err != nil {
		return seeded{}, fmt.Errorf("seed QR %q: %w", qr, err)
	}
	var programID int64
	if err := a.db.QueryRow(ctx, `SELECT p.id FROM programs p JOIN clients c ON c.id = p.client_id
		WHERE c.id = $1 AND p.status = 'live' ORDER BY p.id LIMIT 1`, p.clientID).Scan(&programID); err != nil {
		return seeded{}, fmt.Errorf("program of %s: %w", p.Client, err)
	}
	var shopID *int64
	if err := a.db.QueryRow(ctx, `SELECT shop_id FROM participants WHERE id = $1`, p.id).Scan(&shopID); err != nil {
		return seeded{}, err
	}
	r := &receipt.Receipt{ClientID: p.clientID, ParticipantID: p.id, ShopID: shopID, ProgramID: &programID,
		IdempotencyKey: key, Source: receipt.SourceQR,
		QRRaw: pl.Raw, QRCanonical: pl.Canonical(), FN: pl.FN, FD: int64(pl.FD), FP: int64(pl.FP),
		Operation: pl.Operation, PurchasedAt: pl.Time, SumKopecks: pl.SumKopecks}
	actor := fmt.Sprintf("participant:%d", p.id)
	_ = r.Transition(receipt.Decoded, actor, "uploaded_qr", nil)
	_ = r.Transition(receipt.Queued, "api", "enqueued", nil)
	// The seller uploads it a little after the purchase (the QR's time is
	// the shop's Moscow wall clock).
	uploaded := pl.Time.Add(-3*time.Hour + time.Duration(5+pl.FD%40)*time.Minute)
	if uploaded.After(a.now) {
		uploaded = a.now
	}
	a.at = uploaded
	created, err := a.store.Create(ctx, r)
	if err != nil {
		return seeded{}, fmt.Errorf("store seeded receipt %s: %w", key, err)
	}
	if created {
		a.created = true
		// The store stamps rows with the database clock: date them at the
		// upload, as if stored then.
		if _, err := a.db.Exec(ctx, `UPDATE receipts SET created_at = $2, updated_at = $2 WHERE id = $1`, r.ID, uploaded); err != nil {
			return seeded{}, err
		}
		a.at = uploaded.Add(time.Minute)
		if _, err := a.svc.Verify(ctx, r.ID); err != nil {
			return seeded{}, fmt.Errorf("verify seeded receipt %s: %w", key, err)
		}
		if err := a.backdate(ctx, r.ID, uploaded); err != nil {
			return seeded{}, err
		}
	}
	got, err := a.store.Get(ctx, r.ID)
	if err != nil {
		return seeded{}, err
	}
	return seeded{Receipt: got, seller: p}, nil
}

// backdate dates what storing and verifying receipt id wrote with the
// database clock (its events, its ledger transactions) at the simulated
// moment: the upload for the upload's events, a minute later for the rest.
func (a *activity) backdate(ctx context.Context, id string, uploaded time.Time) error {
	_, err := a.db.Exec(ctx, `WITH ev AS (
			UPDATE receipt_events SET at = CASE WHEN actor LIKE 'participant:%' OR reason = 'enqueued' THEN $2::timestamptz ELSE $3::timestamptz END
			WHERE receipt_id = $1 RETURNING 1),
		tx AS (UPDATE ledger_transactions SET created_at = $3 WHERE receipt_id = $1 RETURNING 1)
		UPDATE receipts SET updated_at = $3 WHERE id = $1`, id, uploaded, a.at)
	return err
}

// returnSale has the simulator hold a return receipt (operation 2) of every
// line of sale, two days later at the same register, and uploads it.
func (a *activity) returnSale(ctx context.Context, sale seeded) error {
	a.fds[sale.FN]++
	fd := uint64(a.fds[sale.FN] + 1000)
	key := fmt.Sprintf("seed-activity:%s:%d", sale.FN, fd)
	var done bool
	if err := a.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM receipts WHERE participant_id = $1 AND idempotency_key = $2)`,
		sale.seller.id, key).Scan(&done); err != nil || done {
		return err
	}
	rec := httptest.NewRecorder()
	a.sim.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, fmt.Sprintf("/_sim/receipts/%s/%d/%d", sale.FN, sale.FD, sale.FP), nil))
	var got struct {
		Receipt *ofdsim.Receipt `json:"receipt"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got.Receipt == nil {
		return fmt.Errorf("the simulator lost sale %s/%d: %v", sale.FN, sale.FD, err)
	}
	ret := *got.Receipt
	ret.FD = fd
	ret.FP = 3_000_000_000 + ret.FD
	ret.Operation = 2
	ret.Time = ret.Time.AddDate(0, 0, 2).Truncate(time.Minute)
	if ret.Time.After(a.now.Add(3 * time.Hour)) {
		ret.Time = a.now.Add(3 * time.Hour).Add(-time.Hour).Truncate(time.Minute)
	}
	a.sim.PutReceipt(ret)
	qr := fmt.Sprintf("t=%s&s=%s&fn=%s&i=%d&fp=%d&n=2", ret.Time.Format("20060102T150405"), money.Kopecks(ret.Total),
		ret.FN, ret.FD, ret.FP)
	_, err := a.submit(ctx, sale.seller, qr, key)
	return err
}

// noFollowUps is the verify.Scheduler of seeding: the simulator answers at
// once, so no receipt needs a later step; one that would is left for the
// worker's sweeper.
type noFollowUps struct{}

func (noFollowUps) ScheduleVerify(context.Context, string, time.Duration, string) error { return nil }
func (noFollowUps) ScheduleDecode(context.Context, string, string) error                { return nil }

// handlerTransport serves HTTP requests with a handler in-process: the real
// OFD client talks to the simulator without a listening socket.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	return rec.Result(), nil
}
