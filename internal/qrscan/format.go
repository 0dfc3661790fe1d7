package qrscan

import (
	"bytes"
	"encoding/binary"
)

// format is an image container recognised from its magic bytes.
type format int

const (
	formatUnknown format = iota
	formatJPEG
	formatPNG
	formatGIF
	formatHEIC
)

// sniff recognises the container from the first bytes. HEIC/HEIF/AVIF are
// ISO-BMFF files whose "ftyp" box names a HEIF brand.
func sniff(b []byte) format {
	switch {
	case len(b) >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF:
		return formatJPEG
	case len(b) >= 8 && bytes.Equal(b[:8], []byte("\x89PNG\r\n\x1a\n")):
		return formatPNG
	case len(b) >= 6 && (bytes.Equal(b[:6], []byte("GIF87a")) || bytes.Equal(b[:6], []byte("GIF89a"))):
		return formatGIF
	case len(b) >= 12 && bytes.Equal(b[4:8], []byte("ftyp")):
		switch string(b[8:12]) {
		case "heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1", "avif", "avis":
			return formatHEIC
		}
	}
	return formatUnknown
}

// jpegOrientation returns the EXIF orientation (1..8) of a JPEG, or 1 when
// there is none or it cannot be read. It walks the marker segments up to the
// start of scan and reads tag 0x0112 of IFD0 in the APP1 "Exif" segment.
func jpegOrientation(b []byte) int {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return 1
	}
	p := 2
	for p+4 <= len(b) {
		if b[p] != 0xFF {
			return 1
		}
		marker := b[p+1]
		if marker == 0xFF { // fill byte
			p++
			continue
		}
		if marker == 0xDA || marker == 0xD9 { // start of scan, end of image
			return 1
		}
		if marker >= 0xD0 && marker <= 0xD7 || marker == 0x01 {
			p += 2
			continue
		}
		n := int(binary.BigEndian.Uint16(b[p+2:]))
		if n < 2 || p+2+n > len(b) {
			return 1
		}
		seg := b[p+4 : p+2+n]
		if marker == 0xE1 && len(seg) >= 6 && bytes.Equal(seg[:6], []byte("Exif\x00\x00")) {
			if o := exifOrientation(seg[6:]); o != 0 {
				return o
			}
		}
		p += 2 + n
	}
	return 1
}

// exifOrientation reads the orientation tag from a TIFF structure; 0 when
// absent or invalid.
func exifOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 0
	}
	off := int(bo.Uint32(t[4:]))
	if off < 8 || off+2 > len(t) {
		return 0
	}
	count := int(bo.Uint16(t[off:]))
	for i := 0; i < count; i++ {
		e := off + 2 + 12*i
		if e+12 > len(t) {
			return 0
		}
		if bo.Uint16(t[e:]) != 0x0112 {
			continue
		}
		if typ := bo.Uint16(t[e+2:]); typ != 3 { // SHORT
			return 0
		}
		v := int(bo.Uint16(t[e+8:]))
		if v >= 1 && v <= 8 {
			return v
		}
		return 0
	}
	return 0
}
