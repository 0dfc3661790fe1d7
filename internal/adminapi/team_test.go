package adminapi_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/tenantdb"
)

func TestSupervisorHierarchy(t *testing.T) {
	t.Parallel()
	e := newOpsEnv(t)
	ctx := context.Background()
	add := func(client int64, phone, role string) int64 {
		var id int64
		must(t, e.db.QueryRow(ctx, `INSERT INTO participants (client_id, phone, role, name) VALUES ($1, $2, $3, $2) RETURNING id`,
			client, phone, role).Scan(&id))
		return id
	}
	sup := add(e.acme, "+79990000001", "manager")
	rep := add(e.acme, "+79990000002", "sales_rep")
	seller := add(e.acme, "+79990000003", "seller")
	foreign := add(e.rival, "+79990000004", "sales_rep")
	path := func(id int64) string { return "/admin/v1/participants/" + strconv.FormatInt(id, 10) + "/supervisor" }
	set := func(who string, id int64, sup any) result {
		return e.call("PUT", path(id), who, map[string]any{"supervisor_id": sup})
	}

	e.want(set("boss@rival.test", rep, sup), 404, "participant_not_found")
	e.want(set("mod@acme.test", rep, sup), 403, "forbidden")
	e.want(set("analyst@acme.test", rep, sup), 403, "read_only_role")
	e.want(set("boss@acme.test", rep, foreign), 404, "participant_not_found")
	e.want(set("boss@acme.test", rep, seller), 422, "supervisor_role")
	e.want(set("boss@acme.test", 99999999, sup), 404, "participant_not_found")
	e.want(e.call("PUT", path(rep), "boss@acme.test", `{"supervisor_id":"x"}`), 422, "bad_json")
	e.want(set("boss@acme.test", rep, sup), 200, "")
	r := set("op@lj.test", seller, rep)
	e.want(r, 200, "")
	if r.body["supervisor_id"] != float64(rep) {
		t.Fatalf("set %s", r.raw)
	}
	e.want(set("boss@acme.test", sup, rep), 409, "supervisor_cycle")
	e.want(set("boss@acme.test", rep, rep), 409, "supervisor_cycle")

	team, err := tenantdb.New(e.db, auditdb.New(e.db)).Team(ctx, sup)
	must(t, err)
	if len(team.Members) != 2 || team.Members[0].ID != rep || team.Members[1].Depth != 2 {
		t.Errorf("team %+v", team)
	}
	e.want(set("boss@acme.test", seller, nil), 200, "")
	if got := e.auditActions("boss@acme.test", "?action=participant."); len(got) != 3 {
		t.Errorf("audit %v", got)
	}
}
