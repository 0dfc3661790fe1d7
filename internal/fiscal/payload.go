package fiscal

import (
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/loyaltyjam/loyaltyjam/internal/money"
)

// Operation types (tag 1054, "признак расчёта").
const (
	OpIncome        = 1 // приход
	OpIncomeReturn  = 2 // возврат прихода
	OpExpense       = 3 // расход
	OpExpenseReturn = 4 // возврат расхода
)

// MaxSumKopecks is the largest sum the FNS Open API accepts (2^48-1 kopecks).
const MaxSumKopecks int64 = 281474976710655

// Payload is a validated fiscal QR payload.
type Payload struct {
	// Time is the local wall-clock time of the settlement, expressed in
	// time.UTC as a "no zone" marker (see the package doc). Seconds are zero
	// when the QR carried none.
	Time time.Time
	// SumKopecks is the receipt total in kopecks. A sum written without a
	// decimal point is read as rubles, per the specification; a verifier that
	// meets a kopeck-encoded integer can compare totalSum against
	// SumKopecks/100 when SumKopecks%100 == 0.
	SumKopecks int64
	// FN is the 16-digit serial number of the fiscal drive (tag 1041).
	FN string
	// FD is the fiscal document number (tag 1040, key "i").
	FD uint32
	// FP is the fiscal sign of the document (tag 1077).
	FP uint32
	// Operation is the settlement type 1..4 (tag 1054, key "n").
	Operation int
	// Raw is the input exactly as received (for FromFields: the canonical
	// form).
	Raw string
}

// Identity identifies one fiscal document: (fn, i, fp). It is comparable and
// can be used as a map key.
type Identity struct {
	FN string
	FD uint32
	FP uint32
}

// Identity returns the dedup key (fn, i, fp) of the payload.
func (p Payload) Identity() Identity {
	return Identity{FN: p.FN, FD: p.FD, FP: p.FP}
}

// Canonical returns the canonical form used for storage, dedup and for
// sending to verification services:
//
//	t=yyyyMMddTHHmm[ss]&s=R.KK&fn=…&i=…&fp=…&n=…
//
// Seconds are written only when non-zero, the separator is an upper-case
// "T", the sum always has two decimals, i and fp have no zero padding.
// Parse(p.Canonical()) yields p (apart from Raw).
func (p Payload) Canonical() string {
	var b strings.Builder
	b.Grow(80)
	b.WriteString("t=")
	b.WriteString(formatTime(p.Time))
	b.WriteString("&s=")
	b.WriteString(money.Kopecks(p.SumKopecks).String())
	b.WriteString("&fn=")
	b.WriteString(p.FN)
	b.WriteString("&i=")
	b.WriteString(strconv.FormatUint(uint64(p.FD), 10))
	b.WriteString("&fp=")
	b.WriteString(strconv.FormatUint(uint64(p.FP), 10))
	b.WriteString("&n=")
	b.WriteString(strconv.Itoa(p.Operation))
	return b.String()
}

func formatTime(t time.Time) string {
	if t.Second() != 0 {
		return t.Format("20060102T150405")
	}
	return t.Format("20060102T1504")
}

// Fields are the requisites of a receipt as typed by a person (manual entry).
type Fields struct {
	T  string // date and time, e.g. "20240301T0915" or "2024-03-01T09:15"
	S  string // total in rubles, "1499.90" (a decimal comma is accepted)
	FN string // fiscal drive number, 16 digits
	I  string // fiscal document number (ФД), may be zero-padded
	FP string // fiscal sign (ФП/ФПД), may be zero-padded
	N  string // operation type 1..4
}

// FromFields validates manually entered requisites the same way Parse
// validates a QR payload and returns the payload; Raw is set to the
// canonical form. Spaces anywhere in a value are ignored and the sum may use
// a decimal comma. Errors are *Error as for Parse.
func FromFields(f Fields) (Payload, error) {
	vals := map[string]string{
		"t": stripSpaces(f.T), "s": stripSpaces(f.S), "fn": stripSpaces(f.FN),
		"i": stripSpaces(f.I), "fp": stripSpaces(f.FP), "n": stripSpaces(f.N),
	}
	for _, k := range fieldOrder {
		if vals[k] == "" {
			delete(vals, k)
		}
	}
	p, err := validate(vals, true)
	if err != nil {
		return Payload{}, err
	}
	p.Raw = p.Canonical()
	return p, nil
}

var fieldOrder = [...]string{"t", "s", "fn", "i", "fp", "n"}

