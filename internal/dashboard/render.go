package dashboard

import (
	"bytes"
	"fmt"
	"html/template"
	"net/url"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/kpi"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/report"
)

// pageNames are the templates besides the layout.
var pageNames = []string{"login", "error", "overview", "sales", "receipts", "receipt", "moderation", "unmatched",
	"participants", "participant", "settings", "tax"}

var statusNames = map[string]string{
	"received": "получен", "decoded": "распознан", "queued": "в очереди", "verifying": "проверяется",
	"pending_ofd": "ждёт ФНС", "verified": "подтверждён ФНС", "matched": "сопоставлен", "credited": "начислено",
	"no_eligible_items": "нет товаров программы", "unreadable": "не распознан", "duplicate": "дубликат",
	"rejected": "отклонён", "needs_review": "на модерации", "sales": "продажи (начислено + нет товаров)",
}

// Statuses in the order filters and outcome tables list them.
var statusOrder = []string{"credited", "no_eligible_items", "needs_review", "rejected", "duplicate", "unreadable",
	"pending_ofd", "received", "decoded", "queued", "verifying", "verified", "matched"}

var roleNames = map[string]string{"seller": "продавец", "sales_rep": "торговый представитель",
	"merchandiser": "мерчендайзер", "dealer": "дилер", "manager": "управляющий",
	"client_manager": "менеджер клиента", "moderator": "модератор", "operator": "оператор платформы",
	"analyst": "аналитик (только чтение)", "tax_officer": "налоговый специалист"}

var matchNames = map[string]string{"gtin": "по GTIN (код маркировки)", "alias": "по подтверждённому названию",
	"name": "по нормализованному названию", "none": "не сопоставлено", "": "—"}

var funcs = template.FuncMap{
	"roubles": kpi.Roubles, "points": kpi.Points, "units": kpi.Units, "int": kpi.Int, "pct": kpi.Percent,
	"status": func(s string) string {
		if n, ok := statusNames[s]; ok {
			return n
		}
		return s
	},
	"reason": receipt.Message,
	"role": func(s string) string {
		if n, ok := roleNames[s]; ok {
			return n
		}
		return s
	},
	"match": func(s string) string { return matchNames[s] },
	// date is a calendar date (a period bound, a purchase day, a
	// program's dates): shown as it is, never moved between zones.
	"date": func(t time.Time) string { return t.Format("02.01.2006") },
	// wall is a purchase time: the shop's wall clock printed on the
	// receipt, with no zone, shown as it is.
	"wall":   func(t time.Time) string { return t.Format("02.01.2006 15:04") },
	"iso":    func(t time.Time) string { return t.Format(time.DateOnly) },
	"change": change,
	"idstr":  func(n int64) string { return strconv.FormatInt(n, 10) },
	"kpiDef": func(key string) kpi.Def {
		for _, d := range kpi.Overview {
			if d.Key == key {
				return d
			}
		}
		return kpi.Def{}
	},
	"deref": func(p *int64) int64 {
		if p == nil {
			return 0
		}
		return *p
	},
	"weight": func(bp int64) string { return fmt.Sprintf("%d.%04d", bp/10000, bp%10000) },
	"raw":    func(b []byte) string { return string(b) },
	"q": func(kv ...string) template.URL {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] != "" {
				v.Set(kv[i], kv[i+1])
			}
		}
		return template.URL(v.Encode())
	},
	"svg":   func(s string) template.HTML { return template.HTML(s) },
	"ratio": kpi.Ratio,
	// periodArgs builds the period chooser's data: the page's period and
	// presets plus the query parameters to keep (name, value pairs).
	"periodArgs": func(d map[string]any, kv ...string) map[string]any {
		keep := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] != "" {
				keep[kv[i]] = kv[i+1]
			}
		}
		return map[string]any{"P": d["Period"], "Presets": d["Presets"], "Keep": keep}
	},
}

// change formats the relative change from prev to cur.
func change(cur, prev int64) string {
	c, ok := kpi.Change(cur, prev)
	if !ok {
		if cur == 0 {
			return "—"
		}
		return "новое"
	}
	if c > 0 {
		return "+" + kpi.Percent(c)
	}
	return kpi.Percent(c)
}

