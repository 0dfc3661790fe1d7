package ofd

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ErrNoReceipt is returned by DecodeReceipt when the JSON holds no receipt object.
var ErrNoReceipt = errors.New("ofd: no receipt object in JSON")

// moscow is the zone used to read epoch dateTime values. Russia has had no
// DST since 2014, so a fixed zone is exact and needs no tzdata.
var moscow = time.FixedZone("MSK", 3*3600)

// envelopeKeys are the paths under which known envelopes nest the receipt:
// proverkacheka {"data":{"json":…}}, irkkt {"ticket":{"document":{"receipt":…}}},
// FNS JSON {"document":{"receipt":…}} / {"receipt":…}, Open API {"content":…}.
var envelopeKeys = []string{"data", "json", "ticket", "document", "receipt", "content"}

// DecodeReceipt decodes a receipt from any supported envelope: a
// proverkacheka response, its data.json, an irkkt ticket, an FNS
// {"document":{"receipt":…}} or {"receipt":…} wrapper, or the bare receipt
// object. It is tolerant: field-name variants and lower-cased keys,
// space-padded strings, numbers given as strings, messageFiscalSign as a
// big number, dateTime as Unix seconds or local ISO with or without seconds,
// quantities as decimals (rounded to thousandths). Money must be integer
// kopecks. It never panics on any input.
func DecodeReceipt(data []byte) (Receipt, error) {
	raw, err := findReceipt(bytes.TrimSpace(data), 0)
	if err != nil {
		return Receipt{}, err
	}
	return decodeReceiptObject(raw)
}

// findReceipt descends through envelope keys until it finds an object that
// looks like a receipt (has items or fiscalDriveNumber/totalSum).
func findReceipt(data []byte, depth int) (json.RawMessage, error) {
	if depth > 6 {
		return nil, ErrNoReceipt
	}
	obj, err := objectOf(data)
	if err != nil {
		return nil, err
	}
	if looksLikeReceipt(obj) {
		return json.RawMessage(data), nil
	}
	for _, k := range envelopeKeys {
		v, ok := obj.get(k)
		if !ok {
			continue
		}
		v = bytes.TrimSpace(v)
		if len(v) > 0 && v[0] == '"' {
			// Some envelopes carry the receipt as a JSON string (Open API Ticket).
			var s string
			if json.Unmarshal(v, &s) == nil && strings.HasPrefix(strings.TrimSpace(s), "{") {
				v = []byte(strings.TrimSpace(s))
			}
		}
		if len(v) == 0 || v[0] != '{' {
			continue
		}
		if r, err := findReceipt(v, depth+1); err == nil {
			return r, nil
		}
	}
	return nil, ErrNoReceipt
}

func looksLikeReceipt(o fields) bool {
	_, items := o.get("items")
	_, fn := o.get("fiscalDriveNumber")
	_, total := o.get("totalSum")
	return items || (fn && total)
}

// fields is a JSON object with case-insensitive key lookup.
type fields map[string]json.RawMessage

func objectOf(data []byte) (fields, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("ofd: decode receipt: %w", err)
	}
	if m == nil {
		return nil, ErrNoReceipt
	}
	f := make(fields, len(m))
	for k, v := range m {
		f[strings.ToLower(k)] = v
	}
	return f, nil
}

// get returns the first present, non-null value among the names.
func (f fields) get(names ...string) (json.RawMessage, bool) {
	for _, n := range names {
		v, ok := f[strings.ToLower(n)]
		if ok && !bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			return v, true
		}
	}
	return nil, false
}

// scalar returns the text of a string or number value, trimmed.
func scalar(v json.RawMessage) (string, bool) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "", false
	}
	switch v[0] {
	case '"':
		var s string
		if json.Unmarshal(v, &s) != nil {
			return "", false
		}
		return strings.TrimSpace(s), true
	case '{', '[':
		return "", false
	default:
		if string(v) == "true" || string(v) == "false" {
			return "", false
		}
		return string(v), true
	}
}

func (f fields) str(names ...string) string {
	v, ok := f.get(names...)
	if !ok {
		return ""
	}
	s, _ := scalar(v)
	return s
}

