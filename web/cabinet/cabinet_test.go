package cabinet_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/web/cabinet"
)

func newApp(t *testing.T) (*fiber.App, *cabinet.Site) {
	t.Helper()
	s, err := cabinet.New()
	if err != nil {
		t.Fatal(err)
	}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	s.Register(app)
	return app, s
}

func get(t *testing.T, app *fiber.App, path string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// The shell is gzipped when asked, revalidated by ETag, locked to this
// origin by its CSP, and carries the file set's version.
func TestServesShell(t *testing.T) {
	app, s := newApp(t)
	resp, body := get(t, app, "/app/", map[string]string{"Accept-Encoding": "gzip, br"})
	if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("GET /app/: %d, encoding %q", resp.StatusCode, resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(zr)
	if !bytes.Contains(html, []byte(`data-version="`+s.Version()+`"`)) || !bytes.Contains(html, []byte(`lang="ru"`)) {
		t.Errorf("index.html lacks the version %s or lang=ru", s.Version())
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "connect-src 'self'") {
		t.Errorf("CSP %q does not keep the app to its own origin", csp)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("Cache-Control %q, want no-cache", cc)
	}
	etag := resp.Header.Get("ETag")
	resp, _ = get(t, app, "/app/", map[string]string{"If-None-Match": etag})
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation with the ETag: %d, want 304", resp.StatusCode)
	}
	resp, plain := get(t, app, "/app/index.html", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "" || !bytes.Equal(plain, html) {
		t.Errorf("identity-encoded index.html differs from the gzipped one (status %d)", resp.StatusCode)
	}
	resp, sw := get(t, app, "/app/sw.js", nil)
	if resp.StatusCode != 200 || !bytes.Contains(sw, []byte(`'`+s.Version()+`'`)) || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
		t.Errorf("sw.js: %d %q, version substituted: %v", resp.StatusCode, resp.Header.Get("Content-Type"), bytes.Contains(sw, []byte(s.Version())))
	}
	for _, p := range []string{"/app/nope.js", "/app/../go.mod", "/app/static/app.js"} {
		if resp, _ := get(t, app, p, nil); resp.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", p, resp.StatusCode)
		}
	}
	if resp, _ := get(t, app, "/app", nil); resp.StatusCode != 301 || resp.Header.Get("Location") != "/app/" {
		t.Errorf("GET /app: %d → %q, want 301 to /app/", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// firstLoad are the files a first visit needs up to the scan screen:
// index.html carries the CSS and the main modules inline (bundle.go);
// scan.js comes with the scan screen; the QR decoder worker and jsQR
// load only when a photo is decoded.
var firstLoad = []string{"index.html", "scan.js", "manifest.webmanifest", "icon.svg"}

// The budget: under 200 KB of JS+CSS compressed on first load.
func TestFirstLoadBudget(t *testing.T) {
	_, s := newApp(t)
	total := 0
	for _, n := range firstLoad {
		sz := s.GzipSize(n)
		if sz < 0 {
			t.Fatalf("%s is not served", n)
		}
		total += sz
	}
	t.Logf("first load: %d bytes gzipped over %d files; jsQR (lazy) %d", total, len(firstLoad), s.GzipSize("vendor/jsqr/jsQR.js"))
	if total > 200_000 {
		t.Errorf("first load is %d bytes compressed, over the 200 KB budget", total)
	}
}

// Every file the service worker precaches is served, and every file the
// app references by URL is precached: a missing one would break offline starts.
func TestServiceWorkerShellIsComplete(t *testing.T) {
	app, s := newApp(t)
	_, sw := get(t, app, "/app/sw.js", nil)
	m := regexp.MustCompile(`(?s)const SHELL = \[(.*?)\];`).FindSubmatch(sw)
	if m == nil {
		t.Fatal("no SHELL list in sw.js")
	}
	shell := map[string]bool{}
	for _, q := range regexp.MustCompile(`'([^']+)'`).FindAllSubmatch(m[1], -1) {
		name := string(q[1])
		shell[name] = true
		if name == "./" {
			continue
		}
		if s.GzipSize(name) < 0 {
			t.Errorf("sw.js precaches %s, which is not served", name)
		}
	}
	for _, n := range s.Names() {
		if strings.HasSuffix(n, ".md") || n == "sw.js" || strings.HasSuffix(n, "LICENSE") {
			continue
		}
		if !shell[n] {
			t.Errorf("%s is served but not in the service worker's shell", n)
		}
	}
}

// The vendored decoder is npm's jsqr 1.4.0 dist/jsQR.js byte for byte,
// with its licence beside it.
func TestVendoredDecoderUnchanged(t *testing.T) {
	b, err := os.ReadFile("static/vendor/jsqr/jsQR.js")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != "bc40c8a15196236b2314db0856f72ca0b49980cd5413b8c852a7349f5fee0859" {
		t.Errorf("jsQR.js sha256 %s: not the vendored release (update SOURCE.md and this test when upgrading)", got)
	}
	if l, err := os.ReadFile("static/vendor/jsqr/LICENSE"); err != nil || !bytes.Contains(l, []byte("Apache License")) {
		t.Errorf("jsQR's LICENSE missing: %v", err)
	}
}
