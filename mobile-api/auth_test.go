package mobileapi_test

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestAuth(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultAuth())
	c1 := e.client(t, "live")
	c2 := e.client(t, "live")
	ctx := context.Background()

	t.Run("otp sign-in activates an invited participant and the code is single-use", func(t *testing.T) {
		p := e.participant(t, c1, "", "invited")
		r := e.do(t, jsonReq("POST", "/v1/auth/otp/request", "", map[string]any{"phone": "8" + p.Phone[2:]}))
		if r.Status != http.StatusAccepted {
			t.Fatalf("request: %d %s", r.Status, r.Body)
		}
		msg, ok := e.sim.Last(p.Phone)
		if !ok || len(msg.Code()) != 6 {
			t.Fatalf("no code sent to %s: %+v", p.Phone, msg)
		}
		r = e.do(t, jsonReq("POST", "/v1/auth/otp/verify", "", map[string]any{"phone": p.Phone, "code": msg.Code()}))
		if r.Status != 200 {
			t.Fatalf("verify: %d %s", r.Status, r.Body)
		}
		var tk tokens
		r.json(t, &tk)
		if tk.Participant.ID != p.ID || tk.Participant.Status != "active" || tk.ExpiresIn != 900 {
			t.Fatalf("tokens %+v", tk)
		}
		var status string
		e.db.QueryRow(ctx, `SELECT status FROM participants WHERE id = $1`, p.ID).Scan(&status)
		if status != "active" {
			t.Fatalf("status %s, want active", status)
		}
		if r := e.do(t, jsonReq("GET", "/v1/me", tk.AccessToken, nil)); r.Status != 200 {
			t.Fatalf("me: %d %s", r.Status, r.Body)
		}
		r = e.do(t, jsonReq("POST", "/v1/auth/otp/verify", "", map[string]any{"phone": p.Phone, "code": msg.Code()}))
		if r.Status != 401 || r.code() != "otp_invalid" {
			t.Fatalf("second use: %d %s", r.Status, r.Body)
		}
		// Codes are stored hashed.
		var n int
		e.db.QueryRow(ctx, `SELECT count(*) FROM auth_otps WHERE position($1::bytea in code_hash) > 0`, []byte(msg.Code())).Scan(&n)
		if n != 0 {
			t.Fatal("code stored in clear")
		}
	})

	t.Run("unknown phone gets the same answer and no SMS", func(t *testing.T) {
		before := e.sim.Requests()
		r := e.do(t, jsonReq("POST", "/v1/auth/otp/request", "", map[string]any{"phone": "+79995550000"}))
		if r.Status != http.StatusAccepted || e.sim.Requests() != before {
			t.Fatalf("%d %s, sms requests %d → %d", r.Status, r.Body, before, e.sim.Requests())
		}
	})

	t.Run("otp brute force is stopped with 429 and Retry-After", func(t *testing.T) {
		p := e.participant(t, c1, "", "active")
		if r := e.do(t, jsonReq("POST", "/v1/auth/otp/request", "", map[string]any{"phone": p.Phone})); r.Status != 202 {
			t.Fatalf("request: %d %s", r.Status, r.Body)
		}
		msg, _ := e.sim.Last(p.Phone)
		wrong := "000000"
		if msg.Code() == wrong {
			wrong = "111111"
		}
		for i := 1; i <= 5; i++ {
			r := e.do(t, jsonReq("POST", "/v1/auth/otp/verify", "", map[string]any{"phone": p.Phone, "code": wrong}))
			if r.Status != 401 || r.code() != "otp_invalid" {
				t.Fatalf("guess %d: %d %s", i, r.Status, r.Body)
			}
		}
		// Even the right code is refused now.
		r := e.do(t, jsonReq("POST", "/v1/auth/otp/verify", "", map[string]any{"phone": p.Phone, "code": msg.Code()}))
		if r.Status != 429 || r.code() != "too_many_attempts" {
			t.Fatalf("guess 6: %d %s", r.Status, r.Body)
		}
		if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 || s > 300 {
			t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
		}
		// Asking for codes again at once is limited too.
		r = e.do(t, jsonReq("POST", "/v1/auth/otp/request", "", map[string]any{"phone": p.Phone}))
		if r.Status != 429 || r.Header.Get("Retry-After") == "" {
			t.Fatalf("resend: %d %s", r.Status, r.Body)
		}
	})

	shared := "+79997770001"
	pa := e.participant(t, c1, shared, "active")
	pb := e.participant(t, c2, shared, "active")
	blocked := e.participant(t, c1, "", "blocked")

	cases := []struct {
		name       string
		body       any
		wantStatus int
		wantCode   string
	}{
		{"by login", map[string]any{"login": pa.Login, "password": pa.Password}, 200, ""},
		{"by login, other case", map[string]any{"login": "USER" + pa.Login[4:], "password": pa.Password}, 200, ""},
		{"by phone with one matching password", map[string]any{"login": shared, "password": pa.Password}, 200, ""},
		{"wrong password", map[string]any{"login": pa.Login, "password": "nope"}, 401, "invalid_credentials"},
		{"unknown login", map[string]any{"login": "nobody", "password": "nope"}, 401, "invalid_credentials"},
		{"blocked", map[string]any{"login": blocked.Login, "password": blocked.Password}, 403, "participant_blocked"},
		{"malformed json", `{"login":`, 422, "malformed_json"},
		{"empty body", ``, 422, "malformed_json"},
		{"array body", `[1,2]`, 422, "malformed_json"},
		{"empty fields", map[string]any{}, 401, "invalid_credentials"},
	}
	for _, tc := range cases {
		t.Run("login/"+tc.name, func(t *testing.T) {
			r := e.do(t, jsonReq("POST", "/v1/auth/login", "", tc.body))
			if r.Status != tc.wantStatus || (tc.wantCode != "" && r.code() != tc.wantCode) {
				t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, tc.wantStatus, tc.wantCode)
			}
		})
	}

	t.Run("one phone in two clients asks to choose, then signs in the chosen one", func(t *testing.T) {
		if _, err := e.db.Exec(ctx, `UPDATE participants SET password_hash = (SELECT password_hash FROM participants WHERE id = $1) WHERE id = $2`, pa.ID, pb.ID); err != nil {
			t.Fatal(err)
		}
		r := e.do(t, jsonReq("POST", "/v1/auth/login", "", map[string]any{"login": shared, "password": pa.Password}))
		if r.Status != 409 || r.code() != "participant_choice_required" {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		var ch struct {
			Participants []struct {
				ParticipantID int64 `json:"participant_id"`
			} `json:"participants"`
		}
		r.json(t, &ch)
		if len(ch.Participants) != 2 {
			t.Fatalf("choices %s", r.Body)
		}
		r = e.do(t, jsonReq("POST", "/v1/auth/login", "", map[string]any{"login": shared, "password": pa.Password, "participant_id": pb.ID}))
		var tk tokens
		r.json(t, &tk)
		if r.Status != 200 || tk.Participant.ID != pb.ID {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		// The same with an SMS code: the code survives the 409.
		if r := e.do(t, jsonReq("POST", "/v1/auth/otp/request", "", map[string]any{"phone": shared})); r.Status != 202 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		msg, _ := e.sim.Last(shared)
		r = e.do(t, jsonReq("POST", "/v1/auth/otp/verify", "", map[string]any{"phone": shared, "code": msg.Code()}))
		if r.Status != 409 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		r = e.do(t, jsonReq("POST", "/v1/auth/otp/verify", "", map[string]any{"phone": shared, "code": msg.Code(), "participant_id": pa.ID}))
		r.json(t, &tk)
		if r.Status != 200 || tk.Participant.ID != pa.ID {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})

	t.Run("refresh rotates; reuse of a rotated token revokes the family; logout", func(t *testing.T) {
		p := e.participant(t, c1, "", "active")
		first := e.login(t, p)
		r := e.do(t, jsonReq("POST", "/v1/auth/refresh", "", map[string]any{"refresh_token": first.RefreshToken}))
		if r.Status != 200 {
			t.Fatalf("refresh: %d %s", r.Status, r.Body)
		}
		var second tokens
		r.json(t, &second)
		if second.RefreshToken == first.RefreshToken || second.AccessToken == "" {
			t.Fatal("refresh token not rotated")
		}
		r = e.do(t, jsonReq("POST", "/v1/auth/refresh", "", map[string]any{"refresh_token": first.RefreshToken}))
		if r.Status != 401 || r.code() != "refresh_token_reused" {
			t.Fatalf("reuse: %d %s", r.Status, r.Body)
		}
		r = e.do(t, jsonReq("POST", "/v1/auth/refresh", "", map[string]any{"refresh_token": second.RefreshToken}))
		if r.Status != 401 {
			t.Fatalf("family not revoked: %d %s", r.Status, r.Body)
		}
		// Another session of the same participant is unaffected.
		other := e.login(t, p)
		r = e.do(t, jsonReq("POST", "/v1/auth/logout", "", map[string]any{"refresh_token": other.RefreshToken}))
		if r.Status != 204 {
			t.Fatalf("logout: %d %s", r.Status, r.Body)
		}
		r = e.do(t, jsonReq("POST", "/v1/auth/refresh", "", map[string]any{"refresh_token": other.RefreshToken}))
		if r.Status != 401 || r.code() != "refresh_token_reused" && r.code() != "refresh_token_invalid" {
			t.Fatalf("after logout: %d %s", r.Status, r.Body)
		}
		for _, bad := range []string{"", "garbage", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
			r = e.do(t, jsonReq("POST", "/v1/auth/refresh", "", map[string]any{"refresh_token": bad}))
			if r.Status != 401 || r.code() != "refresh_token_invalid" {
				t.Fatalf("bad token %q: %d %s", bad, r.Status, r.Body)
			}
		}
		// Tokens are stored hashed.
		var n int
		e.db.QueryRow(ctx, `SELECT count(*) FROM auth_refresh_tokens WHERE token_hash = convert_to($1, 'UTF8')`, second.RefreshToken).Scan(&n)
		if n != 0 {
			t.Fatal("refresh token stored in clear")
		}
	})

	t.Run("refresh of a participant blocked since is refused", func(t *testing.T) {
		p := e.participant(t, c1, "", "active")
		tk := e.login(t, p)
		e.db.Exec(ctx, `UPDATE participants SET status = 'blocked' WHERE id = $1`, p.ID)
		r := e.do(t, jsonReq("POST", "/v1/auth/refresh", "", map[string]any{"refresh_token": tk.RefreshToken}))
		if r.Status != 403 || r.code() != "participant_blocked" {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})

	t.Run("invalid phone", func(t *testing.T) {
		for _, ph := range []string{"", "abc", "+7", "12", "+7999123456789012345"} {
			r := e.do(t, jsonReq("POST", "/v1/auth/otp/request", "", map[string]any{"phone": ph}))
			if r.Status != 422 || r.code() != "invalid_phone" {
				t.Fatalf("%q: %d %s", ph, r.Status, r.Body)
			}
		}
		r := e.do(t, jsonReq("POST", "/v1/auth/otp/verify", "", map[string]any{"phone": "+79990001122", "code": "12ab"}))
		if r.Status != 422 || r.code() != "invalid_code_format" {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
	_ = time.Second
}

// Password guesses used to be counted per name: ten by login and ten more
// by phone for the same account. They count per account now.
func TestLoginGuessesCountPerAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultAuth())
	p := e.participant(t, e.client(t, "live"), "", "active")
	for i := 0; i < 10; i++ {
		name := p.Login
		if i%2 == 1 {
			name = p.Phone
		}
		r := e.do(t, jsonReq("POST", "/v1/auth/login", "", map[string]any{"login": name, "password": "wrong"}))
		if r.Status != 401 {
			t.Fatalf("guess %d: %d %s", i, r.Status, r.Body)
		}
	}
	for _, name := range []string{p.Login, "8" + p.Phone[2:]} {
		r := e.do(t, jsonReq("POST", "/v1/auth/login", "", map[string]any{"login": name, "password": p.Password}))
		if r.Status != 429 || r.code() != "too_many_attempts" || r.Header.Get("Retry-After") == "" {
			t.Errorf("11th attempt by %s: %d %s, want 429 too_many_attempts with Retry-After", name, r.Status, r.Body)
		}
	}
}

// An access token used to work until it expired, logout or not. It now
// names its session, and a logged-out session's tokens stop at once; a
// blocked participant's token stops at once too. Another session of the
// same participant is not affected.
func TestAccessTokenRevocation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultAuth())
	c := e.client(t, "live")
	p := e.participant(t, c, "", "active")
	gone, kept := e.login(t, p), e.login(t, p)
	if r := e.do(t, jsonReq("GET", "/v1/me", gone.AccessToken, nil)); r.Status != 200 {
		t.Fatalf("me before logout: %d %s", r.Status, r.Body)
	}
	if r := e.do(t, jsonReq("POST", "/v1/auth/logout", "", map[string]any{"refresh_token": gone.RefreshToken})); r.Status != 204 {
		t.Fatalf("logout: %d %s", r.Status, r.Body)
	}
	if r := e.do(t, jsonReq("GET", "/v1/me", gone.AccessToken, nil)); r.Status != 401 || r.code() != "session_revoked" {
		t.Errorf("access token after logout: %d %s, want 401 session_revoked", r.Status, r.Body)
	}
	if r := e.do(t, jsonReq("GET", "/v1/me", kept.AccessToken, nil)); r.Status != 200 {
		t.Errorf("the other session after logout: %d %s", r.Status, r.Body)
	}
	// A refreshed token belongs to the same session.
	r := e.do(t, jsonReq("POST", "/v1/auth/refresh", "", map[string]any{"refresh_token": kept.RefreshToken}))
	var next tokens
	r.json(t, &next)
	if r := e.do(t, jsonReq("GET", "/v1/me", next.AccessToken, nil)); r.Status != 200 {
		t.Errorf("refreshed token: %d %s", r.Status, r.Body)
	}
	if _, err := e.db.Exec(context.Background(), `UPDATE participants SET status = 'blocked' WHERE id = $1`, p.ID); err != nil {
		t.Fatal(err)
	}
	if r := e.do(t, jsonReq("GET", "/v1/me", next.AccessToken, nil)); r.Status != 403 || r.code() != "participant_blocked" {
		t.Errorf("blocked participant's token: %d %s, want 403 participant_blocked", r.Status, r.Body)
	}
}

// The input check of internal/httpapi holds on the participant app too:
// bytes that are not UTF-8 in a filter or a form are 400 invalid_utf8.
func TestInvalidUTF8IsRefusedAtTheEdge(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultAuth())
	p := e.participant(t, e.client(t, "live"), "", "active")
	tok := e.login(t, p).AccessToken
	r := e.do(t, jsonReq("GET", "/v1/receipts?status=%E0%80%80", tok, nil))
	if r.Status != 400 || r.code() != "invalid_utf8" {
		t.Errorf("status filter %%E0%%80%%80: %d %s, want 400 invalid_utf8", r.Status, r.Body)
	}
	form := "qr=t%3D20260101T1200%26s%3D1%ff"
	req := jsonReq("POST", "/v1/receipts", tok, nil)
	req.Body, req.ContentLength = io.NopCloser(strings.NewReader(form)), int64(len(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if r := e.do(t, req); r.Status != 400 || r.code() != "invalid_utf8" {
		t.Errorf("form qr with %%ff: %d %s, want 400 invalid_utf8", r.Status, r.Body)
	}
}
