package httpapi

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
)

// DefaultMaxFieldBytes bounds one query or form value. The longest free
// text a form legitimately sends is a task's instructions (5 000
// characters, up to 10 000 bytes in Cyrillic).
const DefaultMaxFieldBytes = 16 << 10

// Errors of the input check. Their codes are part of every API's contract.
var (
	// ErrInvalidUTF8 is a query or form value that is not UTF-8. Text
	// columns in PostgreSQL reject such bytes, so without this check they
	// surfaced as a 500 from deep inside a handler.
	ErrInvalidUTF8 = &apperr.Error{Kind: apperr.Invalid, Code: "invalid_utf8",
		Message: "Запрос содержит недопустимые символы (ожидается UTF-8)."}
	// ErrTooLong is a query or form value longer than any field accepts.
	ErrTooLong = &apperr.Error{Kind: apperr.Invalid, Code: "too_long",
		Message: "Слишком длинное значение поля."}
)

// checkInput rejects a request whose path, query or form values (URL
// encoded, or the non-file parts of a multipart body) are not valid UTF-8
// (400 invalid_utf8), or hold a value over maxField bytes (422 too_long),
// before any handler passes them to the database. File parts are not read.
func checkInput(maxField int) fiber.Handler {
	return func(c *fiber.Ctx) error {
		req := c.Request()
		if !utf8.Valid(req.URI().Path()) {
			return badUTF8(c, "")
		}
		if err := checkArgs(c, req.URI().QueryArgs().VisitAll, maxField); err != nil {
			return err
		}
		ct := string(req.Header.ContentType())
		if ct == "" || c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead {
			return c.Next()
		}
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil {
			return c.Next() // the handler answers for a content type it cannot read
		}
		switch mt {
		case fiber.MIMEApplicationForm:
			if err := checkArgs(c, req.PostArgs().VisitAll, maxField); err != nil {
				return err
			}
		case fiber.MIMEMultipartForm:
			if err := checkMultipart(c, params["boundary"], maxField); err != nil {
				return err
			}
		}
		return c.Next()
	}
}

func checkArgs(c *fiber.Ctx, visit func(func(k, v []byte)), maxField int) error {
	var bad, long string
	var badSeen, longSeen bool
	visit(func(k, v []byte) {
		switch {
		case badSeen:
		case !utf8.Valid(k) || !utf8.Valid(v):
			badSeen, bad = true, safeField(k)
		case len(v) > maxField && !longSeen:
			longSeen, long = true, safeField(k)
		}
	})
	if badSeen {
		return badUTF8(c, bad)
	}
	if longSeen {
		e := *ErrTooLong
		e.Field = long
		return &e
	}
	return nil
}

// checkMultipart reads the non-file parts of a multipart body (already in
// memory: Fiber reads whole bodies within BodyLimit) without keeping them.
// A malformed body is left to the handler, which reports it its own way.
func checkMultipart(c *fiber.Ctx, boundary string, maxField int) error {
	if boundary == "" {
		return nil
	}
	mr := multipart.NewReader(bytes.NewReader(c.Body()), boundary)
	buf := make([]byte, maxField+1)
	for {
		p, err := mr.NextPart()
		if err != nil {
			return nil // io.EOF, or malformed: the handler decides
		}
		name := p.FormName()
		if !utf8.ValidString(name) {
			return badUTF8(c, "")
		}
		if p.FileName() != "" {
			continue // a file's bytes are the handler's to judge
		}
		n, err := io.ReadFull(p, buf)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return nil
		}
		if n > maxField {
			e := *ErrTooLong
			e.Field = safeField([]byte(name))
			return &e
		}
		if !utf8.Valid(buf[:n]) {
			return badUTF8(c, safeField([]byte(name)))
		}
	}
}

// badUTF8 answers 400 itself: the error table maps Invalid to 422, but a
// body that is not even text is a malformed request, not a wrong value.
func badUTF8(c *fiber.Ctx, field string) error {
	e := *ErrInvalidUTF8
	e.Field = field
	return &statusError{status: fiber.StatusBadRequest, err: &e}
}

// statusError is an *apperr.Error answered with a status of its own.
type statusError struct {
	status int
	err    *apperr.Error
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

// safeField echoes a field name back only when it is short, plain text.
func safeField(k []byte) string {
	if len(k) > 64 || !utf8.Valid(k) || strings.ContainsAny(string(k), "\x00\r\n") {
		return ""
	}
	return string(k)
}
