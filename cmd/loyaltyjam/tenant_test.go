package main

import (
	"context"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/loyaltyjam/loyaltyjam/internal/adminapi"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/mobile-api/openapicheck"
)

// TestServedAdminRoutesMatchOpenAPI: the app serve and dev build routes
// every operation internal/adminapi/openapi.yaml documents (so the
// clients, staff, shops and audit routes are wired), and documents every
// operations route it serves.
func TestServedAdminRoutesMatchOpenAPI(t *testing.T) {
	t.Parallel()
	_, dbURL := pgtest.New(t)
	app, cleanup, err := buildAPI(context.Background(), testDeps(t, dbURL))
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	doc, err := openapi3.NewLoader().LoadFromData(adminapi.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if m := openapicheck.Unserved(app, doc); len(m) > 0 {
		t.Errorf("admin openapi.yaml documents these but serve does not route them:\n  %s", strings.Join(m, "\n  "))
	}
	for _, m := range openapicheck.Undocumented(app, doc, "/admin/v1/") {
		for _, p := range []string{"/admin/v1/clients", "/admin/v1/staff", "/admin/v1/shops", "/admin/v1/audit", "/admin/v1/participants/{id}/supervisor"} {
			if strings.Contains(m, p) {
				t.Errorf("served, not in admin openapi.yaml: %s", m)
			}
		}
	}
	if !openapicheck.Served(app)["GET /dashboard/admin/audit"] {
		t.Error("the dashboard's operations pages are not mounted")
	}
}