// integer reads an integer given as a number or a string; "61900.0" and
// "6.19e4" are accepted when they hold an integral value.
func (f fields) integer(names ...string) (int64, bool, error) {
	v, ok := f.get(names...)
	if !ok {
		return 0, false, nil
	}
	s, ok := scalar(v)
	if !ok || s == "" {
		return 0, false, fmt.Errorf("ofd: field %s: not a number", names[0])
	}
	n, err := parseInteger(s)
	if err != nil {
		return 0, false, fmt.Errorf("ofd: field %s: %w", names[0], err)
	}
	return n, true, nil
}

func parseInteger(s string) (int64, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	fl, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(fl) || math.IsInf(fl, 0) || fl != math.Trunc(fl) || math.Abs(fl) > 1<<53 {
		return 0, fmt.Errorf("%q is not an integer", s)
	}
	return int64(fl), nil
}

// parseMilli reads a decimal quantity into thousandths, rounding half away
// from zero, with exact decimal arithmetic for plain decimals.
func parseMilli(s string) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	t := strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	intPart, frac, hasDot := strings.Cut(t, ".")
	plain := intPart != "" && allDigits(intPart) && (!hasDot || allDigits(frac)) && len(intPart) <= 15
	if !plain {
		fl, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(fl) || math.IsInf(fl, 0) || math.Abs(fl) > 1e15 {
			return 0, fmt.Errorf("%q is not a quantity", s)
		}
		return int64(math.Round(fl * 1000)), nil
	}
	n, _ := strconv.ParseInt(intPart, 10, 64)
	n *= 1000
	for i := 0; i < 3; i++ {
		d := int64(0)
		if i < len(frac) {
			d = int64(frac[i] - '0')
		}
		n += d * int64(math.Pow10(2-i))
	}
	if len(frac) > 3 && frac[3] >= '5' {
		n++
	}
	if neg {
		n = -n
	}
	return n, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseDateTime reads dateTime: Unix seconds (number or digit string) or a
// local ISO string with or without seconds (an explicit offset is ignored:
// the wall clock is what the till printed).
func parseDateTime(v json.RawMessage) (t time.Time, epoch bool, err error) {
	s, ok := scalar(v)
	if !ok || s == "" {
		return time.Time{}, false, errors.New("ofd: dateTime: empty")
	}
	if allDigits(s) && len(s) >= 9 && len(s) <= 11 {
		sec, _ := strconv.ParseInt(s, 10, 64)
		w := time.Unix(sec, 0).In(moscow)
		return wall(w), true, nil
	}
	if n, err := parseInteger(s); err == nil && n > 1e8 && n < 1e11 {
		return wall(time.Unix(n, 0).In(moscow)), true, nil
	}
	for _, layout := range []string{
		"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04",
		"20060102T150405", "20060102T1504", "2006-01-02",
	} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, false, nil
		}
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05 -07:00", "2006-01-02T15:04:05.999999999Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return wall(t), false, nil
		}
	}
	return time.Time{}, false, fmt.Errorf("ofd: dateTime: unsupported %q", s)
}

// wall re-labels t's wall-clock reading as time.UTC (the "no zone" marker).
func wall(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
}

