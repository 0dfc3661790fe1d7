package ofdsim

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/loyaltyjam/loyaltyjam/internal/money"
)

// proverkacheka answer texts, as clients in the wild quote them.
const (
	pcInvalid    = "Чек некорректен"
	pcNotYet     = "Данные чека пока не получены"
	pcTooMany    = "Превышено количество обращений по чеку."
	pcWait       = "Ожидание перед повторным запросом"
	pcNoData     = "Данные не получены"
	pcBadRequest = "Не указаны или некорректны реквизиты чека"
)

// handleProverkacheka serves POST /api/v1/check/get in form, multipart or
// JSON encoding. Answers are HTTP 200 with an application code, except
// server_error (HTTP 502 with an nginx page) and an unknown token (403).
func (s *Server) handleProverkacheka(w http.ResponseWriter, r *http.Request) {
	s.count("proverkacheka")
	in, err := readProverkachekaRequest(r)
	if err != nil {
		pcWrite(w, 0, pcBadRequest, nil)
		return
	}
	tok := in["token"]
	if tok == "" || (len(s.cfg.Tokens) > 0 && !slices.Contains(s.cfg.Tokens, tok)) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, "Access denied: invalid token")
		return
	}
	var (
		qr q
		ok bool
	)
	if raw := in["qrraw"]; raw != "" {
		qr, ok = parseQR(raw)
	} else {
		qr, ok = fields(in["fn"], in["fd"], in["fp"], in["n"], in["t"], in["s"])
	}
	echo := requestEcho(in, qr, ok)
	if !ok {
		pcWrite(w, 0, pcBadRequest, echo)
		return
	}
	o := s.resolve(qr, true, "pc:"+tok)
	sleep(r.Context(), o.delay)
	switch o.kind {
	case "ok":
		data := kvOf("json", receiptJSON(o.receipt, styleProverkacheka), "html", receiptHTML(o.receipt))
		first := 0
		if o.first {
			first = 1
		}
		writeJSON(w, http.StatusOK, kvOf("code", 1, "first", first, "data", data, "request", echo))
	case "wait":
		pcWrite(w, 4, pcWait, echo)
	case "pending":
		pcWrite(w, 2, pcNotYet, echo)
	case "invalid", "not_found":
		pcWrite(w, 0, pcInvalid, echo)
	case "autonomous":
		pcWrite(w, 5, pcNoData, echo)
	case "rate_limited":
		pcWrite(w, 3, pcTooMany, echo)
	case "server_error":
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprint(w, "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
	case "malformed":
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"code":1,"first":0,"data":{"json":{"code":3,"user":"ООО \"Ро`)
	}
}

func kvOf(pairs ...any) kv {
	var o kv
	for i := 0; i+1 < len(pairs); i += 2 {
		o.add(pairs[i].(string), pairs[i+1])
	}
	return o
}

func pcWrite(w http.ResponseWriter, code int, msg string, echo any) {
	if echo == nil {
		echo = map[string]any{}
	}
	writeJSON(w, http.StatusOK, kvOf("code", code, "data", msg, "request", echo))
}

// requestEcho mirrors the request like the service does: qrraw rebuilt with
// a lower-case "t" separator and a "manual" block.
func requestEcho(in map[string]string, qr q, ok bool) kv {
	raw := in["qrraw"]
	manual := kvOf("fn", in["fn"], "fd", in["fd"], "fp", in["fp"], "check_time", in["t"], "type", in["n"], "sum", in["s"])
	if ok {
		t := strings.ToLower(qr.Time.Format("20060102T1504"))
		sum := ""
		if qr.HasSum {
			sum = money.Kopecks(qr.Sum).String()
		}
		if raw != "" {
			raw = fmt.Sprintf("t=%s&s=%s&fn=%s&i=%d&fp=%d&n=%d", t, sum, qr.FN, qr.FD, qr.FP, qr.Operation)
		}
		manual = kvOf("fn", qr.FN, "fd", strconv.FormatUint(qr.FD, 10), "fp", strconv.FormatUint(qr.FP, 10),
			"check_time", t, "type", strconv.Itoa(qr.Operation), "sum", strings.TrimSuffix(sum, ".00"))
	}
	return kvOf("qrurl", "", "qrfile", "", "qrraw", raw, "manual", manual)
}

// readProverkachekaRequest accepts form, multipart and JSON bodies.
func readProverkachekaRequest(r *http.Request) (map[string]string, error) {
	r.Body = http.MaxBytesReader(nil, r.Body, 1<<20)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	out := map[string]string{}
	switch mt {
	case "application/json":
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			return nil, err
		}
		for k, v := range m {
			switch v := v.(type) {
			case string:
				out[strings.ToLower(k)] = strings.TrimSpace(v)
			case float64:
				out[strings.ToLower(k)] = strconv.FormatFloat(v, 'f', -1, 64)
			}
		}
		return out, nil
	case "multipart/form-data":
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			return nil, err
		}
	default:
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
	}
	for k, v := range r.PostForm {
		if len(v) > 0 {
			out[strings.ToLower(k)] = strings.TrimSpace(v[0])
		}
	}
	return out, nil
}