// Parse parses and validates a fiscal QR payload. It returns *Error when the
// text is not a valid fiscal payload; Error.Code is CodeNotFiscalQR for
// other kinds of QR codes (EGAIS, payment QR, OFD receipt links).
func Parse(raw string) (Payload, error) {
	s := raw
	s = strings.TrimPrefix(strings.TrimSpace(s), "\ufeff")
	s = strings.TrimSpace(s)
	if s == "" {
		return Payload{}, newError("", CodeNotFiscalQR, "empty text")
	}
	if !strings.Contains(s, "=") && containsFold(s, "%3d") {
		if u, err := url.QueryUnescape(s); err == nil {
			s = strings.TrimSpace(u)
		}
	}
	s = replaceFold(s, "&amp;", "&")

	if kind := foreignKind(s); kind != "" {
		return Payload{}, newError("", CodeNotFiscalQR, kind)
	}
	if hasSchemePrefix(s) {
		q := strings.IndexByte(s, '?')
		if q < 0 {
			return Payload{}, newError("", CodeNotFiscalQR, "a link without fiscal data")
		}
		s = s[q+1:]
		if h := strings.IndexByte(s, '#'); h >= 0 {
			s = s[:h]
		}
		s = nestedPayload(s)
	}
	// A copy where only the separators are encoded ("t=…%26s=…%26fn=…"):
	// with no raw '&' a '%26' cannot be part of a value (no fiscal value
	// holds '&'), so it is the separator.
	if !strings.Contains(s, "&") && containsFold(s, "%26") {
		s = replaceFold(s, "%26", "&")
	}

	vals := make(map[string]string, 6)
	known := 0
	for _, part := range strings.Split(s, "&") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k = strings.ToLower(strings.TrimSpace(unescape(k)))
		v = stripSpaces(unescape(v))
		if k == "fd" {
			k = "i"
		}
		if !isField(k) {
			continue // unknown keys are ignored, the raw string is kept
		}
		known++
		if old, dup := vals[k]; dup && old != v {
			return Payload{}, newError(k, CodeAmbiguousField, "the key occurs twice with different values")
		}
		vals[k] = v
	}
	if known == 0 {
		return Payload{}, newError("", CodeNotFiscalQR, "no fiscal keys")
	}
	p, err := validate(vals, false)
	if err != nil {
		return Payload{}, err
	}
	p.Raw = raw
	return p, nil
}

// nestedPayload returns the fiscal payload carried URL-encoded in one
// parameter of a link's query, as in the CloudPayments receipt link
// "https://qr.cloudpayments.ru/receipt?q=t%3D…%26s%3D…", or query itself when
// its own keys are the fiscal ones (or no parameter carries a payload). Only
// one level is unwrapped, so the work stays linear in the input.
func nestedPayload(query string) string {
	for _, part := range strings.Split(query, "&") {
		k, _, _ := strings.Cut(part, "=")
		if k = strings.ToLower(strings.TrimSpace(unescape(k))); isField(k) || k == "fd" {
			return query
		}
	}
	for _, part := range strings.Split(query, "&") {
		_, v, ok := strings.Cut(part, "=")
		if !ok || !containsFold(v, "%3d") {
			continue
		}
		u, err := url.QueryUnescape(v)
		if err != nil {
			continue
		}
		if containsFold(u, "fn=") {
			return strings.TrimSpace(u)
		}
	}
	return query
}

func isField(k string) bool {
	for _, f := range fieldOrder {
		if f == k {
			return true
		}
	}
	return false
}

// unescape decodes %XX escapes and '+' the way a query string does; on a
// malformed escape the text is kept as is (the validator then rejects it if
// it matters).
func unescape(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// foreignKind recognises QR codes of other kinds that are found on or near
// receipts, returning a short description, or "" if it is none of them.
func foreignKind(s string) string {
	switch {
	case strings.HasPrefix(s, "ST0001"):
		return "a payment QR (ST0001x)"
	case containsFold(s, "egais.ru"):
		return "an EGAIS (alcohol) QR"
	}
	if hasSchemePrefix(s) {
		u, err := url.Parse(s)
		if err == nil {
			host := strings.ToLower(u.Hostname())
			if strings.Contains(host, "ofd") && !strings.Contains(u.RawQuery, "fn=") {
				return "an OFD receipt link"
			}
		}
	}
	return ""
}

func hasSchemePrefix(s string) bool {
	return len(s) >= 7 && strings.EqualFold(s[:7], "http://") ||
		len(s) >= 8 && strings.EqualFold(s[:8], "https://")
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), sub)
}

// replaceFold replaces every case-insensitive occurrence of old (ASCII) in s.
func replaceFold(s, old, repl string) string {
	lower := strings.ToLower(s)
	if !strings.Contains(lower, old) || len(lower) != len(s) {
		return strings.ReplaceAll(s, old, repl)
	}
	var b strings.Builder
	for {
		i := strings.Index(lower, old)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString(repl)
		s, lower = s[i+len(old):], lower[i+len(old):]
	}
}

func stripSpaces(s string) string {
	if !strings.ContainsFunc(s, isSpace) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isSpace(r) {
			return -1
		}
		return r
	}, s)
}

func isSpace(r rune) bool { return unicode.IsSpace(r) || r == '\ufeff' }

