// Package cabinet serves the participant's cabinet: a phone web app
// (installable PWA, in Russian) at /app/ over the /v1 API. The app is plain
// ES modules and CSS embedded in the binary, with no build step; this
// package only serves those files: gzipped once at start, with an ETag
// derived from the content, a strict Content-Security-Policy (the app
// makes no request to any other origin) and no-cache revalidation so a
// new binary's files are picked up at once. The service worker (sw.js)
// carries the version of the whole file set, so any change to any file
// makes the browser install a new worker and the app offer the update.
package cabinet

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"path"
	"sort"
	"strings"

	"github.com/gofiber/fiber/v2"
)

//go:embed static
var static embed.FS

// Prefix is where the cabinet is served.
const Prefix = "/app/"

// versionMark in sw.js and index.html is replaced with the file set's version.
const versionMark = "__LJ_VERSION__"

// CSP allows nothing but this origin; blob: and data: images are the
// phone's own photos, previewed before upload. The served index.html adds
// the hashes of its inline style and script (see bundle.go).
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; " +
	"media-src 'self' blob:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; " +
	"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

type asset struct {
	body, gz    []byte
	ctype, etag string
}

// Site is the embedded file set, ready to serve.
type Site struct {
	files   map[string]*asset
	version string
	csp     string
}

// New loads and compresses the embedded files.
func New() (*Site, error) { return newSite("") }

// newSite is New with salt mixed into the version (tests of the update
// path serve two versions of the same files).
func newSite(salt string) (*Site, error) {
	raw := map[string][]byte{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		raw[strings.TrimPrefix(p, "static/")] = b
		return nil
	})
	if err != nil {
		return nil, err
	}
	if raw["index.html"] == nil || raw["sw.js"] == nil {
		return nil, fmt.Errorf("cabinet: index.html or sw.js missing from the embedded files")
	}
	names := make([]string, 0, len(raw))
	for n := range raw {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	h.Write([]byte(salt))
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(raw[n]))
		h.Write(raw[n])
	}
	s := &Site{files: map[string]*asset{}, version: hex.EncodeToString(h.Sum(nil))[:12]}
	body := map[string][]byte{}
	for _, n := range names {
		body[n] = bytes.ReplaceAll(raw[n], []byte(versionMark), []byte(s.version))
	}
	index, csp, err := inlineShell(string(body["index.html"]), body)
	if err != nil {
		return nil, err
	}
	body["index.html"], s.csp = []byte(index), csp
	for _, n := range names {
		b := body[n]
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		if _, err := zw.Write(b); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		s.files[n] = &asset{body: b, gz: gz.Bytes(), ctype: contentType(n), etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	return s, nil
}

// Version identifies the file set (it changes whenever any file does).
func (s *Site) Version() string { return s.version }

// GzipSize is the compressed size of one file, for budgets; -1 when absent.
func (s *Site) GzipSize(name string) int {
	if a := s.files[name]; a != nil {
		return len(a.gz)
	}
	return -1
}

// Names lists the served files.
func (s *Site) Names() []string {
	out := make([]string, 0, len(s.files))
	for n := range s.files {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func contentType(n string) string {
	switch path.Ext(n) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".webmanifest":
		return "application/manifest+json"
	case ".md":
		return "text/plain; charset=utf-8"
	case "":
		return "text/plain; charset=utf-8"
	}
	if t := mime.TypeByExtension(path.Ext(n)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// Register mounts the cabinet on app: /app redirects to /app/, /app/
// is the shell (index.html), /app/<file> the embedded files; anything
// else under /app/ is 404.
func (s *Site) Register(app *fiber.App) {
	app.Get("/app", func(c *fiber.Ctx) error {
		// Without strict routing this route also takes "/app/".
		if c.Path() == "/app" {
			return c.Redirect(Prefix, fiber.StatusMovedPermanently)
		}
		return s.serve(c)
	})
	app.Get(Prefix+"*", s.serve)
	app.Head(Prefix+"*", s.serve)
}

func (s *Site) serve(c *fiber.Ctx) error {
	name := c.Params("*")
	if name == "" {
		name = "index.html"
	}
	a := s.files[name]
	if a == nil || strings.Contains(name, "..") {
		c.Set(fiber.HeaderContentType, "text/plain; charset=utf-8")
		return c.Status(fiber.StatusNotFound).SendString("Не найдено.")
	}
	c.Set(fiber.HeaderContentType, a.ctype)
	c.Set(fiber.HeaderETag, a.etag)
	// Revalidate every time: the service worker is what keeps the shell
	// offline, and a stale sw.js would delay every update.
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set(fiber.HeaderVary, fiber.HeaderAcceptEncoding)
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("Referrer-Policy", "no-referrer")
	if strings.HasSuffix(name, ".html") {
		c.Set("Content-Security-Policy", s.csp)
		c.Set("X-Frame-Options", "DENY")
		c.Set("Permissions-Policy", "camera=(self), geolocation=(self), microphone=()")
	}
	if c.Get(fiber.HeaderIfNoneMatch) == a.etag {
		return c.SendStatus(fiber.StatusNotModified)
	}
	if strings.Contains(c.Get(fiber.HeaderAcceptEncoding), "gzip") {
		c.Set(fiber.HeaderContentEncoding, "gzip")
		return c.Send(a.gz)
	}
	return c.Send(a.body)
}
