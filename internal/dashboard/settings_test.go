package dashboard_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/loyaltyjam/loyaltyjam/internal/sheet/sheettest"
)

// postFile posts fields and, when name is set, a file as a browser's
// multipart form does.
func (e *env) postFile(t *testing.T, c *client, path string, fields map[string]string, name, content string) (*http.Response, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if name != "" {
		fw, err := w.CreateFormFile("file", name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(fw, content); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", path, &b)
	req.Header.Set("Content-Type", w.FormDataContentType())
	for k, v := range c.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	resp, err := e.app.Test(req, 30_000)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// importCatalog posts a catalog file to the settings page's import form.
func (e *env) importCatalog(t *testing.T, c *client, path string, content []byte) (*http.Response, string) {
	t.Helper()
	return e.postFile(t, c, path, map[string]string{"_csrf": c.csrf}, "catalog.csv", string(content))
}

// catalogCSV is the program's catalog as the settings page exports it.
func (e *env) catalogCSV(t *testing.T, c *client, pid int64) [][]string {
	t.Helper()
	resp, body := e.do(t, c, "GET", fmt.Sprintf("/dashboard/p/%d/settings/skus/export?format=csv", pid), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("export: %d", resp.StatusCode)
	}
	if !strings.HasPrefix(body, "\ufeff") {
		t.Errorf("catalog export has no BOM")
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\ufeff")))
	r.Comma = ';' // as Russian Excel reads it
	rows, err := r.ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("export is no catalog CSV: %v %q", err, body)
	}
	return rows
}

func column(t *testing.T, rows [][]string, name string) int {
	t.Helper()
	for i, h := range rows[0] {
		if h == name {
			return i
		}
	}
	t.Fatalf("no column %q in %v", name, rows[0])
	return -1
}

// TestSettingsCatalogEditAndImport: a client manager edits a margin weight
// and re-imports an edited export; a broken file, another client's manager
// and a moderator change nothing.
func TestSettingsCatalogEditAndImport(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v, k := e.data.Vetluga, e.data.Krasnodol
	base := fmt.Sprintf("/dashboard/p/%d/settings", v.ProgramID)
	m := e.mustLogin(t, v.ManagerEmail)
	e.do(t, m, "GET", base, nil)

	before := e.catalogCSV(t, m, v.ProgramID)
	wcol := column(t, before, "margin_weight")

	// Edit one weight on the page.
	resp, _ := e.do(t, m, "POST", fmt.Sprintf("%s/skus/%d/weight", base, v.SKUIDs[0]), url.Values{"_csrf": {m.csrf}, "weight": {"2,5"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("set weight: %d", resp.StatusCode)
	}
	edited := e.catalogCSV(t, m, v.ProgramID)
	changed := 0
	for i := 1; i < len(edited); i++ {
		if edited[i][wcol] != before[i][wcol] {
			changed++
			if edited[i][wcol] != "2,50" {
				t.Errorf("edited weight exported as %q", edited[i][wcol])
			}
		}
	}
	if changed != 1 {
		t.Fatalf("%d weights changed by one edit", changed)
	}

	// Re-import the export, as Excel saves it, with every weight set to 1,25.
	for i := 1; i < len(edited); i++ {
		edited[i][wcol] = "1,25"
	}
	var file bytes.Buffer
	file.WriteString("\ufeff")
	w := csv.NewWriter(&file)
	w.Comma = ';'
	_ = w.WriteAll(edited)
	e.do(t, m, "GET", base, nil)
	if resp, body := e.importCatalog(t, m, base+"/skus/import", file.Bytes()); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("import: %d %s", resp.StatusCode, body)
	}
	imported := e.catalogCSV(t, m, v.ProgramID)
	for i := 1; i < len(imported); i++ {
		if imported[i][wcol] != "1,25" {
			t.Fatalf("after import row %d has weight %q", i, imported[i][wcol])
		}
	}

	// What must change nothing.
	e.do(t, m, "GET", base, nil)
	if resp, _ := e.importCatalog(t, m, base+"/skus/import", []byte("sku_id;brand\nx;y\n")); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("broken file: %d, want 400", resp.StatusCode)
	}
	// A decompression bomb (3 MB inflating to 1 GiB) is refused before it
	// is inflated, naming the code.
	e.do(t, m, "GET", base, nil)
	bomb := sheettest.Bomb{Part: "sheet", Inflate: 1 << 30}.XLSX(t)
	if resp, body := e.postFile(t, m, base+"/skus/import", map[string]string{"_csrf": m.csrf}, "catalog.xlsx", string(bomb)); resp.StatusCode != http.StatusRequestEntityTooLarge ||
		!strings.Contains(body, "spreadsheet_too_large") {
		t.Errorf("XLSX bomb: %d, want 413 spreadsheet_too_large", resp.StatusCode)
	}
	other := e.mustLogin(t, k.ManagerEmail)
	e.do(t, other, "GET", fmt.Sprintf("/dashboard/p/%d/settings", k.ProgramID), nil)
	if resp, _ := e.importCatalog(t, other, base+"/skus/import", file.Bytes()); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another client's manager importing: %d, want 404", resp.StatusCode)
	}
	mod := e.mustLogin(t, v.ModeratorMail)
	e.do(t, mod, "GET", base, nil)
	if resp, _ := e.importCatalog(t, mod, base+"/skus/import", file.Bytes()); resp.StatusCode != http.StatusForbidden {
		t.Errorf("moderator importing: %d, want 403", resp.StatusCode)
	}
	if after := e.catalogCSV(t, m, v.ProgramID); fmt.Sprint(after) != fmt.Sprint(imported) {
		t.Errorf("a refused import changed the catalog")
	}
}
