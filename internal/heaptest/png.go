package heaptest

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
)

// WhitePNG is a w×h 8-bit RGB PNG of white pixels, the decompression bomb
// of photo uploads: small on the wire, 4 bytes a pixel once decoded.
func WhitePNG(w, h int) []byte { return whitePNG(w, h, true) }

// PNGHeader is a w×h PNG with no pixel data at all: only a reader that
// judges a photo by its header before decoding it answers it without
// trying to decode.
func PNGHeader(w, h int) []byte { return whitePNG(w, h, false) }

func whitePNG(w, h int, pixels bool) []byte {
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&out, binary.BigEndian, uint32(len(data)))
		c := crc32.NewIEEE()
		c.Write([]byte(typ))
		c.Write(data)
		out.WriteString(typ)
		out.Write(data)
		binary.Write(&out, binary.BigEndian, c.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 8, 2 // 8 bits, truecolour
	chunk("IHDR", ihdr)
	if pixels {
		var idat bytes.Buffer
		zw, _ := zlib.NewWriterLevel(&idat, zlib.BestCompression)
		row := bytes.Repeat([]byte{0xFF}, 1+3*w)
		row[0] = 0 // filter: none
		for range h {
			zw.Write(row)
		}
		zw.Close()
		chunk("IDAT", idat.Bytes())
	}
	chunk("IEND", nil)
	return out.Bytes()
}
