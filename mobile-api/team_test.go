package mobileapi_test

import (
	"context"
	"testing"

	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/tenantdb"
	mobileapi "github.com/loyaltyjam/loyaltyjam/mobile-api"
)

// GET /v1/team: a supervisor sees the reps below and their sellers with
// their shops; a seller sees nobody; nobody sees another client's people.
func TestTeam(t *testing.T) {
	t.Parallel()
	env := newEnvWith(t, defaultAuth(), func(d *mobileapi.Deps) { d.Team = tenantdb.New(d.DB, auditdb.New(d.DB)) })
	ctx := context.Background()
	c := env.client(t, "live")
	other := env.client(t, "live")
	sup := env.participant(t, c, "", "active")
	rep := env.participant(t, c, "", "active")
	seller := env.participant(t, c, "", "active")
	stranger := env.participant(t, other, "", "active")
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE participants SET role = 'manager', shop_id = NULL WHERE id = $1`, []any{sup.ID}},
		{`UPDATE participants SET role = 'sales_rep', shop_id = NULL, supervisor_id = $2 WHERE id = $1`, []any{rep.ID, sup.ID}},
		{`UPDATE participants SET supervisor_id = $2 WHERE id = $1`, []any{seller.ID, rep.ID}},
	} {
		if _, err := env.db.Exec(ctx, q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	// A supervisor of another client is refused by the schema.
	if _, err := env.db.Exec(ctx, `UPDATE participants SET supervisor_id = $2 WHERE id = $1`, stranger.ID, sup.ID); err == nil {
		t.Fatal("a cross-client supervisor was stored")
	}
	type team struct {
		Members []struct {
			ID    int64 `json:"id"`
			Depth int   `json:"depth"`
		} `json:"members"`
		Shops []struct {
			ID int64 `json:"id"`
		} `json:"shops"`
	}
	get := func(p tparticipant) team {
		t.Helper()
		r := env.do(t, jsonReq("GET", "/v1/team", env.login(t, p).AccessToken, nil))
		if r.Status != 200 {
			t.Fatalf("team: %d %s", r.Status, r.Body)
		}
		var tm team
		r.json(t, &tm)
		return tm
	}
	got := get(sup)
	if len(got.Members) != 2 || got.Members[0].ID != rep.ID || got.Members[0].Depth != 1 || got.Members[1].ID != seller.ID ||
		got.Members[1].Depth != 2 || len(got.Shops) != 1 || got.Shops[0].ID != c.Shop {
		t.Errorf("supervisor's team %+v", got)
	}
	if got := get(rep); len(got.Members) != 1 || got.Members[0].ID != seller.ID {
		t.Errorf("rep's team %+v", got)
	}
	if got := get(seller); len(got.Members) != 0 || len(got.Shops) != 0 {
		t.Errorf("seller's team %+v", got)
	}
	if got := get(stranger); len(got.Members) != 0 {
		t.Errorf("another client's participant sees %+v", got)
	}
	if r := env.do(t, jsonReq("GET", "/v1/team", "", nil)); r.Status != 401 {
		t.Errorf("no token: %d", r.Status)
	}
}
