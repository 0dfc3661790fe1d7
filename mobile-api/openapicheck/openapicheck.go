// Package openapicheck compares the routes a Fiber app serves with the
// operations an OpenAPI document describes, so a test can fail when the
// participant API and mobile-api/openapi.yaml drift apart.
package openapicheck

import (
	"regexp"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gofiber/fiber/v2"
)

var fiberParam = regexp.MustCompile(`:([A-Za-z_][A-Za-z0-9_]*)`)

// Path turns a Fiber route path into the document's form:
// /v1/tasks/:id/take → /v1/tasks/{id}/take; a group's trailing slash
// (/v1/tasks/) goes, as Fiber serves both forms.
func Path(fiberPath string) string {
	p := fiberParam.ReplaceAllString(fiberPath, "{$1}")
	if len(p) > 1 {
		p = strings.TrimSuffix(p, "/")
	}
	return p
}

// Served returns every route of app as "METHOD /path" in the document's
// form.
func Served(app *fiber.App) map[string]bool {
	served := map[string]bool{}
	for _, r := range app.GetRoutes(true) {
		served[r.Method+" "+Path(r.Path)] = true
	}
	return served
}

// Undocumented returns the routes under prefix (e.g. "/v1/") that app
// serves and doc lacks, as sorted "METHOD /path". HEAD routes are Fiber's
// automatic twins of GET.
func Undocumented(app *fiber.App, doc *openapi3.T, prefix string) []string {
	var missing []string
	seen := map[string]bool{}
	for _, r := range app.GetRoutes(true) {
		if !strings.HasPrefix(r.Path, prefix) || r.Method == fiber.MethodHead || r.Method == "USE" {
			continue
		}
		path := Path(r.Path)
		key := r.Method + " " + path
		if seen[key] {
			continue
		}
		seen[key] = true
		item := doc.Paths.Value(path)
		if item == nil || item.GetOperation(r.Method) == nil {
			missing = append(missing, key)
		}
	}
	sort.Strings(missing)
	return missing
}

// Unserved returns the document's operations that app does not route.
func Unserved(app *fiber.App, doc *openapi3.T) []string {
	served := Served(app)
	var out []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !served[method+" "+path] {
				out = append(out, method+" "+path)
			}
		}
	}
	sort.Strings(out)
	return out
}