func decodeReceiptObject(raw json.RawMessage) (Receipt, error) {
	f, err := objectOf(raw)
	if err != nil {
		return Receipt{}, err
	}
	r := Receipt{Raw: append(json.RawMessage(nil), raw...)}
	r.FN = f.str("fiscalDriveNumber", "fsId", "fn")
	if r.FN == "" {
		return Receipt{}, errors.New("ofd: receipt: fiscalDriveNumber missing")
	}
	var errs []error
	u := func(dst *uint64, names ...string) {
		n, ok, err := f.integer(names...)
		if err != nil {
			errs = append(errs, err)
		} else if ok && n >= 0 {
			*dst = uint64(n)
		} else if ok {
			errs = append(errs, fmt.Errorf("ofd: field %s: negative", names[0]))
		}
	}
	i := func(dst *int64, names ...string) {
		n, _, err := f.integer(names...)
		if err != nil {
			errs = append(errs, err)
		}
		*dst = n
	}
	u(&r.FD, "fiscalDocumentNumber", "documentId", "fd")
	u(&r.FP, "fiscalSign", "fp")
	var op int64
	i(&op, "operationType", "typeOperation", "n")
	r.Operation = int(op)
	i(&r.TotalKopecks, "totalSum")
	i(&r.CashKopecks, "cashTotalSum")
	i(&r.ECashKopecks, "ecashTotalSum")
	i(&r.PrepaidKopecks, "prepaidSum", "prepaymentSum")
	i(&r.CreditKopecks, "creditSum", "postpaymentSum")
	i(&r.ProvisionKopecks, "provisionSum", "counterSubmissionSum")
	if v, ok := f.get("dateTime"); ok {
		t, epoch, err := parseDateTime(v)
		if err != nil {
			errs = append(errs, err)
		}
		r.Time, r.TimeFromEpoch = t, epoch
	}
	if v, ok := f.get("messageFiscalSign"); ok {
		if s, ok := scalar(v); ok {
			r.MessageFiscalSign = s
		}
	}
	r.SellerName = f.str("user", "userName")
	r.SellerINN = f.str("userInn", "userINN", "inn")
	r.RetailPlace = f.str("retailPlace")
	r.RetailAddress = f.str("retailPlaceAddress", "retailAddress", "address")
	r.KKTRegID = f.str("kktRegId", "kktRegNumber", "kktNumber")
	if v, ok := f.get("items"); ok {
		var items []json.RawMessage
		if err := json.Unmarshal(v, &items); err != nil {
			errs = append(errs, fmt.Errorf("ofd: items: %w", err))
		}
		for n, it := range items {
			item, err := decodeItem(it)
			if err != nil {
				errs = append(errs, fmt.Errorf("ofd: item %d: %w", n, err))
				continue
			}
			r.Items = append(r.Items, item)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Receipt{}, err
	}
	return r, nil
}

func decodeItem(raw json.RawMessage) (Item, error) {
	f, err := objectOf(raw)
	if err != nil {
		return Item{}, err
	}
	var errs []error
	it := Item{Name: f.str("name"), Measure: -1}
	num := func(names ...string) int64 {
		n, _, err := f.integer(names...)
		if err != nil {
			errs = append(errs, err)
		}
		return n
	}
	it.PriceKopecks = num("price")
	it.SumKopecks = num("sum")
	it.NDS = int(num("nds", "ndsRate"))
	it.PaymentType = int(num("paymentType", "calculationTypeSign"))
	it.ProductType = int(num("productType", "calculationSubjectSign"))
	if _, ok := f.get("itemsQuantityMeasure"); ok {
		it.Measure = int(num("itemsQuantityMeasure"))
	}
	if v, ok := f.get("quantity"); ok {
		s, ok := scalar(v)
		if !ok {
			errs = append(errs, errors.New("ofd: quantity: not a number"))
		} else if it.QuantityMilli, err = parseMilli(s); err != nil {
			errs = append(errs, fmt.Errorf("ofd: quantity: %w", err))
		}
	}
	it.GTIN = itemGTIN(f)
	return it, errors.Join(errs...)
}

// itemGTIN reads the GTIN from every form a marking code takes in receipt
// JSON, in order of how much they say (see testdata/README.md):
//
//   - productCodeNew: FFD 1.2 tags 1300–1309, an object keyed by the kind
//     ({"gs1m": {"gtin": …, "rawProductCode": …}}, "ean13", "itf14", …);
//   - productCodeData: the FNS «Проверка чеков» app's parsed form of a
//     code, {"gtin": 4606419014681, "rawProductCode": …, "sernum": …} (the
//     GTIN may be a JSON number), or keyed by kind like productCodeNew;
//   - nomenclatureCode / productCode: FFD 1.05/1.1 tag 1162 «код товара»,
//     the tag's bytes written as hex ("44 4D 04 2E …") or base64
//     ("RE0ELx+W…"): two bytes of code type, then the GTIN as a 6-byte
//     big-endian integer, then the serial in ASCII — or a parsed object or
//     a raw scanned code as text.
func itemGTIN(f fields) string {
	for _, k := range []string{"productCodeNew", "productCodeData", "nomenclatureCode", "productCode"} {
		v, ok := f.get(k)
		if !ok {
			continue
		}
		var g string
		if s, ok := scalar(v); ok {
			g = gtinFromText(s)
		} else {
			g = gtinFromCodes(v)
		}
		if g != "" {
			return g
		}
	}
	return ""
}

// codeKeys are the productCodeNew kinds (tags 1300–1309) in preference order.
var codeKeys = []string{"gs1m", "gs1", "ean13", "itf14", "ean8", "kmk", "mi", "egais2", "egais3", "undefined"}

// gtinFromCodes extracts a GTIN from a code object: keyed by kind
// (productCodeNew) or the code itself ({"gtin": …, "rawProductCode": …}),
// normalised: GTIN-14 with a leading zero becomes EAN-13. Invalid or
// missing codes give "".
func gtinFromCodes(v json.RawMessage) string {
	f, err := objectOf(v)
	if err != nil {
		return ""
	}
	if g := gtinFromCode(f); g != "" {
		return g
	}
	for _, k := range codeKeys {
		cv, ok := f.get(k)
		if !ok {
			continue
		}
		c, err := objectOf(cv)
		if err != nil {
			continue
		}
		if g := gtinFromCode(c); g != "" {
			return g
		}
	}
	return ""
}

// gtinFromCode reads one code object: its gtin (a string or a number),
// else the GTIN inside its rawProductCode.
func gtinFromCode(c fields) string {
	g := c.str("gtin")
	if g != "" && !allDigits(g) {
		if n, err := parseInteger(g); err == nil && n > 0 {
			g = strconv.FormatInt(n, 10) // a number written as 4.606419014681e12
		}
	}
	if g = NormalizeGTIN(g); g != "" {
		return g
	}
	return gtinFromRaw(c.str("rawProductCode"))
}

// gtinFromRaw reads the GTIN of a scanned code: a GS1 string starting
// with AI 01, or a bare EAN-8/13 or ITF-14.
func gtinFromRaw(raw string) string {
	switch {
	case strings.HasPrefix(raw, "01") && len(raw) >= 16 && allDigits(raw[2:16]):
		return NormalizeGTIN(raw[2:16])
	case allDigits(raw) && (len(raw) == 8 || len(raw) == 13 || len(raw) == 14):
		return NormalizeGTIN(raw)
	}
	return ""
}

// Tag 1162 code types (the first two bytes) whose next six bytes are a
// GTIN: "DM" (a DataMatrix mark: tobacco, shoes, milk…), EAN-8, EAN-13,
// ITF-14 and "RF" (fur, whose control sign carries no GTIN we can trust, so
// it is left out).
var tag1162GTIN = map[uint16]bool{0x444D: true, 0x4508: true, 0x450D: true, 0x490E: true}

// gtinFromText reads a marking code given as text: a raw scanned code, or
// the bytes of tag 1162 as hex or base64.
func gtinFromText(s string) string {
	if g := gtinFromRaw(s); g != "" {
		return g
	}
	b := tag1162Bytes(s)
	if len(b) < 8 || !tag1162GTIN[uint16(b[0])<<8|uint16(b[1])] {
		return ""
	}
	var n uint64
	for _, c := range b[2:8] {
		n = n<<8 | uint64(c)
	}
	if n == 0 {
		return ""
	}
	return NormalizeGTIN(fmt.Sprintf("%014d", n))
}

// tag1162Bytes decodes hex (spaces allowed) or base64 text; nil if it is
// neither.
func tag1162Bytes(s string) []byte {
	compact := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == ':' {
			return -1
		}
		return r
	}, s)
	if b, err := hex.DecodeString(compact); err == nil {
		return b
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b
		}
	}
	return nil
}

// NormalizeGTIN trims g and drops the leading zeros of a GTIN-14 that pad an
// EAN-13 (or EAN-8). It returns "" when g is not 8, 12, 13 or 14 digits.
func NormalizeGTIN(g string) string {
	g = strings.TrimSpace(g)
	if !allDigits(g) {
		return ""
	}
	switch len(g) {
	case 14:
		if strings.HasPrefix(g, "000000") {
			return g[6:]
		}
		if g[0] == '0' {
			return g[1:]
		}
		return g
	case 8, 12, 13:
		return g
	}
	return ""
}
