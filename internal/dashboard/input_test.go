package dashboard_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
)

// Bytes that are not UTF-8 and megabyte fields used to reach PostgreSQL
// and come back as 500; through the real routes they are now refused at
// the edge with a code, and an alias too long for its index is refused by
// the catalog's rule.
func TestHostileInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.data.Vetluga
	c := e.mustLogin(t, v.ManagerEmail)
	base := fmt.Sprintf("/dashboard/p/%d", v.ProgramID)
	e.do(t, c, "GET", base+"/unmatched", nil) // the session's CSRF token
	code := func(body string) string {
		var b httpapi.ErrorBody
		_ = json.Unmarshal([]byte(body), &b)
		return b.Code
	}

	_, resp := e.login(t, "\xff", "whatever")
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("login e-mail %%ff: %d, want 400", resp.StatusCode)
	}
	resp, body := e.do(t, c, "GET", base+"/receipts?status=sales&chain=%E0%80%80", nil)
	if resp.StatusCode != http.StatusBadRequest || code(body) != "invalid_utf8" {
		t.Errorf("chain filter %%E0%%80%%80: %d %q, want 400 invalid_utf8", resp.StatusCode, code(body))
	}
	confirm := func(alias string) (*http.Response, string) {
		return e.do(t, c, "POST", base+"/unmatched/confirm", url.Values{"_csrf": {c.csrf},
			"sku": {fmt.Sprint(v.SKUIDs[0])}, "alias": {alias}})
	}
	resp, body = confirm(strings.Repeat("Антифриз ", 1<<20/len("Антифриз ")))
	if resp.StatusCode != http.StatusUnprocessableEntity || code(body) != "too_long" {
		t.Errorf("1 MB alias: %d %q, want 422 too_long", resp.StatusCode, code(body))
	}
	// Under the edge's bound but over the index's: the catalog's rule.
	resp, body = confirm(strings.Repeat("Ж", 2000))
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "длиннее 256") {
		t.Errorf("2 000-character alias: %d, want 400 with the reason", resp.StatusCode)
	}
	if resp, _ = confirm("ТЕРМОКС антифриз 1л"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a normal alias: %d, want 303", resp.StatusCode)
	}
}
