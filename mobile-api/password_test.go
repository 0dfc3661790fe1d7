package mobileapi_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/auth"
	mobileapi "github.com/loyaltyjam/loyaltyjam/mobile-api"
)

// invite marks p's password as issued by a registry invitation round (as
// registrydb.InvitationPassword does; the sealed copy already erased).
func (e *env) invite(t testing.TB, p tparticipant) {
	t.Helper()
	if _, err := e.db.Exec(context.Background(), `INSERT INTO registry_invitation_passwords (participant_id, round, password_set, erased_at)
		VALUES ($1, 1, true, now())`, p.ID); err != nil {
		t.Fatal(err)
	}
}

type meFlag struct {
	MustChange bool `json:"must_change_password"`
}

func (e *env) mustChange(t *testing.T, tok string) bool {
	t.Helper()
	r := e.do(t, jsonReq("GET", "/v1/me", tok, nil))
	if r.Status != 200 {
		t.Fatalf("me: %d %s", r.Status, r.Body)
	}
	var m meFlag
	r.json(t, &m)
	return m.MustChange
}

func (e *env) device(t *testing.T, tok, token string) {
	t.Helper()
	if r := e.do(t, jsonReq("POST", "/v1/devices", tok, map[string]any{"token": token, "platform": "web"})); r.Status != 204 {
		t.Fatalf("device: %d %s", r.Status, r.Body)
	}
}

func (e *env) devices(t *testing.T, p tparticipant) []string {
	t.Helper()
	rows, err := e.db.Query(context.Background(), `SELECT token FROM push_devices WHERE participant_id = $1 ORDER BY token`, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// TestChangePassword: a registry-invited participant must change the issued
// password; after the change the old one is refused, the new one works, the
// other session is ended (refresh and access) with its push device, and the
// caller's own session stays.
func TestChangePassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultAuth())
	c := e.client(t, "live")
	p := e.participant(t, c, "", "")
	e.invite(t, p)
	other := e.participant(t, c, "", "active") // not invited: no forced change

	s1, s2 := e.login(t, p), e.login(t, p)
	if !e.mustChange(t, s1.AccessToken) {
		t.Fatal("an invited participant is not asked to change the issued password")
	}
	if e.mustChange(t, e.login(t, other).AccessToken) {
		t.Fatal("a participant with a password of their own is asked to change it")
	}
	e.device(t, s1.AccessToken, "push-token-session-one")
	e.device(t, s2.AccessToken, "push-token-session-two")

	change := func(tok string, body any) resp {
		return e.do(t, jsonReq("POST", "/v1/me/password", tok, body))
	}
	for _, tc := range []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"wrong current", map[string]any{"current_password": "not-it-123", "new_password": "Новый-пароль-1"}, 403, "current_password_wrong"},
		{"empty current", map[string]any{"current_password": "", "new_password": "Новый-пароль-1"}, 403, "current_password_wrong"},
		{"too short", map[string]any{"current_password": p.Password, "new_password": "a1"}, 422, "password_too_weak"},
		{"no digit", map[string]any{"current_password": p.Password, "new_password": "onlyletters"}, 422, "password_too_weak"},
		{"too long", map[string]any{"current_password": p.Password, "new_password": strings.Repeat("a1", 65)}, 422, "password_too_weak"},
		{"control character", map[string]any{"current_password": p.Password, "new_password": "abc\x00defg1"}, 422, "password_too_weak"},
		{"same", map[string]any{"current_password": p.Password, "new_password": p.Password}, 422, "password_unchanged"},
		{"wrong types", `{"current_password": 5, "new_password": ["x"]}`, 422, "malformed_json"},
		{"not json", `current_password=x`, 422, "malformed_json"},
		{"two objects", `{"current_password":"a"}{"new_password":"b"}`, 422, "malformed_json"},
		{"bad utf-8", []byte("{\"current_password\":\"" + p.Password + "\",\"new_password\":\"abc\xff\xfedefg1\"}"), 422, "malformed_json"},
		{"megabyte of password", map[string]any{"current_password": strings.Repeat("x", 1<<20), "new_password": "Новый-пароль-1"}, 403, "current_password_wrong"},
	} {
		r := change(s1.AccessToken, tc.body)
		if r.Status != tc.status || r.code() != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.name, r.Status, r.Body, tc.status, tc.code)
		}
	}
	if r := change("", map[string]any{"current_password": p.Password, "new_password": "Новый-пароль-1"}); r.Status != 401 {
		t.Fatalf("without a token: %d %s", r.Status, r.Body)
	}
	if !e.mustChange(t, s1.AccessToken) {
		t.Fatal("refused changes cleared must_change_password")
	}

	if r := change(s1.AccessToken, map[string]any{"current_password": p.Password, "new_password": "Новый-пароль-1"}); r.Status != 204 {
		t.Fatalf("change: %d %s", r.Status, r.Body)
	}
	if e.mustChange(t, s1.AccessToken) {
		t.Fatal("must_change_password still true after the change")
	}
	if r := e.do(t, jsonReq("POST", "/v1/auth/login", "", map[string]any{"login": p.Login, "password": p.Password})); r.Status != 401 {
		t.Fatalf("old password after the change: %d %s", r.Status, r.Body)
	}
	np := p
	np.Password = "Новый-пароль-1"
	e.login(t, np)
	// The other session is over: its access token at once, its refresh token, its push device.
	if r := e.do(t, jsonReq("GET", "/v1/me", s2.AccessToken, nil)); r.Status != 401 || r.code() != "session_revoked" {
		t.Fatalf("other session's access token: %d %s", r.Status, r.Body)
	}
	if r := e.do(t, jsonReq("POST", "/v1/auth/refresh", "", map[string]any{"refresh_token": s2.RefreshToken})); r.Status != 401 {
		t.Fatalf("other session's refresh: %d %s", r.Status, r.Body)
	}
	if d := e.devices(t, p); len(d) != 1 || d[0] != "push-token-session-one" {
		t.Fatalf("push devices after the change: %v", d)
	}
	// The caller's session stays.
	if r := e.do(t, jsonReq("POST", "/v1/auth/refresh", "", map[string]any{"refresh_token": s1.RefreshToken})); r.Status != 200 {
		t.Fatalf("own refresh after the change: %d %s", r.Status, r.Body)
	}
	// A new invitation round with a new password asks again.
	if _, err := e.db.Exec(context.Background(), `INSERT INTO registry_invitation_passwords (participant_id, round, password_set, created_at)
		VALUES ($1, 2, true, now() + interval '1 second')`, p.ID); err != nil {
		t.Fatal(err)
	}
	tk := e.login(t, np)
	if !e.mustChange(t, tk.AccessToken) {
		t.Fatal("a newer issued password does not ask for a change")
	}
}

