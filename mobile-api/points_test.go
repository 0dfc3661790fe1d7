package mobileapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/auth"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	mobileapi "github.com/loyaltyjam/loyaltyjam/mobile-api"
)

func TestBalanceAndLedger(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := pgtest.New(t)
	var client, program, alice, bob int64
	if err := db.QueryRow(ctx, `INSERT INTO clients (code, name) VALUES ('acme', 'Acme') RETURNING id`).Scan(&client); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, `INSERT INTO programs (client_id, code, name, starts_on, ends_on, budget_kopecks)
		VALUES ($1, 'p1', 'P', '2025-01-01', '2025-12-31', 100000) RETURNING id`, client).Scan(&program); err != nil {
		t.Fatal(err)
	}
	for i, dst := range []*int64{&alice, &bob} {
		if err := db.QueryRow(ctx, `INSERT INTO participants (client_id, phone, role) VALUES ($1, $2, 'seller') RETURNING id`,
			client, fmt.Sprintf("+7900000000%d", i)).Scan(dst); err != nil {
			t.Fatal(err)
		}
	}
	if err := postgres.WithTx(ctx, db, func(tx pgx.Tx) error {
		if _, err := ledgerdb.SyncBudget(ctx, tx, program); err != nil {
			return err
		}
		for i := range 3 {
			if _, err := ledgerdb.Post(ctx, tx, ledger.Transaction{IdempotencyKey: "c" + strconv.Itoa(i),
				Kind: ledger.KindReceiptCredit, ClientID: client, ProgramID: program, ParticipantID: alice,
				Memo: "покупка", Postings: ledger.Credit(client, program, alice, 1005, i == 2)}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	app := httpapi.New(httpapi.Options{Logger: slog.New(slog.DiscardHandler)})
	mobileapi.RegisterFeatures(app, mobileapi.Deps{Ledger: ledgerdb.New(db)}, func(c *fiber.Ctx) (auth.Participant, error) {
		switch c.Get("X-Test-Participant") {
		case "alice":
			return auth.Participant{ID: alice}, nil
		case "bob":
			return auth.Participant{ID: bob}, nil
		}
		return auth.Participant{}, apperr.New(apperr.Unauthorized, "unauthorized", "Нужно войти.")
	})
	for _, tc := range []struct {
		name, who, path string
		wantStatus      int
		want            string // a substring of the body
	}{
		{"balance", "alice", "/v1/balance", 200, `"available_kopecks":2010,"pending_kopecks":1005,"available":"20.10","pending":"10.05"`},
		{"pending of an immediate program: no release date", "alice", "/v1/balance", 200, `"pending_release_on":null`},
		{"other participant sees only own", "bob", "/v1/balance", 200, `"available_kopecks":0,"pending_kopecks":0`},
		{"no token", "", "/v1/balance", 401, `"code":"unauthorized"`},
		{"ledger page", "alice", "/v1/ledger?limit=2", 200, `"reason":"Начисление за чек: покупка"`},
		{"bad limit", "alice", "/v1/ledger?limit=0", 422, `"code":"bad_limit"`},
		{"bad cursor", "alice", "/v1/ledger?cursor=@@", 422, `"code":"bad_cursor"`},
		{"empty ledger", "bob", "/v1/ledger", 200, `{"items":[]}`},
		{"ledger no token", "", "/v1/ledger", 401, `"code":"unauthorized"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", tc.path, nil)
			if tc.who != "" {
				req.Header.Set("X-Test-Participant", tc.who)
			}
			resp, err := app.Test(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantStatus || !strings.Contains(string(body), tc.want) {
				t.Fatalf("%d %s, want %d with %s", resp.StatusCode, body, tc.wantStatus, tc.want)
			}
		})
	}
	// Credited at period close: the pending points are released on the
	// first day of the next month.
	if _, err := db.Exec(ctx, `UPDATE programs SET crediting = 'period_close' WHERE id = $1`, program); err != nil {
		t.Fatal(err)
	}
	want := ledger.NextRelease(time.Now()).Format("2006-01-02")
	for _, tc := range []struct{ who, want string }{{"alice", `"pending_release_on":"` + want + `"`}, {"bob", `"pending_release_on":null`}} {
		req := httptest.NewRequest("GET", "/v1/balance", nil)
		req.Header.Set("X-Test-Participant", tc.who)
		resp, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.Contains(string(body), tc.want) {
			t.Fatalf("%s: %d %s, want %s", tc.who, resp.StatusCode, body, tc.want)
		}
	}
	// Paging walks all three lines once.
	seen := 0
	cursor := ""
	for range 5 {
		req := httptest.NewRequest("GET", "/v1/ledger?limit=2&cursor="+cursor, nil)
		req.Header.Set("X-Test-Participant", "alice")
		resp, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Items      []json.RawMessage `json:"items"`
			NextCursor string            `json:"next_cursor"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
			t.Fatal(err)
		}
		seen += len(page.Items)
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if seen != 3 {
		t.Fatalf("paged through %d lines, want 3", seen)
	}
}
