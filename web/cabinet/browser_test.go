package cabinet

import (
	"context"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/gofiber/fiber/v2"
)

func chromium(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	t.Skip("chromium is not installed (apt-get install -y chromium): skipping")
	return ""
}

func phone(t *testing.T, chrome string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chrome), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(412, 915),
	}
	tctx, cancelT := context.WithTimeout(context.Background(), 10*time.Minute)
	actx, cancelA := chromedp.NewExecAllocator(tctx, opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelA(); cancelT() })
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(412, 915, chromedp.EmulateScale(2.625), chromedp.EmulateMobile, chromedp.EmulateTouch)); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// server serves whichever Site cur holds, and /v1/ping, an API answer
// that differs every time (so a cached copy would show).
func server(t *testing.T, cur *atomic.Pointer[Site]) string {
	t.Helper()
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	var pings atomic.Int64
	app.Get("/v1/ping", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"n": pings.Add(1)}) })
	app.Get("/app", func(c *fiber.Ctx) error { return cur.Load().serve(c) })
	app.Get("/app/*", func(c *fiber.Ctx) error { return cur.Load().serve(c) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })
	return "http://" + ln.Addr().String()
}

func conditions(off bool, latencyMs, down, up float64) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		offSW := off
		if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			EmulateOfflineServiceWorker: &offSW,
			MatchedNetworkConditions:    []*network.Conditions{{Offline: off, Latency: latencyMs, DownloadThroughput: down, UploadThroughput: up}}}); err != nil {
			return err
		}
		_, err := chromedp.Call(ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{Offline: off,
			Latency: latencyMs, DownloadThroughput: down, UploadThroughput: up})
		return err
	})
}

// The service worker keeps the shell for offline starts, never answers
// for the API, and a new version waits behind a banner until the user
// takes it (or the next start).
func TestServiceWorkerOfflineAndUpdate(t *testing.T) {
	chrome := chromium(t)
	v1, err := newSite("")
	if err != nil {
		t.Fatal(err)
	}
	v2, err := newSite("next release")
	if err != nil {
		t.Fatal(err)
	}
	var cur atomic.Pointer[Site]
	cur.Store(v1)
	base := server(t, &cur)
	ctx := phone(t, chrome)
	shots := os.Getenv("LJ_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	eval := func(js string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return s
	}
	// wait polls js until true; a navigation in between (the update
	// reloads the page) only restarts the poll.
	wait := func(js string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js, chromedp.EvalAwaitPromise))
			if err == nil && ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s: %v", js, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	run("first visit", chromedp.Navigate(base+"/app/"), chromedp.WaitVisible(chromedp.ID("login")))
	wait(`!!navigator.serviceWorker.controller`)
	if got := eval(`caches.keys().then(k => k.join(','))`); got != "lj-shell-"+v1.Version() {
		t.Errorf("caches %q, want only lj-shell-%s", got, v1.Version())
	}
	p1 := eval(`fetch('/v1/ping').then(r => r.text())`)
	p2 := eval(`fetch('/v1/ping').then(r => r.text())`)
	if p1 == p2 {
		t.Errorf("two API calls gave the same answer %s: served from a cache", p1)
	}
	if got := eval(`caches.open('lj-shell-` + v1.Version() + `').then(c => c.keys()).then(ks => ks.map(r => new URL(r.url).pathname).filter(p => !p.startsWith('/app/')).join(','))`); got != "" {
		t.Errorf("the shell cache holds non-shell URLs: %s", got)
	}

	// Offline start: the shell comes from the cache; the API does not.
	run("offline", conditions(true, 0, -1, -1))
	run("offline start", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("login")))
	if got := eval(`fetch('/v1/ping').then(r => 'answered ' + r.status, e => 'failed')`); got != "failed" {
		t.Errorf("offline, an API call %s: something answered for the network", got)
	}
	run("online", conditions(false, 0, -1, -1))

	// A new release: the new worker installs and waits; the banner offers it.
	cur.Store(v2)
	eval(`navigator.serviceWorker.getRegistration().then(r => r.update()).then(() => 'ok')`)
	run("update offered", chromedp.WaitVisible(chromedp.ID("update")))
	if got := eval(`document.body.dataset.version`); got != v1.Version() {
		t.Errorf("before the update is taken the page is %s, want still %s", got, v1.Version())
	}
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err == nil {
		_ = os.WriteFile(filepath.Join(shots, "cabinet-16-update-banner.png"), buf, 0o644)
	}
	run("take the update", chromedp.Click(chromedp.ID("update-now")))
	wait(`document.body.dataset.version === '` + v2.Version() + `'`)
	// The old shell is deleted when the new worker activates.
	wait(`caches.keys().then(k => k.join(',') === 'lj-shell-` + v2.Version() + `')`)
}

