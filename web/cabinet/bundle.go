package cabinet

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
)

// The first visit on a slow network pays one round trip per wave of
// requests: the HTML, then its CSS and scripts. To make it one, the served
// index.html carries app.css and the modules the first screen needs
// inline, joined at start-up (no build tool: this file). Each module
// becomes a function scope returning its exports; its static imports of
// the other joined modules become reads of those scopes. The CSP allows
// exactly these two inline blocks by their hashes. Dynamic imports
// (scan.js) stay separate files.
//
// The joiner understands only the forms the cabinet's modules use, and
// fails New() on anything else: `import * as X from './m.js';`,
// `import { a, b } from './m.js';`, and `export` before a top-level
// function, async function, class, const or let.

// inlined are the joined modules in dependency order; the last is the entry.
var inlined = []string{"ui.js", "api.js", "outbox.js", "app.js"}

var (
	importAll   = regexp.MustCompile(`(?m)^import \* as (\w+) from '\./([\w]+)\.js';$`)
	importNamed = regexp.MustCompile(`(?m)^import \{([\w\s,]+)\} from '\./([\w]+)\.js';$`)
	exportDecl  = regexp.MustCompile(`(?m)^export (?:async function|function|class|const|let) (\w+)`)
	exportStrip = regexp.MustCompile(`(?m)^export ((?:async function|function|class|const|let) )`)
	anyImport   = regexp.MustCompile(`(?m)^\s*(import|export)\b`)
)

const (
	cssTag    = `<link rel="stylesheet" href="app.css">`
	scriptTag = `<script type="module" src="app.js"></script>`
	preloads  = `(?m)^<link rel="modulepreload" href="[\w]+\.js">\n`
)

// bundle joins the modules of files into one script.
func bundle(files map[string][]byte) (string, error) {
	var b strings.Builder
	for i, name := range inlined {
		src, ok := files[name]
		if !ok {
			return "", fmt.Errorf("cabinet: %s to inline is missing", name)
		}
		s := string(src)
		s = importAll.ReplaceAllString(s, "const $1 = __m_$2;")
		s = importNamed.ReplaceAllString(s, "const {$1} = __m_$2;")
		var names []string
		for _, m := range exportDecl.FindAllStringSubmatch(s, -1) {
			names = append(names, m[1])
		}
		s = exportStrip.ReplaceAllString(s, "$1")
		if m := anyImport.FindString(s); m != "" {
			return "", fmt.Errorf("cabinet: %s has an import or export form the joiner does not know: %q", name, strings.TrimSpace(m))
		}
		if i == len(inlined)-1 {
			fmt.Fprintf(&b, "// %s\n{\n%s\n}\n", name, s)
			continue
		}
		fmt.Fprintf(&b, "// %s\nconst __m_%s = (() => {\n%s\nreturn { %s };\n})();\n", name, strings.TrimSuffix(name, ".js"), s, strings.Join(names, ", "))
	}
	return b.String(), nil
}

// inlineShell returns index.html with app.css and the joined modules
// inline, and the CSP that allows them.
func inlineShell(index string, files map[string][]byte) (string, string, error) {
	js, err := bundle(files)
	if err != nil {
		return "", "", err
	}
	css := string(files["app.css"])
	if !strings.Contains(index, cssTag) || !strings.Contains(index, scriptTag) {
		return "", "", fmt.Errorf("cabinet: index.html lacks %s or %s", cssTag, scriptTag)
	}
	if strings.Contains(js, "</script") || strings.Contains(css, "</style") {
		return "", "", fmt.Errorf("cabinet: a closing tag inside the inlined code")
	}
	index = regexp.MustCompile(preloads).ReplaceAllString(index, "")
	index = strings.Replace(index, cssTag, "<style>"+css+"</style>", 1)
	index = strings.Replace(index, scriptTag, `<script type="module">`+js+"</script>", 1)
	hash := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	csp := strings.Replace(CSP, "script-src 'self'", "script-src 'self' "+hash(js), 1)
	csp = strings.Replace(csp, "style-src 'self'", "style-src 'self' "+hash(css), 1)
	return index, csp, nil
}
