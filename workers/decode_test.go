package workers_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/loyaltyjam/loyaltyjam/internal/fiscal"
	"github.com/loyaltyjam/loyaltyjam/internal/qrscan"
	"github.com/loyaltyjam/loyaltyjam/internal/queue"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
)

// dirPhotos is a photo store on a real directory (the shape of
// internal/photostore: files named by key).
type dirPhotos string

func (d dirPhotos) Open(_ context.Context, key string) (io.ReadCloser, error) {
	return os.Open(filepath.Join(string(d), filepath.Base(key)))
}

func (d dirPhotos) put(t testing.TB, key string, b []byte) {
	t.Helper()
	mustT(t, os.WriteFile(filepath.Join(string(d), key), b, 0o600))
}

// qrPNG renders text as a QR code in a white photo.
func qrPNG(t testing.TB, text string) []byte {
	t.Helper()
	g := image.NewGray(image.Rect(0, 0, 600, 600))
	draw.Draw(g, g.Bounds(), image.White, image.Point{}, draw.Src)
	if text != "" {
		m, err := qrcode.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, 0, 0,
			map[gozxing.EncodeHintType]any{gozxing.EncodeHintType_MARGIN: 0})
		mustT(t, err)
		const px, off = 6, 100
		for y := 0; y < m.GetHeight(); y++ {
			for x := 0; x < m.GetWidth(); x++ {
				if m.Get(x, y) {
					draw.Draw(g, image.Rect(off+x*px, off+y*px, off+(x+1)*px, off+(y+1)*px), image.Black, image.Point{}, draw.Src)
				}
			}
		}
	}
	var b bytes.Buffer
	mustT(t, png.Encode(&b, g))
	return b.Bytes()
}

// newReceived stores a photo receipt the API could not read in time.
func (e *env) newReceived(t testing.TB, photoKey string) receipt.Receipt {
	t.Helper()
	r := &receipt.Receipt{ClientID: 1, ParticipantID: 1, Source: receipt.SourcePhoto, PhotoKey: photoKey}
	mustT(t, r.Transition(receipt.Received, "participant:1", "uploaded_photo", nil))
	if created, err := e.store.Create(context.Background(), r); err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	return *r
}

func TestDecode(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	photos := dirPhotos(t.TempDir())
	_, h := e.service(t, svcOptions{photos: photos, qr: qrscan.New(qrscan.Options{})})
	ctx := context.Background()

	payload := func() fiscal.Payload {
		n := seq.Add(1)
		return fiscal.Payload{Time: time.Date(2026, 3, 1, 9, 15, 0, 0, time.UTC), SumKopecks: 149990,
			FN: scenarioFN(0, 0), FD: uint32(n), FP: uint32(2_000_000 + n), Operation: 1}
	}
	taken := payload()
	e.newQueued(t, taken.FN, taken.Time) // holds some identity; the duplicate below reuses its fields
	holder := e.get(t, mustID(t, e, taken.FN))
	dupText := holder.QRCanonical

	good := payload()
	cases := []struct {
		name        string
		photo       []byte // nil: no file
		wantStatus  receipt.Status
		wantReasons []string
		wantFN      string
		wantVerify  bool
	}{
		{name: "fiscal QR → queued and verify enqueued", photo: qrPNG(t, good.Canonical()), wantStatus: receipt.Queued,
			wantReasons: []string{"qr_decoded", "enqueued"}, wantFN: good.FN, wantVerify: true},
		{name: "no QR → unreadable", photo: qrPNG(t, ""), wantStatus: receipt.Unreadable, wantReasons: []string{"qr_not_found"}},
		{name: "only a foreign QR → unreadable", photo: qrPNG(t, "https://check.egais.ru?id=38d02af6&dt=2101231445&cn=0300"),
			wantStatus: receipt.Unreadable, wantReasons: []string{"qr_not_found"}},
		{name: "identity held by another receipt → duplicate", photo: qrPNG(t, dupText), wantStatus: receipt.Duplicate,
			wantReasons: []string{"duplicate_claim"}},
		{name: "photo gone → unreadable", wantStatus: receipt.Unreadable, wantReasons: []string{"photo_missing"}},
		{name: "not an image → unreadable", photo: []byte("GIF89a-not-really"), wantStatus: receipt.Unreadable,
			wantReasons: []string{"qr_not_found"}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			key := fmt.Sprintf("photo-%d.png", i)
			if tc.photo != nil {
				photos.put(t, key, tc.photo)
			}
			r := e.newReceived(t, key)
			task, err := queue.NewReceiptDecode(r.ID)
			mustT(t, err)
			for range 2 { // the second delivery is a duplicate and changes nothing
				if err := h.Decode(ctx, task); err != nil {
					t.Fatal(err)
				}
			}
			got := e.get(t, r.ID)
			if got.Status != tc.wantStatus || got.FN != tc.wantFN {
				t.Fatalf("status %s (%s) fn %q, want %s fn %q", got.Status, got.StatusReason, got.FN, tc.wantStatus, tc.wantFN)
			}
			var rs []string
			for _, ev := range got.Events[1:] {
				rs = append(rs, ev.Reason)
			}
			if diff := cmp.Diff(tc.wantReasons, rs); diff != "" {
				t.Errorf("reasons (-want +got):\n%s", diff)
			}
			ti, err := e.insp.GetTaskInfo(queue.Critical, queue.TypeReceiptVerify+":"+r.ID)
			if queued := err == nil && ti.State == asynq.TaskStatePending; queued != tc.wantVerify {
				t.Errorf("verify task queued = %v (%v), want %v", queued, err, tc.wantVerify)
			}
			if tc.wantStatus == receipt.Duplicate {
				if d := got.Events[len(got.Events)-1].Data; d["duplicate_of"] != holder.ID || got.QRCanonical != dupText {
					t.Errorf("duplicate event data %v, qr %q", d, got.QRCanonical)
				}
			}
		})
	}
}

func mustID(t testing.TB, e *env, fn string) string {
	t.Helper()
	var id string
	mustT(t, e.pool.QueryRow(context.Background(), `SELECT id::text FROM receipts WHERE fn = $1`, fn).Scan(&id))
	return id
}
