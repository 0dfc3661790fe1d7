package mobileapi

import (
	"bytes"
	"mime/multipart"
	"testing"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/intake"
)

// FuzzParseUpload feeds arbitrary content types and bodies to the receipt
// upload parser: it must not panic, and every failure must be a client
// error with a code (never an internal one, which would be a 500).
func FuzzParseUpload(f *testing.F) {
	var mp bytes.Buffer
	w := multipart.NewWriter(&mp)
	w.WriteField("qr", "t=20240301T0915&s=1.00&fn=7281440500000101&i=1&fp=1&n=1")
	fw, _ := w.CreateFormFile("photo", "a.jpg")
	fw.Write([]byte{0xff, 0xd8, 0xff, 0xe0})
	w.Close()
	f.Add(w.FormDataContentType(), mp.Bytes())
	f.Add("multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"photo\"\r\n\r\n\x89PNG\r\n--x--\r\n"))
	f.Add("application/json", []byte(`{"qr":"t=1","shop_id":5,"lat":1.5,"lon":"2"}`))
	f.Add("application/json", []byte(`{"t":"20240301T0915","s":1e400,"fn":null,"i":[1]}`))
	f.Add("application/json; charset=utf-8", []byte(`{"qr":`))
	f.Add("application/x-www-form-urlencoded", []byte("qr=t%3D1&lat=NaN&lon=Inf"))
	f.Add("text/plain", []byte("hello"))
	f.Add("", []byte{})
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		u, err := parseUpload(ct, body, 1<<16)
		if err != nil {
			ae, ok := apperr.As(err)
			if !ok || ae.Kind == apperr.Internal || ae.Code == "" || ae.Message == "" {
				t.Fatalf("error %v is not a client error", err)
			}
			return
		}
		if int64(len(u.Photo)) > 1<<16 {
			t.Fatalf("photo of %d bytes passed the limit", len(u.Photo))
		}
		if u.ShopID != nil && *u.ShopID <= 0 {
			t.Fatalf("shop id %d", *u.ShopID)
		}
		// Whatever parsed, the intake's format check classifies the photo
		// without panicking.
		_ = intake.Sniff(u.Photo)
	})
}
