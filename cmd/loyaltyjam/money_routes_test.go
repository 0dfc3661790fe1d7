package main

import (
	"context"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/mobile-api/openapicheck"
)

// The budget and people routes that serve really builds (buildAPI) are the
// ones internal/adminapi/openapi.yaml documents, both ways.
func TestServedMoneyRoutesMatchAdminOpenAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, dbURL := pgtest.New(t)
	app, cleanup, err := buildAPI(ctx, testDeps(t, dbURL))
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	doc, err := openapi3.NewLoader().LoadFromFile("../../internal/adminapi/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	prefixes := []string{"/admin/v1/programs/:id/budget", "/admin/v1/budget/", "/admin/v1/participants/", "/admin/v1/adjustments"}
	for _, p := range prefixes {
		if m := openapicheck.Undocumented(app, doc, p); len(m) > 0 {
			t.Errorf("serve routes these but the staff openapi.yaml lacks them:\n  %s", strings.Join(m, "\n  "))
		}
	}
	docPrefixes := []string{"/admin/v1/programs/{id}/budget", "/admin/v1/budget/", "/admin/v1/participants/", "/admin/v1/adjustments"}
	n := 0
	for _, m := range openapicheck.Unserved(app, doc) {
		for _, p := range docPrefixes {
			if strings.Contains(m, " "+p) {
				t.Errorf("documented but not served: %s", m)
			}
		}
	}
	for k := range openapicheck.Served(app) {
		for _, p := range docPrefixes {
			if strings.Contains(k, " "+p) {
				n++
			}
		}
	}
	if n < 13 {
		t.Errorf("only %d budget and people routes served", n)
	}
}
