package receipt_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
)

// producedReasons reads the code base (every non-test Go file of the
// module) and returns the reason codes it can give a receipt or a line,
// and the match reasons of lines:
//
//   - string constants named Reason…, Cap… or Anomaly… in the packages that
//     decide a receipt's fate (receipt, rules, points, verify) — match reasons from
//     catalog's Reason… constants;
//   - string literals passed as the reason of Receipt.Transition /
//     Receipt.Note / points' transition / verify's markUnreadable;
//   - string literals assigned to a variable named reason or to a
//     StatusReason / PointsReason (MatchReason) field;
//   - string literals returned by verify.RejectReason.
//
// So a new reason written anywhere in one of these forms without a text in
// the table fails TestEveryReasonHasAMessage.
func producedReasons(t *testing.T) (reasons, matchReasons map[string][]string) {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	reasons, matchReasons = map[string][]string{}, map[string][]string{}
	code := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	fset := token.NewFileSet()
	add := func(m map[string][]string, lit ast.Expr, where string) {
		bl, ok := lit.(*ast.BasicLit)
		if !ok || bl.Kind != token.STRING {
			return
		}
		s, err := strconv.Unquote(bl.Value)
		if err != nil || !code.MatchString(s) {
			return
		}
		m[s] = append(m[s], where+":"+strconv.Itoa(fset.Position(bl.Pos()).Line))
	}
	constPkgs := map[string]map[string][]string{"receipt": reasons, "rules": reasons, "points": reasons, "verify": reasons, "catalog": matchReasons}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || strings.HasSuffix(name, "test")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		pkg := filepath.Base(filepath.Dir(path))
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GenDecl:
				m := constPkgs[pkg]
				if n.Tok != token.CONST || m == nil {
					return true
				}
				for _, spec := range n.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, name := range vs.Names {
						if i < len(vs.Values) && (strings.HasPrefix(name.Name, "Reason") || (pkg != "catalog" &&
							(strings.HasPrefix(name.Name, "Cap") || strings.HasPrefix(name.Name, "Anomaly")))) {
							add(m, vs.Values[i], rel)
						}
					}
				}
			case *ast.CallExpr:
				var name string
				switch fn := n.Fun.(type) {
				case *ast.SelectorExpr:
					name = fn.Sel.Name
				case *ast.Ident:
					name = fn.Name
				}
				pos := map[string]int{"Transition/4": 2, "transition/5": 3, "Note/3": 1, "markUnreadable/4": 2}
				if i, ok := pos[name+"/"+strconv.Itoa(len(n.Args))]; ok {
					add(reasons, n.Args[i], rel)
				}
			case *ast.AssignStmt:
				if len(n.Lhs) != len(n.Rhs) {
					return true
				}
				for i, l := range n.Lhs {
					var name string
					switch l := l.(type) {
					case *ast.Ident:
						name = l.Name
					case *ast.SelectorExpr:
						name = l.Sel.Name
					}
					switch name {
					case "reason", "StatusReason", "PointsReason":
						add(reasons, n.Rhs[i], rel)
					case "MatchReason":
						add(matchReasons, n.Rhs[i], rel)
					}
				}
			case *ast.FuncDecl:
				if n.Name.Name != "RejectReason" || n.Body == nil {
					return true
				}
				ast.Inspect(n.Body, func(m ast.Node) bool {
					if r, ok := m.(*ast.ReturnStmt); ok {
						for _, e := range r.Results {
							add(reasons, e, rel)
						}
					}
					return true
				})
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return reasons, matchReasons
}

// Every reason code the code base can produce has its own Russian text: no
// status, list or notification falls back to «Статус чека изменён.».
func TestEveryReasonHasAMessage(t *testing.T) {
	t.Parallel()
	reasons, matchReasons := producedReasons(t)
	// The scan must see the codes of every producer, or it proves nothing.
	for _, c := range []string{"qr_not_found", "duplicate_claim", "ofd_mismatch", "ofd_no_data", "points_capped",
		"program_rules_missing", "outside_program_dates", "cap_shop_day", "anomaly_kkt", "earned", "moderator_approved",
		"uploaded_manual", "photo_missing", "points_pending", "return_reversed"} {
		if _, ok := reasons[c]; !ok {
			t.Errorf("the scan did not find %q: it misses a producer", c)
		}
	}
	for _, c := range []string{"gtin_not_ours", "ambiguous", "sku_unknown"} {
		if _, ok := matchReasons[c]; !ok {
			t.Errorf("the scan did not find match reason %q", c)
		}
	}
	var missing []string
	for c, where := range reasons {
		if !receipt.HasMessage(c) || receipt.Message(c) == "" {
			missing = append(missing, c+" ("+strings.Join(where, ", ")+")")
		}
	}
	for c, where := range matchReasons {
		if !receipt.HasMatchMessage(c) {
			missing = append(missing, "match "+c+" ("+strings.Join(where, ", ")+")")
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("reason without a Russian text in internal/receipt/messages.go: %s", m)
	}
	t.Logf("%d reason codes and %d match reasons checked", len(reasons), len(matchReasons))
}

// The texts are specific: none is the generic fallback, and every status a
// receipt can end in after 202 tells the seller what happened.
func TestMessagesAreSpecific(t *testing.T) {
	t.Parallel()
	generic := receipt.Message("\x00no such code")
	reasons, _ := producedReasons(t)
	for c := range reasons {
		if m := receipt.Message(c); m == generic {
			t.Errorf("%s: generic text %q", c, m)
		}
	}
	for c, want := range map[string]string{
		"qr_not_found":    "Сфотографируйте QR-код ближе",
		"duplicate_claim": "уже загружен",
		"points_capped":   "Лимит баллов",
	} {
		if !strings.Contains(receipt.Message(c), want) {
			t.Errorf("Message(%q) = %q, want it to say %q", c, receipt.Message(c), want)
		}
	}
}
