package mobileapi_test

import (
	"net/http"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

func TestOpenAPIServedAndEnforced(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultAuth())
	r := e.do(t, jsonReq("GET", "/v1/openapi.yaml", "", nil))
	if r.Status != 200 || r.Header.Get("Content-Type") != "application/yaml" {
		t.Fatalf("%d %s", r.Status, r.Header.Get("Content-Type"))
	}
	doc, err := openapi3.NewLoader().LoadFromData(r.Body)
	if err != nil || doc.OpenAPI != "3.1.0" {
		t.Fatalf("served document: %v %q", err, doc.OpenAPI)
	}
	// The validator must be able to fail: responses that drift from the
	// document are caught.
	drift := []struct {
		req  *http.Request
		resp resp
	}{
		{jsonReq("GET", "/v1/me", "x", nil), resp{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"id":"1"}`)}},
		{jsonReq("POST", "/v1/auth/login", "", "{}"), resp{Status: 401, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"code":"x"}`)}},
		{jsonReq("GET", "/v1/receipts", "x", nil), resp{Status: 418, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"code":"x","message":"y","extra":1}`)}},
		{jsonReq("POST", "/v1/auth/otp/request", "", "{}"), resp{Status: 429, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"code":"too_many_attempts","message":"y"}`)}},
	}
	for _, d := range drift {
		if err := e.validate(d.req, d.resp); err == nil {
			t.Errorf("%s %s %d %s: drift not caught", d.req.Method, d.req.URL.Path, d.resp.Status, d.resp.Body)
		}
	}
	// Unknown routes are JSON 404s (not in the document, so not validated).
	res, err := e.app.Test(jsonReq("GET", "/v1/nope", "", nil), -1)
	if err != nil || res.StatusCode != 404 || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("unknown route: %v %d %s", err, res.StatusCode, res.Header.Get("Content-Type"))
	}
}