// TestChangePasswordLimited: wrong current passwords count against the
// account's sign-in attempts; past the limit 429 with Retry-After, and the
// correct password does not get through either.
func TestChangePasswordLimited(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultAuth())
	c := e.client(t, "live")
	p := e.participant(t, c, "", "active")
	tok := e.login(t, p).AccessToken // one attempt of the 10 used
	var last resp
	for range 10 {
		last = e.do(t, jsonReq("POST", "/v1/me/password", tok, map[string]any{"current_password": "wrong-1234", "new_password": "Новый-пароль-1"}))
		if last.Status == 429 {
			break
		}
		if last.Status != 403 {
			t.Fatalf("wrong current: %d %s", last.Status, last.Body)
		}
	}
	if last.Status != 429 || last.code() != "too_many_attempts" {
		t.Fatalf("after 10 wrong attempts: %d %s", last.Status, last.Body)
	}
	if s, _ := strconv.Atoi(last.Header.Get("Retry-After")); s < 1 {
		t.Fatalf("Retry-After %q", last.Header.Get("Retry-After"))
	}
	r := e.do(t, jsonReq("POST", "/v1/me/password", tok, map[string]any{"current_password": p.Password, "new_password": "Новый-пароль-1"}))
	if r.Status != 429 {
		t.Fatalf("right password while limited: %d %s", r.Status, r.Body)
	}
}

// TestChangePasswordHugeBody: a body over the server's limit is refused
// before it is read whole.
func TestChangePasswordHugeBody(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultAuth())
	c := e.client(t, "live")
	p := e.participant(t, c, "", "active")
	tok := e.login(t, p).AccessToken
	body := `{"current_password":"` + strings.Repeat("x", int(e.cfg.MaxPhotoBytes)+2<<20) + `","new_password":"x"}`
	req := jsonReq("POST", "/v1/me/password", tok, body)
	r := e.doNet(t, req)
	if r.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("huge body: %d %s", r.Status, r.Body)
	}
}

