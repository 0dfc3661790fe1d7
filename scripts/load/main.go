// Command load measures receipt uploads against a running mobile API. It
// starts nothing itself: it signs in N seeded participants (logins
// <prefix>1..<prefix>N with one password, see seed.sql), then C concurrent
// clients upload receipts for a bounded count or time, and it reports
// uploads/s and latency percentiles per answer.
//
//	go run ./scripts/load -base http://127.0.0.1:8080 -mode qr -c 16 -n 2000
//	go run ./scripts/load -mode photo -c 8 -d 30s            # generated QR PNGs, unique receipts
//	go run ./scripts/load -mode photo -photos /work/shared/testdata/qr/receipts   # real phone photos
//	go run ./scripts/load -mode healthz -c 16 -n 20000      # GET /healthz: the same-run baseline, no sign-in
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

func main() {
	base := flag.String("base", "http://127.0.0.1:8080", "API base URL")
	mode := flag.String("mode", "qr", "qr (QR text as JSON), photo (multipart JPEG/PNG) or healthz (GET /healthz, a baseline without sign-in)")
	conc := flag.Int("c", 8, "concurrent clients")
	total := flag.Int("n", 1000, "uploads in all (0 = until -d)")
	dur := flag.Duration("d", 0, "stop after this long (0 = until -n)")
	users := flag.Int("participants", 50, "seeded participants to sign in")
	prefix := flag.String("login-prefix", "load", "participant login prefix")
	pw := flag.String("password", "load12345", "participants' password")
	photos := flag.String("photos", "", "directory of *.jpg receipt photos (default: generated QR PNGs, one receipt each)")
	nPhotos := flag.Int("gen", 300, "generated photos to prepare in photo mode")
	flag.Parse()
	if *total <= 0 && *dur <= 0 {
		fmt.Fprintln(os.Stderr, "load: give -n or -d")
		os.Exit(2)
	}
	hc := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: *conc * 2}}
	if *mode != "qr" && *mode != "photo" && *mode != "healthz" {
		fmt.Fprintln(os.Stderr, "load: -mode is qr, photo or healthz")
		os.Exit(2)
	}
	tokens := make([]string, 0, *users)
	if *mode == "healthz" {
		tokens, *users = append(tokens, ""), 0 // no sign-in: the baseline is the bare HTTP stack
	}
	for i := 1; i <= *users; i++ {
		tok, err := login(hc, *base, fmt.Sprintf("%s%d", *prefix, i), *pw)
		if err != nil {
			fmt.Fprintf(os.Stderr, "load: sign in %s%d: %v\n", *prefix, i, err)
			os.Exit(1)
		}
		tokens = append(tokens, tok)
	}
	run := time.Now().UnixNano() % 1_000_000_000
	var bodies [][]byte
	if *mode == "photo" {
		if *photos != "" {
			files, _ := filepath.Glob(filepath.Join(*photos, "*.jpg"))
			for _, f := range files {
				if b, err := os.ReadFile(f); err == nil {
					bodies = append(bodies, b)
				}
			}
		} else {
			for i := 0; i < *nPhotos; i++ {
				bodies = append(bodies, qrPNG(qrText(run, int64(1_000_000+i))))
			}
		}
		if len(bodies) == 0 {
			fmt.Fprintln(os.Stderr, "load: no photos")
			os.Exit(1)
		}
	}
	var next atomic.Int64
	var mu sync.Mutex
	lat := map[int][]time.Duration{}
	var errs atomic.Int64
	deadline := time.Time{}
	if *dur > 0 {
		deadline = time.Now().Add(*dur)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < *conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if *total > 0 && i >= int64(*total) || !deadline.IsZero() && time.Now().After(deadline) {
					return
				}
				tok := tokens[int(i)%len(tokens)]
				var req *http.Request
				if *mode == "healthz" {
					req, _ = http.NewRequest("GET", *base+"/healthz", nil)
				} else if *mode == "photo" {
					req = photoReq(*base, tok, bodies[int(i)%len(bodies)])
				} else {
					b, _ := json.Marshal(map[string]string{"qr": qrText(run, i)})
					req, _ = http.NewRequest("POST", *base+"/v1/receipts", bytes.NewReader(b))
					req.Header.Set("Content-Type", "application/json")
				}
				if tok != "" {
					req.Header.Set("Authorization", "Bearer "+tok)
				}
				t0 := time.Now()
				res, err := hc.Do(req)
				d := time.Since(t0)
				if err != nil {
					errs.Add(1)
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				mu.Lock()
				lat[res.StatusCode] = append(lat[res.StatusCode], d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	codes := make([]int, 0, len(lat))
	for c, l := range lat {
		all = append(all, l...)
		codes = append(codes, c)
	}
	sort.Ints(codes)
	fmt.Printf("mode=%s concurrency=%d participants=%d photos=%d elapsed=%s GOMAXPROCS(client)=%d\n",
		*mode, *conc, len(tokens), len(bodies), elapsed.Round(time.Millisecond), runtime.GOMAXPROCS(0))
	fmt.Printf("requests=%d transport_errors=%d throughput=%.1f requests/s\n", len(all), errs.Load(), float64(len(all))/elapsed.Seconds())
	report("all", all)
	for _, c := range codes {
		report(fmt.Sprintf("HTTP %d", c), lat[c])
	}
}

func report(name string, l []time.Duration) {
	if len(l) == 0 {
		return
	}
	sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	p := func(q float64) time.Duration { return l[int(q*float64(len(l)-1))].Round(100 * time.Microsecond) }
	fmt.Printf("  %-9s n=%-6d p50=%-9s p90=%-9s p99=%-9s max=%s\n", name, len(l), p(0.5), p(0.9), p(0.99), l[len(l)-1].Round(100*time.Microsecond))
}

// qrText is a valid fiscal QR text whose identity is unique per (run, i).
func qrText(run, i int64) string {
	return fmt.Sprintf("t=%s&s=%d.%02d&fn=99%014d&i=%d&fp=%d&n=1", time.Now().Add(-time.Hour).Format("20060102T1504"),
		100+i%5000, i%100, run%100_000_000_000_000, i+1, 1_000_000_000+i)
}

func qrPNG(text string) []byte {
	m, err := qrcode.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, 600, 600, nil)
	if err != nil {
		panic(err)
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, m)
	return buf.Bytes()
}

func photoReq(base, tok string, photo []byte) *http.Request {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fw, _ := w.CreateFormFile("photo", "receipt.jpg")
	fw.Write(photo)
	w.Close()
	req, _ := http.NewRequest("POST", base+"/v1/receipts", &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return req
}

func login(hc *http.Client, base, login, pw string) (string, error) {
	b, _ := json.Marshal(map[string]string{"login": login, "password": pw})
	res, err := hc.Post(base+"/v1/auth/login", "application/json", bytes.NewReader(b))
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || json.Unmarshal(body, &out) != nil {
		return "", fmt.Errorf("%d %s", res.StatusCode, body)
	}
	return out.AccessToken, nil
}
