package mobileapi_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"
)

func init() {
	// The document is served as YAML text and declared a string, as a
	// strict client reads it; kin-openapi would otherwise decode YAML into
	// an object before validating. Photo parts are files: their bytes.
	openapi3filter.RegisterBodyDecoder("application/yaml", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("image/jpeg", openapi3filter.FileBodyDecoder)
	openapi3filter.RegisterBodyDecoder("image/png", openapi3filter.FileBodyDecoder)
}

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

// The report's photos are repeated file parts: one part alone must validate
// as well as several (a client that sends one photo sends one part, which a
// strict validator reads as a single value, not an array).
func TestOpenAPIReportPhotosOneOrMany(t *testing.T) {
	t.Parallel()
	op := openapiDoc.Paths.Value("/v1/tasks/submissions/{id}/report").Post
	mt := op.RequestBody.Value.Content.Get("multipart/form-data")
	photos := mt.Schema.Value.Properties["photos"].Value
	for name, v := range map[string]any{"one": "\xff\xd8jpeg", "two": []any{"\xff\xd8a", "\x89PNGb"}} {
		if err := photos.VisitJSON(v); err != nil {
			t.Errorf("%s photo(s) do not validate against photos: %v", name, err)
		}
	}
	if err := photos.VisitJSON(make([]any, 11)); err == nil {
		t.Error("11 photos validate; the document says at most 10")
	}

	// And the whole request, as kin-openapi reads it, with one part and
	// with two.
	router, err := legacy.NewRouter(openapiDoc)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 2} {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		for i := range n {
			h := make(map[string][]string)
			h["Content-Disposition"] = []string{`form-data; name="photos"; filename="p.jpg"`}
			h["Content-Type"] = []string{"image/jpeg"}
			pw, _ := w.CreatePart(h)
			pw.Write([]byte{0xff, 0xd8, byte(i)})
		}
		_ = w.WriteField("comment", "полка")
		w.Close()
		req := httptest.NewRequest(http.MethodPost, "http://localhost/v1/tasks/submissions/7/report", &buf)
		req.Header.Set("Content-Type", w.FormDataContentType())
		req.Header.Set("Authorization", "Bearer x")
		route, params, err := router.FindRoute(req)
		if err != nil {
			t.Fatal(err)
		}
		err = openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}})
		if err != nil {
			t.Errorf("a report with %d photo part(s) does not validate: %v", n, err)
		}
	}
}

// The document route is declared as text: a string body of YAML.
func TestOpenAPIDocumentIsDeclaredText(t *testing.T) {
	t.Parallel()
	resp := openapiDoc.Paths.Value("/v1/openapi.yaml").Get.Responses.Status(200).Value
	mt := resp.Content.Get("application/yaml")
	if mt == nil || mt.Schema == nil || !mt.Schema.Value.Type.Is("string") {
		t.Fatalf("GET /v1/openapi.yaml 200 is not declared a YAML string: %+v", mt)
	}
	if err := mt.Schema.Value.VisitJSON(strings.Repeat("openapi: 3.1.0\n", 2)); err != nil {
		t.Error(err)
	}
}