// validate checks the fields in canonical order and reports the first
// problem. manual enables the leniencies allowed for typed input only.
func validate(vals map[string]string, manual bool) (Payload, error) {
	for _, k := range fieldOrder {
		if _, ok := vals[k]; !ok {
			return Payload{}, newError(k, CodeMissingField, "the key is missing")
		}
	}
	var p Payload
	var err error
	if p.Time, err = parseTime(vals["t"]); err != nil {
		return Payload{}, err
	}
	if p.SumKopecks, err = parseSum(vals["s"], manual); err != nil {
		return Payload{}, err
	}
	fn := vals["fn"]
	if len(fn) != 16 || !allDigits(fn) {
		return Payload{}, newError("fn", CodeBadFN, "must be exactly 16 digits")
	}
	p.FN = fn
	if p.FD, err = parseUint32("i", vals["i"], CodeBadFD); err != nil {
		return Payload{}, err
	}
	if p.FP, err = parseUint32("fp", vals["fp"], CodeBadFP); err != nil {
		return Payload{}, err
	}
	n := vals["n"]
	if len(n) != 1 || n[0] < '1' || n[0] > '4' {
		return Payload{}, newError("n", CodeBadOperationType, "must be 1, 2, 3 or 4")
	}
	p.Operation = int(n[0] - '0')
	return p, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func parseUint32(field, s, code string) (uint32, error) {
	if len(s) > 10 || !allDigits(s) {
		return 0, newError(field, code, "must be 1 to 10 digits")
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v == 0 || v > 4294967295 {
		return 0, newError(field, code, "must be between 1 and 4294967295")
	}
	return uint32(v), nil
}

// parseTime accepts yyyyMMddTHHmm[ss] with 'T' or 't', and the dashed ISO
// forms yyyy-MM-ddTHH:mm[:ss].
func parseTime(s string) (time.Time, error) {
	bad := func(why string) (time.Time, error) {
		return time.Time{}, newError("t", CodeBadTime, why)
	}
	if !utf8.ValidString(s) {
		return bad("not a date and time")
	}
	var date, clock string
	switch {
	case len(s) >= 9 && (s[8] == 'T' || s[8] == 't'):
		date, clock = s[:8], s[9:]
		if len(clock) != 4 && len(clock) != 6 {
			return bad("expected yyyyMMddTHHmm or yyyyMMddTHHmmss")
		}
	case len(s) >= 11 && (s[10] == 'T' || s[10] == 't') && s[4] == '-' && s[7] == '-':
		date = s[:4] + s[5:7] + s[8:10]
		c := s[11:]
		switch {
		case len(c) == 5 && c[2] == ':':
			clock = c[:2] + c[3:5]
		case len(c) == 8 && c[2] == ':' && c[5] == ':':
			clock = c[:2] + c[3:5] + c[6:8]
		default:
			return bad("expected yyyy-MM-ddTHH:mm or yyyy-MM-ddTHH:mm:ss")
		}
	default:
		return bad("expected yyyyMMddTHHmm or yyyyMMddTHHmmss")
	}
	if !allDigits(date) || !allDigits(clock) {
		return bad("not a date and time")
	}
	num := func(d string) int { v, _ := strconv.Atoi(d); return v }
	y, mo, d := num(date[:4]), num(date[4:6]), num(date[6:8])
	h, mi, sec := num(clock[:2]), num(clock[2:4]), 0
	if len(clock) == 6 {
		sec = num(clock[4:6])
	}
	if y < 2000 || y > 2099 {
		return bad("the year is out of range")
	}
	if h > 23 || mi > 59 || sec > 59 {
		return bad("impossible time of day")
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC)
	if mo < 1 || mo > 12 || t.Day() != d || int(t.Month()) != mo {
		return bad("impossible date")
	}
	return t, nil
}

// parseSum reads rubles with up to two decimals into kopecks using integer
// arithmetic only.
func parseSum(s string, manual bool) (int64, error) {
	bad := func(why string) (int64, error) {
		return 0, newError("s", CodeBadSum, why)
	}
	if manual {
		s = strings.Replace(s, ",", ".", 1)
	}
	if strings.HasPrefix(s, "-") {
		return bad("must not be negative")
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if !allDigits(intPart) || hasDot && (frac == "" || !allDigits(frac)) {
		return bad("not a number of rubles")
	}
	if len(frac) > 2 {
		return bad("more than two decimals")
	}
	intPart = strings.TrimLeft(intPart, "0")
	if len(intPart) > 13 {
		return bad("too large")
	}
	var rub int64
	if intPart != "" {
		rub, _ = strconv.ParseInt(intPart, 10, 64)
	}
	var kop int64
	switch len(frac) {
	case 1:
		kop = int64(frac[0]-'0') * 10
	case 2:
		kop = int64(frac[0]-'0')*10 + int64(frac[1]-'0')
	}
	k := rub*100 + kop
	if k > MaxSumKopecks {
		return bad("too large")
	}
	return k, nil
}
