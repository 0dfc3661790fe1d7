package intake

import "bytes"

// Format is an image format recognised by its magic bytes.
type Format int

// Formats Sniff tells apart.
const (
	FormatUnknown    Format = iota // not an image we know
	FormatJPEG                     // accepted
	FormatPNG                      // accepted
	FormatHEIC                     // HEIC/HEIF/AVIF: the iPhone default; refused with a hint
	FormatOtherImage               // GIF, WebP, BMP, TIFF: refused
)

// Sniff recognises an image format from the first bytes.
func Sniff(b []byte) Format {
	switch {
	case bytes.HasPrefix(b, []byte{0xff, 0xd8, 0xff}):
		return FormatJPEG
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return FormatPNG
	case len(b) >= 12 && string(b[4:8]) == "ftyp":
		switch string(b[8:12]) {
		case "heic", "heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs", "mif1", "msf1", "avif", "avis":
			return FormatHEIC
		}
		return FormatUnknown
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")),
		len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP",
		bytes.HasPrefix(b, []byte("BM")) && len(b) >= 26,
		bytes.HasPrefix(b, []byte("II*\x00")), bytes.HasPrefix(b, []byte("MM\x00*")):
		return FormatOtherImage
	}
	return FormatUnknown
}
