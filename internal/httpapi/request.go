package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
)

// PathID parses the path parameter name as a positive id; anything else
// names nothing that exists, and answers notFound.
func PathID(c *fiber.Ctx, name string, notFound *apperr.Error) (int64, error) {
	id, err := strconv.ParseInt(c.Params(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, notFound
	}
	return id, nil
}

// QueryInt parses the optional query parameter name as a non-negative
// integer (0 when absent); anything else answers bad(name).
func QueryInt(c *fiber.Ctx, name string, bad func(name string) error) (int64, error) {
	v := c.Query(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, bad(name)
	}
	return n, nil
}

// DecodeStrictJSON decodes a JSON body into v, refusing unknown fields and
// trailing data; an empty body leaves v as it is. A refusal is a copy of
// bad whose Field and Message name the offending field when there is one.
func DecodeStrictJSON(body []byte, v any, bad *apperr.Error) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		e := *bad
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			e.Field = te.Field
			e.Message = "Некорректное значение поля " + te.Field + "."
		} else if strings.HasPrefix(err.Error(), "json: unknown field ") {
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			e.Message = "Неизвестное поле " + f + "."
		}
		return &e
	}
	if dec.More() {
		return bad
	}
	return nil
}
