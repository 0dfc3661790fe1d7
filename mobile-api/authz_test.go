package mobileapi_test

import (
	"context"
	"net/http"
	"testing"
)

// TestCallers runs every authenticated endpoint as every kind of caller.
func TestCallers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultAuth())
	ctx := context.Background()
	c1 := e.client(t, "live")
	c2 := e.client(t, "test")
	owner := e.participant(t, c1, "", "active")
	other := e.participant(t, c2, "", "active")
	blocked := e.participant(t, c1, "", "active")
	ownerTok := e.login(t, owner).AccessToken
	otherTok := e.login(t, other).AccessToken
	blockedTok := e.login(t, blocked).AccessToken
	e.db.Exec(ctx, `UPDATE participants SET status = 'blocked' WHERE id = $1`, blocked.ID)

	r := e.do(t, jsonReq("POST", "/v1/receipts", ownerTok, map[string]any{"qr": qrText()}))
	var a accepted
	r.json(t, &a)
	if r.Status != 202 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}

	callers := []struct {
		name  string
		token string
		// wantStatus/wantCode for every endpoint, unless the endpoint
		// overrides it for this caller.
		wantStatus int
		wantCode   string
	}{
		{"no token", "", 401, "unauthorized"},
		{"garbage token", "not.a.jwt", 401, "token_invalid"},
		{"token signed with another secret", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIiwiY2lkIjoxLCJpc3MiOiJsb3lhbHR5amFtIiwiYXVkIjpbIm1vYmlsZSJdLCJleHAiOjQxMDI0NDQ4MDB9.2Kk8i3Vm0P4Qn0JbU2sY3a7m8vL6cX1pR2tW9yZ0aBc", 401, "token_invalid"},
		{"expired token", expiredToken(t, owner, c1), 401, "token_expired"},
		{"blocked participant", blockedTok, 403, "participant_blocked"},
		{"owner", ownerTok, 0, ""},
		{"participant of another client", otherTok, 0, ""},
	}
	endpoints := []struct {
		name string
		req  func(tok string) *http.Request
		// status for the owner and for the other participant
		ownerStatus, otherStatus int
		otherCode                string
	}{
		{"me", func(tok string) *http.Request { return jsonReq("GET", "/v1/me", tok, nil) }, 200, 200, ""},
		{"list receipts", func(tok string) *http.Request { return jsonReq("GET", "/v1/receipts", tok, nil) }, 200, 200, ""},
		{"get receipt", func(tok string) *http.Request { return jsonReq("GET", "/v1/receipts/"+a.ID, tok, nil) }, 200, 404, "receipt_not_found"},
		{"submit receipt", func(tok string) *http.Request {
			return jsonReq("POST", "/v1/receipts", tok, map[string]any{"qr": qrText()})
		}, 202, 202, ""},
		{"register device", func(tok string) *http.Request {
			// Each caller its own device (the JWT's signature ends it): a
			// token bound to another participant's session is refused.
			return jsonReq("POST", "/v1/devices", tok, map[string]any{"token": "fcm-token-" + tok[max(0, len(tok)-20):], "platform": "android"})
		}, 204, 204, ""},
		{"delete device", func(tok string) *http.Request { return jsonReq("DELETE", "/v1/devices/fcm-token-x", tok, nil) }, 204, 204, ""},
	}
	for _, c := range callers {
		for _, ep := range endpoints {
			t.Run(c.name+"/"+ep.name, func(t *testing.T) {
				r := e.do(t, ep.req(c.token))
				status, code := c.wantStatus, c.wantCode
				switch c.name {
				case "owner":
					status = ep.ownerStatus
				case "participant of another client":
					status, code = ep.otherStatus, ep.otherCode
				}
				if r.Status != status || (code != "" && r.code() != code) {
					t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, status, code)
				}
			})
		}
	}

	t.Run("me shows client, shop and programs (test programs to test participants only)", func(t *testing.T) {
		var me struct {
			ID       int64               `json:"id"`
			Shop     *struct{ ID int64 } `json:"shop"`
			Programs []struct {
				Status string `json:"status"`
			} `json:"programs"`
		}
		e.do(t, jsonReq("GET", "/v1/me", ownerTok, nil)).json(t, &me)
		if me.ID != owner.ID || me.Shop == nil || me.Shop.ID != c1.Shop || len(me.Programs) != 1 {
			t.Fatalf("%+v", me)
		}
		e.do(t, jsonReq("GET", "/v1/me", otherTok, nil)).json(t, &me)
		if len(me.Programs) != 0 {
			t.Fatalf("a regular participant sees test programs: %+v", me)
		}
		e.db.Exec(ctx, `UPDATE participants SET is_test = true WHERE id = $1`, other.ID)
		e.do(t, jsonReq("GET", "/v1/me", otherTok, nil)).json(t, &me)
		if len(me.Programs) != 1 || me.Programs[0].Status != "test" {
			t.Fatalf("a test participant does not see the test program: %+v", me)
		}
	})

	t.Run("a device token moves only once the session it is bound to is gone; delete only removes own", func(t *testing.T) {
		dev := map[string]any{"token": "shared-device-token", "platform": "ios"}
		ownerOf := func() int64 {
			var pid int64
			e.db.QueryRow(ctx, `SELECT participant_id FROM push_devices WHERE token = 'shared-device-token'`).Scan(&pid)
			return pid
		}
		phone := e.login(t, owner)
		if r := e.do(t, jsonReq("POST", "/v1/devices", phone.AccessToken, dev)); r.Status != 204 {
			t.Fatalf("owner registers: %d %s", r.Status, r.Body)
		}
		// Someone who learnt the token cannot take the owner's pushes.
		if r := e.do(t, jsonReq("POST", "/v1/devices", otherTok, dev)); r.Status != 409 || r.code() != "device_taken" {
			t.Fatalf("other registers the owner's token: %d %s, want 409 device_taken", r.Status, r.Body)
		}
		if pid := ownerOf(); pid != owner.ID {
			t.Fatalf("token belongs to %d, want %d", pid, owner.ID)
		}
		// A token registered before tokens were bound to sessions is bound
		// to every live session of its participant.
		e.db.Exec(ctx, `UPDATE push_devices SET session_id = NULL WHERE token = 'shared-device-token'`)
		if r := e.do(t, jsonReq("POST", "/v1/devices", otherTok, dev)); r.Status != 409 {
			t.Fatalf("other takes a legacy token: %d %s, want 409", r.Status, r.Body)
		}
		e.do(t, jsonReq("POST", "/v1/devices", phone.AccessToken, dev)) // binds it to the session again
		// The owner signs out on that phone and someone else signs in there.
		if r := e.do(t, jsonReq("POST", "/v1/auth/logout", "", map[string]any{"refresh_token": phone.RefreshToken})); r.Status != 204 {
			t.Fatalf("logout: %d %s", r.Status, r.Body)
		}
		if pid := ownerOf(); pid != 0 {
			t.Fatalf("after logout the token still belongs to %d", pid)
		}
		e.do(t, jsonReq("POST", "/v1/devices", ownerTok, dev))
		e.db.Exec(ctx, `UPDATE auth_refresh_tokens SET revoked_at = now() WHERE participant_id = $1`, owner.ID)
		if r := e.do(t, jsonReq("POST", "/v1/devices", otherTok, dev)); r.Status != 204 {
			t.Fatalf("other registers once the owner's sessions are gone: %d %s", r.Status, r.Body)
		}
		if pid := ownerOf(); pid != other.ID {
			t.Fatalf("token belongs to %d, want %d", pid, other.ID)
		}
		ownerTok = e.login(t, owner).AccessToken
		e.do(t, jsonReq("DELETE", "/v1/devices/shared-device-token", ownerTok, nil))
		var n int
		e.db.QueryRow(ctx, `SELECT count(*) FROM push_devices WHERE token = 'shared-device-token'`).Scan(&n)
		if n != 1 {
			t.Fatal("owner deleted another participant's device")
		}
		e.do(t, jsonReq("DELETE", "/v1/devices/shared-device-token", otherTok, nil))
		e.db.QueryRow(ctx, `SELECT count(*) FROM push_devices WHERE token = 'shared-device-token'`).Scan(&n)
		if n != 0 {
			t.Fatal("device not deleted")
		}
		for _, bad := range []map[string]any{{"token": "short", "platform": "ios"}, {"token": "long-enough-token", "platform": "symbian"}} {
			r := e.do(t, jsonReq("POST", "/v1/devices", ownerTok, bad))
			if r.Status != 422 || r.code() != "invalid_device" {
				t.Fatalf("%v: %d %s", bad, r.Status, r.Body)
			}
		}
	})
}
