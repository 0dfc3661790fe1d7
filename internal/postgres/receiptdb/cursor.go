package receiptdb

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Cursors are opaque to clients: base64 of "unix-nanos|uuid".
func encodeCursor(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at.UnixNano(), 10) + "|" + id))
}

func decodeCursor(c string) (time.Time, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", err
	}
	at, id, ok := strings.Cut(string(b), "|")
	if !ok || !validUUID(id) {
		return time.Time{}, "", errors.New("bad cursor")
	}
	n, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return time.Time{}, "", err
	}
	return time.Unix(0, n), id, nil
}
