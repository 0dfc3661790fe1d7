package qrscan

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"sync"
	"testing"

	"github.com/loyaltyjam/loyaltyjam/internal/heaptest"
)

// rgbPNG is a w×h 8-bit RGB PNG of white pixels: small on the wire, 4
// bytes a pixel once decoded.
func rgbPNG(t testing.TB, w, h int) []byte {
	t.Helper()
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
	ihdr[8], ihdr[9] = 8, 2
	chunk("IHDR", ihdr)
	var idat bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&idat, zlib.BestCompression)
	row := bytes.Repeat([]byte{0xFF}, 1+3*w)
	row[0] = 0
	for range h {
		zw.Write(row)
	}
	zw.Close()
	chunk("IDAT", idat.Bytes())
	chunk("IEND", nil)
	return out.Bytes()
}

// TestMemoryBudget: concurrent decodes of one Decoder (a worker's, or the
// API's) hold at most about its MemoryBudget, however many photos arrive
// at once. 8 concurrent 9-MP colour PNGs cost 45 MB each (36 MB of RGBA, 9
// of grey); with a 64 MiB budget they decode one at a time. Before the
// budget all 8 decoded at once (+357 MiB here; +79 MiB with it). Not parallel: it measures
// the heap.
func TestMemoryBudget(t *testing.T) {
	photo := rgbPNG(t, 3000, 3000)
	cost := DecodeCost(image.Config{ColorModel: color.RGBAModel, Width: 3000, Height: 3000})
	if cost != 3000*3000*5 {
		t.Fatalf("DecodeCost = %d", cost)
	}
	d := New(Options{MemoryBudget: 64 << 20, MaxAttempts: 1})
	h := heaptest.Measure(func() {
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := d.DecodeBytes(context.Background(), photo); !errors.Is(err, ErrNotFound) {
					t.Errorf("err = %v, want ErrNotFound", err)
				}
			}()
		}
		wg.Wait()
	})
	t.Logf("8 × 3000×3000 PNG at once: peak heap +%d MiB, allocated %d MiB", h.PeakInuse>>20, h.Alloc>>20)
	if h.PeakInuse > 160<<20 && !heaptest.Race {
		t.Errorf("peak heap +%d MiB, want < 160 MiB", h.PeakInuse>>20)
	}

	// A decode waiting for memory gives up with its context.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.DecodeBytes(ctx, photo); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled while waiting: %v", err)
	}
}
