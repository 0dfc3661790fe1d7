package mobileapi_test

import (
	"context"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"strings"
	"testing"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/peopledb"
)

// A participant blocked by staff (peopledb.Block) is refused on uploads
// and every other request with 403 participant_blocked whose message
// carries the reason staff gave; unblocked, the same token works again.
func TestBlockedParticipantSeesReasonOnUpload(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultAuth())
	ctx := context.Background()
	c := e.client(t, "live")
	p := e.participant(t, c, "", "active")
	tok := e.login(t, p).AccessToken
	var mgr int64
	if err := e.db.QueryRow(ctx, `INSERT INTO dashboard_users (client_id, email, role, password_hash) VALUES ($1, $2, 'client_manager', 'x') RETURNING id`,
		c.ID, c.Code+"@example.ru").Scan(&mgr); err != nil {
		t.Fatal(err)
	}
	st := access.Staff{UserID: mgr, ClientID: c.ID, Role: access.ClientManager}
	people := peopledb.New(e.db, ledgerdb.Postings{}, auditdb.New(e.db), 0)
	const reason = "чеки чужого магазина"
	if _, err := people.Block(ctx, st, "127.0.0.1", p.ID, reason); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/v1/receipts", "/v1/me"} {
		method := "GET"
		var body map[string]any
		if path == "/v1/receipts" {
			method, body = "POST", map[string]any{"qr": qrText()}
		}
		r := e.do(t, jsonReq(method, path, tok, body))
		if r.Status != 403 || r.code() != "participant_blocked" || !strings.Contains(string(r.Body), reason) {
			t.Fatalf("%s %s as blocked: %d %s, want 403 participant_blocked with the reason", method, path, r.Status, r.Body)
		}
	}
	var n int
	if err := e.db.QueryRow(ctx, `SELECT count(*) FROM receipts WHERE participant_id = $1`, p.ID).Scan(&n); err != nil || n != 0 {
		t.Fatalf("a blocked participant's upload stored %d receipts (%v)", n, err)
	}
	if _, err := people.Unblock(ctx, st, "127.0.0.1", p.ID, "разобрались"); err != nil {
		t.Fatal(err)
	}
	if r := e.do(t, jsonReq("POST", "/v1/receipts", tok, map[string]any{"qr": qrText()})); r.Status != 202 {
		t.Fatalf("after unblock: %d %s", r.Status, r.Body)
	}
}