// TestLogoutAll: every session of the participant ends (refresh and access
// tokens, push devices); another participant's sessions do not.
func TestLogoutAll(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultAuth())
	c := e.client(t, "live")
	p := e.participant(t, c, "", "active")
	q := e.participant(t, c, "", "active")
	s1, s2, sq := e.login(t, p), e.login(t, p), e.login(t, q)
	e.device(t, s1.AccessToken, "push-token-one")
	e.device(t, s2.AccessToken, "push-token-two")
	e.device(t, sq.AccessToken, "push-token-other")
	// A device registered before tokens were bound to sessions goes too.
	if _, err := e.db.Exec(context.Background(), `INSERT INTO push_devices (participant_id, token, platform) VALUES ($1, 'push-token-legacy', 'android')`, p.ID); err != nil {
		t.Fatal(err)
	}
	if r := e.do(t, jsonReq("POST", "/v1/auth/logout-all", "", nil)); r.Status != 401 {
		t.Fatalf("without a token: %d %s", r.Status, r.Body)
	}
	r := e.do(t, jsonReq("POST", "/v1/auth/logout-all", s1.AccessToken, nil))
	var out struct {
		Sessions int `json:"sessions"`
	}
	r.json(t, &out)
	if r.Status != 200 || out.Sessions != 2 {
		t.Fatalf("logout-all: %d %s", r.Status, r.Body)
	}
	for _, s := range []tokens{s1, s2} {
		if r := e.do(t, jsonReq("GET", "/v1/me", s.AccessToken, nil)); r.Status != 401 || r.code() != "session_revoked" {
			t.Fatalf("access token after logout-all: %d %s", r.Status, r.Body)
		}
		if r := e.do(t, jsonReq("POST", "/v1/auth/refresh", "", map[string]any{"refresh_token": s.RefreshToken})); r.Status != 401 {
			t.Fatalf("refresh after logout-all: %d %s", r.Status, r.Body)
		}
	}
	if d := e.devices(t, p); len(d) != 0 {
		t.Fatalf("push devices left: %v", d)
	}
	if d := e.devices(t, q); len(d) != 1 {
		t.Fatalf("the other participant's devices: %v", d)
	}
	if r := e.do(t, jsonReq("GET", "/v1/me", sq.AccessToken, nil)); r.Status != 200 {
		t.Fatalf("other participant after logout-all: %d %s", r.Status, r.Body)
	}
	e.login(t, p) // signing in again works
}

// TestPasswordRoutesDatabaseDown: 503 with Retry-After, never 500.
func TestPasswordRoutesDatabaseDown(t *testing.T) {
	t.Parallel()
	dead, err := pgxpool.New(context.Background(), "postgres://postgres@"+closedAddr(t)+"/none?sslmode=disable&connect_timeout=5")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dead.Close)
	e := newEnvWith(t, defaultAuth(), func(d *mobileapi.Deps) { d.DB = dead })
	c := e.client(t, "live")
	p := e.participant(t, c, "", "active")
	svc, err := auth.New(nil, nil, nil, auth.Config{Secret: []byte(testSecret)})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := svc.IssueAccess(auth.Participant{ID: p.ID, ClientID: c.ID, Role: "seller"}, "5b0c1a52-8d1e-4f3a-9a43-2f6f7f0f2c11", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range []*http.Request{
		jsonReq("POST", "/v1/me/password", tok, map[string]any{"current_password": p.Password, "new_password": "Новый-пароль-1"}),
		jsonReq("POST", "/v1/auth/logout-all", tok, nil),
		jsonReq("GET", "/v1/program", tok, nil),
	} {
		r := e.doOutage(t, req)
		s, _ := strconv.Atoi(r.Header.Get("Retry-After"))
		if r.Status != http.StatusServiceUnavailable || s < 1 {
			t.Errorf("%s %s with the database down: %d Retry-After=%q %s", req.Method, req.URL.Path, r.Status, r.Header.Get("Retry-After"), r.Body)
		}
	}
}