// TestFirstLoad measures a first visit (empty cache, no service worker)
// on a phone with network profiles of Chrome DevTools and a CPU four
// times slower: bytes transferred (gzip) and the time until the sign-in
// screen is rendered with its handlers bound (the app's
// performance.mark 'lj-interactive'). Only the byte budget is asserted;
// the times are for docs/cabinet.md.
func TestFirstLoad(t *testing.T) {
	chrome := chromium(t)
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	var cur atomic.Pointer[Site]
	cur.Store(s)
	base := server(t, &cur)
	for _, p := range []struct {
		name              string
		latency, down, up float64
	}{
		// DevTools presets: "Slow 3G" and "Fast 3G" (latency ms, bytes/s).
		{"Slow 3G", 2000, 50_000, 50_000},
		{"Fast 3G", 562.5, 180_000, 84_375},
	} {
		t.Run(strings.ReplaceAll(p.name, " ", ""), func(t *testing.T) {
			ctx := phone(t, chrome)
			if err := chromedp.Do(ctx, conditions(false, p.latency, p.down, p.up), chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
				_, err := chromedp.Call(ctx, emulation.SetCPUThrottlingRate, emulation.SetCPUThrottlingRateParams{Rate: 4})
				return err
			}), chromedp.Navigate(base+"/app/"), chromedp.WaitVisible(chromedp.ID("signin"))); err != nil {
				t.Fatal(err)
			}
			if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`performance.getEntriesByName('lj-interactive').length > 0`)); err != nil {
				t.Fatal(err)
			}
			type res struct {
				Interactive float64 `json:"interactive"`
				JSCSS       int     `json:"jscss"`
				Total       int     `json:"total"`
				Files       int     `json:"files"`
			}
			r, err := chromedp.Run(ctx, chromedp.Evaluate[res](`(() => {
				const nav = performance.getEntriesByType('navigation')[0];
				const rs = performance.getEntriesByType('resource');
				const jscss = rs.filter(e => /\.(js|css)$/.test(new URL(e.name).pathname));
				// index.html carries the CSS and the main modules inline.
				return { interactive: performance.getEntriesByName('lj-interactive')[0].startTime,
					jscss: nav.transferSize + jscss.reduce((a, e) => a + e.transferSize, 0),
					total: nav.transferSize + rs.reduce((a, e) => a + e.transferSize, 0), files: rs.length + 1 };
			})()`))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s, CPU ×4: interactive at %.0f ms; HTML+JS+CSS %d bytes transferred; everything %d bytes in %d requests",
				p.name, r.Interactive, r.JSCSS, r.Total, r.Files)
			if r.JSCSS == 0 || r.JSCSS > 200_000 {
				t.Errorf("HTML+JS+CSS of the first load: %d bytes transferred, budget 200 KB", r.JSCSS)
			}
			// A repeat visit: the service worker answers for the shell.
			if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!!navigator.serviceWorker.controller`, chromedp.WithPollingTimeout(60*time.Second))); err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("signin"))); err != nil {
				t.Fatal(err)
			}
			again, err := chromedp.Run(ctx, chromedp.Poll[float64](`performance.getEntriesByName('lj-interactive')[0]?.startTime`))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s, CPU ×4: repeat visit (shell from the service worker) interactive at %.0f ms", p.name, again)
		})
	}
}

// TestBrowserDecodeRate measures the phone-side QR reading (scan.js
// decodeFile: jsQR in a worker, as on a phone without BarcodeDetector) on
// the 200 synthetic receipt photos of ../shared/testdata/qr/receipts: how
// many the phone reads itself and sends as text, and how long it takes
// (no CPU throttling). A measurement for docs/cabinet.md, not a test: it
// runs only with LJ_CABINET_DECODE_BENCH=1 and when the set is there.
func TestBrowserDecodeRate(t *testing.T) {
	if os.Getenv("LJ_CABINET_DECODE_BENCH") == "" {
		t.Skip("a measurement: set LJ_CABINET_DECODE_BENCH=1")
	}
	dir := "../../../shared/testdata/qr/receipts"
	names, _ := filepath.Glob(filepath.Join(dir, "*.jpg"))
	if len(names) == 0 {
		t.Skipf("%s is absent", dir)
	}
	chrome := chromium(t)
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	s.Register(app)
	app.Get("/testdata/:name", func(c *fiber.Ctx) error { return c.SendFile(filepath.Join(dir, filepath.Base(c.Params("name")))) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(chrome), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.UserDataDir(t.TempDir())}
	tctx, cancelT := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancelT()
	actx, cancelA := chromedp.NewExecAllocator(tctx, opts...)
	defer cancelA()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+ln.Addr().String()+"/app/"), chromedp.WaitVisible(chromedp.ID("login"))); err != nil {
		t.Fatal(err)
	}
	ok, total := 0, 0
	var times []float64
	for _, n := range names {
		want, err := os.ReadFile(strings.TrimSuffix(n, ".jpg") + ".txt")
		if err != nil {
			continue
		}
		type res struct {
			Text string  `json:"text"`
			MS   float64 `json:"ms"`
		}
		r, err := chromedp.Run(ctx, chromedp.Evaluate[res](`(async () => {
			const scan = await import('./scan.js');
			const b = await (await fetch('/testdata/`+filepath.Base(n)+`')).blob();
			const t0 = performance.now();
			const text = await scan.decodeFile(b);
			return { text: text || '', ms: performance.now() - t0 };
		})()`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		total++
		times = append(times, r.MS)
		if strings.TrimRight(strings.ReplaceAll(r.Text, "\r\n", "\n"), "\r\n") == strings.TrimRight(strings.ReplaceAll(string(want), "\r\n", "\n"), "\r\n") {
			ok++
		}
	}
	sort.Float64s(times)
	rank := func(p float64) float64 { return times[int(math.Ceil(p*float64(len(times))))-1] }
	t.Logf("phone-side decode (jsQR in a worker, 800/1400/2200 px): %d of %d read (%.1f%%); time median %.0f ms, p95 %.0f ms",
		ok, total, 100*float64(ok)/float64(total), rank(0.5), rank(0.95))
}