// zoneFuncs are the template functions that show instants (uploads,
// events, ledger movements, sign-ins, task and registry times) in loc, the
// program's zone, and name it.
func zoneFuncs(loc *time.Location) template.FuncMap {
	at := func(t time.Time) string { return t.In(loc).Format("02.01.2006 15:04") }
	opt := func(t *time.Time) string {
		if t == nil {
			return "—"
		}
		return at(*t)
	}
	return template.FuncMap{
		"datetime": at, "optdatetime": opt, "msk": at, "optmsk": opt,
		"localdate": func(t time.Time) string { return t.In(loc).Format("02.01.2006") },
		"zone":      func() string { return zoneName(loc) },
	}
}

// zoneName names loc for a reader: «МСК» for Moscow, else the IANA name
// with its offset now.
func zoneName(loc *time.Location) string {
	if loc.String() == "Europe/Moscow" {
		return "МСК"
	}
	_, off := time.Now().In(loc).Zone()
	sign := "+"
	if off < 0 {
		sign, off = "-", -off
	}
	return fmt.Sprintf("%s, UTC%s%d:%02d", loc.String(), sign, off/3600, off%3600/60)
}

// parseTemplates parses every page with its times shown in loc.
func parseTemplates(loc *time.Location) map[string]*template.Template {
	layout := template.Must(template.New("layout.html").Funcs(funcs).Funcs(taskFuncs).Funcs(zoneFuncs(loc)).
		ParseFS(templateFS, "templates/layout.html"))
	out := map[string]*template.Template{}
	for _, n := range pageNames {
		out[n] = template.Must(template.Must(layout.Clone()).ParseFS(templateFS, "templates/"+n+".html"))
	}
	for _, n := range extraPages {
		files := []string{"templates/" + n + ".html"}
		if n == "tasks_queue" || n == "tasks_submission" {
			files = append(files, "templates/tasks_card.html")
		}
		out[n] = template.Must(template.Must(layout.Clone()).ParseFS(templateFS, files...))
	}
	return out
}

// defaultZone is the zone of pages without a program (sign-in, errors):
// clients.timezone's default.
var defaultZone = func() *time.Location {
	l, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		panic(err)
	}
	return l
}()

// templates returns the pages parsed for loc, parsing them on first use:
// a time zone's functions are bound when a template is parsed, and the
// clients' zones are few.
func (s *Server) templates(loc *time.Location) map[string]*template.Template {
	s.pagesMu.Lock()
	defer s.pagesMu.Unlock()
	t, ok := s.pages[loc.String()]
	if !ok {
		t = parseTemplates(loc)
		s.pages[loc.String()] = t
	}
	return t
}

// render executes page with data plus the common fields: the session, the
// current program and the programs to choose from, the CSRF token.
func (s *Server) render(c *fiber.Ctx, page string, data map[string]any) error {
	if ss, ok := c.Locals(ctxSession).(report.Session); ok {
		data["Session"] = ss
		data["CSRF"] = ss.CSRFToken
		data["RoleName"] = roleNames[string(ss.User.Role)]
		if _, ok := data["Programs"]; !ok {
			ps, err := s.store.Programs(c.UserContext(), ss.User.Staff())
			if err == nil {
				data["Programs"] = ps
			}
		}
	}
	loc := defaultZone
	if p, ok := c.Locals(ctxProgram).(report.Program); ok {
		data["Program"] = p
		data["Base"] = fmt.Sprintf("%s/p/%d", Prefix, p.ID)
		if _, ok := c.Locals(ctxSession).(report.Session); ok {
			data["BudgetAlerts"] = s.budgetBanner(c, p)
		}
		if p.Location != nil {
			loc = p.Location
		}
	}
	if l, ok := c.Locals(ctxZone).(*time.Location); ok && l != nil {
		loc = l
	}
	data["Page"] = page
	var buf bytes.Buffer
	if err := s.templates(loc)[page].ExecuteTemplate(&buf, "layout", data); err != nil {
		s.o.Logger.ErrorContext(c.UserContext(), "render dashboard page", "page", page, "err", err)
		c.Status(fiber.StatusInternalServerError)
		return c.SendString("Внутренняя ошибка.")
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Send(buf.Bytes())
}
