package qrscan

import (
	"errors"
	"fmt"
)

// Errors returned by Decoder. Callers compare with errors.Is.
var (
	// ErrNotFound means the image was read but no QR code was decoded.
	ErrNotFound = errors.New("qrscan: no QR code found")
	// ErrUnsupportedFormat means the bytes are not a JPEG, PNG or GIF image.
	ErrUnsupportedFormat = errors.New("qrscan: unsupported image format")
	// ErrHEIC means the image is HEIC/HEIF/AVIF (iPhone default): the client
	// should send JPEG or PNG. errors.Is(ErrHEIC, ErrUnsupportedFormat) holds.
	ErrHEIC = fmt.Errorf("%w: HEIC/HEIF, send JPEG or PNG", ErrUnsupportedFormat)
	// ErrTooLarge means the declared dimensions or the byte size exceed the
	// Decoder's limits; the pixels were not decoded.
	ErrTooLarge = errors.New("qrscan: image too large")
	// ErrCorrupt means the image is truncated or malformed.
	ErrCorrupt = errors.New("qrscan: corrupt or truncated image")
)
