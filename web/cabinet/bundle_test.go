package cabinet

import (
	"crypto/sha256"
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
)

// The served index.html carries app.css and the joined modules inline,
// and its CSP allows exactly those two blocks by hash.
func TestInlineShellMatchesCSP(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	html := string(s.files["index.html"].body)
	js := regexp.MustCompile(`(?s)<script type="module">(.*?)</script>`).FindStringSubmatch(html)
	css := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(html)
	if js == nil || css == nil {
		t.Fatal("index.html has no inline module or style")
	}
	for _, block := range []string{js[1], css[1]} {
		sum := sha256.Sum256([]byte(block))
		if h := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(s.csp, h) {
			t.Errorf("CSP %q lacks %s", s.csp, h)
		}
	}
	if strings.Contains(html, `src="app.js"`) || strings.Contains(html, "modulepreload") || strings.Contains(js[1], "\nimport ") || strings.Contains(js[1], "\nexport ") {
		t.Error("index.html still loads the modules or keeps import/export lines")
	}
	for _, want := range []string{"const __m_ui = ", "const __m_api = ", "const __m_outbox = ", "const API = __m_api;", "import('./scan.js')"} {
		if !strings.Contains(js[1], want) {
			t.Errorf("joined script lacks %q", want)
		}
	}
}

// An import form the joiner does not know stops start-up instead of
// shipping a broken page.
func TestBundleRefusesUnknownForms(t *testing.T) {
	base := map[string][]byte{"ui.js": []byte("export const a = 1;\n"), "api.js": []byte("export function b() {}\n"),
		"outbox.js": []byte("import { b } from './api.js';\nexport let c = 2;\n"), "app.js": []byte("import * as UI from './ui.js';\nUI.a;\n")}
	if _, err := bundle(base); err != nil {
		t.Fatalf("known forms: %v", err)
	}
	for name, src := range map[string]string{
		"app.js":    "import x from './ui.js';\n",
		"ui.js":     "export default 1;\n",
		"api.js":    "export { b };\n",
		"outbox.js": "import './api.js';\n",
	} {
		bad := map[string][]byte{}
		for k, v := range base {
			bad[k] = v
		}
		bad[name] = []byte(src)
		if _, err := bundle(bad); err == nil {
			t.Errorf("%s with %q was joined", name, strings.TrimSpace(src))
		}
	}
}
