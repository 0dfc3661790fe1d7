package mobileapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"strconv"
	"strings"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/fiscal"
	"github.com/loyaltyjam/loyaltyjam/internal/intake"
)

// upload is a parsed POST /v1/receipts body.
type upload struct {
	Photo  []byte
	QR     string
	Fields *fiscal.Fields
	ShopID *int64
	Lat    *float64
	Lon    *float64
}

// Errors of request parsing.
var (
	errMediaType = apperr.New(apperr.Unsupported, "unsupported_media_type",
		"Отправьте multipart/form-data (фото) или application/json (QR-код или данные чека).")
	errMultipart  = apperr.New(apperr.Invalid, "malformed_multipart", "Некорректное тело multipart/form-data.")
	errForm       = apperr.New(apperr.Invalid, "malformed_form", "Некорректное тело формы.")
	errFieldLong  = apperr.New(apperr.Invalid, "field_too_long", "Слишком длинное значение поля.")
	errManyParts  = apperr.New(apperr.Invalid, "too_many_parts", "Слишком много полей в запросе.")
	errFieldValue = apperr.New(apperr.Invalid, "invalid_field", "Поле имеет неверный тип.")
)

const (
	maxParts      = 32
	maxFieldBytes = 4096
)

// parseUpload reads a receipt upload: multipart/form-data (photo and/or
// text fields), application/x-www-form-urlencoded or application/json (qr
// or manual fields). It never panics and returns only *apperr.Error on bad
// input.
func parseUpload(contentType string, body []byte, maxPhoto int64) (upload, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return upload{}, errMediaType
	}
	var (
		u    upload
		vals map[string]string
	)
	switch mt {
	case "multipart/form-data":
		vals, u.Photo, err = readMultipart(body, params["boundary"], maxPhoto)
	case "application/x-www-form-urlencoded":
		vals, err = readForm(body)
	case "application/json":
		vals, err = readJSONFields(body)
	default:
		return upload{}, errMediaType
	}
	if err != nil {
		return upload{}, err
	}
	if err := u.setFields(vals); err != nil {
		return upload{}, err
	}
	return u, nil
}

// readMultipart reads a multipart body: the photo part (nil if none) and
// the first value of every other field.
func readMultipart(body []byte, boundary string, maxPhoto int64) (map[string]string, []byte, error) {
	if boundary == "" {
		return nil, nil, errMultipart
	}
	vals := map[string]string{}
	var photo []byte
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for n := 0; ; n++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, errMultipart
		}
		if n >= maxParts {
			return nil, nil, errManyParts
		}
		name := part.FormName()
		if name == "photo" {
			if photo != nil {
				return nil, nil, intake.ErrSeveralInputs
			}
			if photo, err = readPhotoPart(part, maxPhoto); err != nil {
				return nil, nil, err
			}
			continue
		}
		b, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
		if err != nil {
			return nil, nil, errMultipart
		}
		if len(b) > maxFieldBytes {
			return nil, nil, fieldErr(errFieldLong, name)
		}
		if _, seen := vals[name]; !seen {
			vals[name] = string(b)
		}
	}
	return vals, photo, nil
}

// readPhotoPart reads a photo part of at most maxPhoto bytes; an empty part
// is an empty, non-nil photo.
func readPhotoPart(part io.Reader, maxPhoto int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(part, maxPhoto+1))
	if err != nil {
		return nil, errMultipart
	}
	if int64(len(b)) > maxPhoto {
		return nil, intake.ErrPhotoTooLarge
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}

// readForm reads an application/x-www-form-urlencoded body: the first value
// of every field.
func readForm(body []byte) (map[string]string, error) {
	q, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, errForm
	}
	vals := map[string]string{}
	for k, v := range q {
		if len(v) > 0 {
			if len(v[0]) > maxFieldBytes {
				return nil, fieldErr(errFieldLong, k)
			}
			vals[k] = v[0]
		}
	}
	return vals, nil
}

// readJSONFields reads a JSON object of scalar fields as text.
func readJSONFields(body []byte) (map[string]string, error) {
	var m map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil || m == nil || dec.More() {
		return nil, errBadJSON
	}
	vals := map[string]string{}
	for k, raw := range m {
		s, err := jsonScalar(raw)
		if err != nil {
			return nil, fieldErr(errFieldValue, k)
		}
		if len(s) > maxFieldBytes {
			return nil, fieldErr(errFieldLong, k)
		}
		vals[k] = s
	}
	return vals, nil
}

// setFields fills u from the text fields of the request: the QR text, the
// manual fiscal fields, the shop and the location.
func (u *upload) setFields(vals map[string]string) error {
	u.QR = strings.TrimSpace(vals["qr"])
	var f fiscal.Fields
	manual := false
	for k, dst := range map[string]*string{"t": &f.T, "s": &f.S, "fn": &f.FN, "i": &f.I, "fp": &f.FP, "n": &f.N} {
		if v := strings.TrimSpace(vals[k]); v != "" {
			*dst, manual = v, true
		}
	}
	if manual {
		u.Fields = &f
	}
	if v := strings.TrimSpace(vals["shop_id"]); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return intake.ErrShop
		}
		u.ShopID = &id
	}
	for k, dst := range map[string]**float64{"lat": &u.Lat, "lon": &u.Lon} {
		if v := strings.TrimSpace(vals[k]); v != "" {
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return intake.ErrGeo
			}
			*dst = &x
		}
	}
	return nil
}

// jsonScalar accepts a JSON string, number or null as text.
func jsonScalar(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	switch raw[0] {
	case '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		var n json.Number
		err := json.Unmarshal(raw, &n)
		return n.String(), err
	}
	return "", errors.New("not a scalar")
}

func fieldErr(e *apperr.Error, field string) *apperr.Error {
	c := *e
	if len(field) > 64 {
		field = field[:64]
	}
	c.Field = field
	return &c
}
