package dashboard_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestDatabaseDown: with PostgreSQL gone (here: the pool closed under a
// signed-in manager) a dashboard page answers 503 with Retry-After, not 500.
func TestDatabaseDown(t *testing.T) {
	t.Parallel()
	e, db := newEnvDB(t)
	v := e.data.Vetluga
	c := e.mustLogin(t, v.ManagerEmail)
	page := fmt.Sprintf("/dashboard/p/%d/overview", v.ProgramID)
	if resp, _ := e.do(t, c, "GET", page, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("before: %d", resp.StatusCode)
	}
	db.Close()
	resp, body := e.do(t, c, "GET", page, nil)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("database down: %d Retry-After=%q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if !strings.Contains(body, "временно недоступен") {
		t.Errorf("503 page does not say so: %.300s", body)
	}
}
