package mobileapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/fiscal"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/receiptdb"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
)

// Once the client's receipt programs are all closed, an upload is refused
// with a reason a seller understands; with a live one it is taken.
func TestUploadRefusedWhenProgramClosed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultAuth())
	c := e.client(t, "closed")
	p := e.participant(t, c, "", "active")
	tok := e.login(t, p).AccessToken
	r := e.do(t, jsonReq("POST", "/v1/receipts", tok, map[string]any{"qr": qrText()}))
	var er struct{ Code, Message string }
	r.json(t, &er)
	if r.Status != 409 || er.Code != "program_closed" || !strings.Contains(er.Message, "новые чеки не принимаются") {
		t.Fatalf("upload to a closed program: %d %s", r.Status, r.Body)
	}
	var n int
	must(t, e.db.QueryRow(context.Background(), `SELECT count(*) FROM receipts WHERE participant_id = $1`, p.ID).Scan(&n))
	if n != 0 {
		t.Fatalf("%d receipts stored", n)
	}
	// A live registry-only program takes no receipts: still refused.
	_, err := e.db.Exec(context.Background(), `INSERT INTO programs (client_id, code, name, status, starts_on, ends_on, mechanics)
		VALUES ($1, 'reg', 'Реестры', 'live', current_date - 1, current_date + 1, '{registries}')`, c.ID)
	must(t, err)
	if r = e.do(t, jsonReq("POST", "/v1/receipts", tok, map[string]any{"qr": qrText()})); r.Status != 409 {
		t.Fatalf("upload with only a registry program live: %d %s", r.Status, r.Body)
	}
	// A live receipt program takes it, and files it under itself.
	var live int64
	must(t, e.db.QueryRow(context.Background(), `INSERT INTO programs (client_id, code, name, status, starts_on, ends_on, mechanics)
		VALUES ($1, 'next', 'Весна', 'live', current_date - 1, current_date + 1, '{receipts}') RETURNING id`, c.ID).Scan(&live))
	if r = e.do(t, jsonReq("POST", "/v1/receipts", tok, map[string]any{"qr": qrText()})); r.Status >= 300 {
		t.Fatalf("upload with a live receipt program: %d %s", r.Status, r.Body)
	}
	var pid *int64
	must(t, e.db.QueryRow(context.Background(), `SELECT program_id FROM receipts WHERE participant_id = $1`, p.ID).Scan(&pid))
	if pid == nil || *pid != live {
		t.Fatalf("receipt filed under %v, want %d", pid, live)
	}
}

// A receipt credited in several programs tells the seller what each gave.
func TestReceiptShowsEachProgram(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultAuth())
	ctx := context.Background()
	c := e.client(t, "live")
	p := e.participant(t, c, "", "active")
	tok := e.login(t, p).AccessToken
	store := receiptdb.New(e.db)
	pl, err := fiscal.Parse(qrText())
	must(t, err)
	r := &receipt.Receipt{ClientID: c.ID, ParticipantID: p.ID, Source: receipt.SourceQR, QRRaw: pl.Raw,
		QRCanonical: pl.Canonical(), FN: pl.FN, FD: int64(pl.FD), FP: int64(pl.FP), Operation: pl.Operation,
		PurchasedAt: pl.Time, SumKopecks: pl.SumKopecks}
	must(t, r.Transition(receipt.Verified, "worker", "ofd_verified", nil))
	_, err = store.Create(ctx, r)
	must(t, err)
	// The event data as points.settleSeveral writes it.
	must(t, store.Update(ctx, r.ID, func(_ context.Context, _ pgx.Tx, x *receipt.Receipt) error {
		must(t, x.Transition(receipt.Matched, "worker", "items_matched", nil))
		x.PointsKopecks = 3000
		return x.Transition(receipt.Credited, "worker", "points_credited", map[string]any{"points_kopecks": 3000,
			"programs": []map[string]any{
				{"program_id": c.Program, "program": "Зима", "status": "credited", "reason": "points_credited", "rule_version": 1, "points_kopecks": 3000},
				{"program_id": c.Program + 1000, "program": "Лента", "status": "rejected", "reason": "shop_mismatch", "rule_version": 2, "points_kopecks": 0},
			}})
	}))
	resp := e.do(t, jsonReq("GET", "/v1/receipts/"+r.ID, tok, nil))
	var d struct {
		Programs []struct {
			Program, Status, Message string
			PointsKopecks            int64 `json:"points_kopecks"`
		} `json:"programs"`
	}
	resp.json(t, &d)
	if len(d.Programs) != 2 || d.Programs[0].PointsKopecks != 3000 || d.Programs[1].Message != "Чек пробит не в вашем магазине." {
		t.Fatalf("programs %+v", d.Programs)
	}
}
