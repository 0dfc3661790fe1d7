package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/redistest"
	"github.com/loyaltyjam/loyaltyjam/internal/seed"
)

// TestProductionShapedStart runs the start docs/running.md describes, as
// separate processes of the built binary against a database that does not
// exist yet: migrate up, seed, ofdsim, sims, serve, worker (production mode,
// every external service pointed at its simulator). A demo seller signs in
// and uploads the QR text `seed` printed; the worker verifies it with the
// standalone simulator and credits it; `ledger check` is clean.
func TestProductionShapedStart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs six processes: skipped with -short")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH to build the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "loyaltyjam")
	if out, err := exec.Command(goBin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ropt := redistest.DB(t)
	ofdAddr, fcmAddr, smsAddr, smtpAddr, mailAddr, apiAddr, metricsAddr :=
		loopbackAddr(t), loopbackAddr(t), loopbackAddr(t), loopbackAddr(t), loopbackAddr(t), loopbackAddr(t), loopbackAddr(t)
	env := []string{
		"DATABASE_URL=" + missingDatabaseURL(t),
		fmt.Sprintf("REDIS_URL=redis://%s/%d", ropt.Addr, ropt.DB),
		"LOG_LEVEL=warn", "LOG_FORMAT=text", "SHUTDOWN_TIMEOUT=5s",
		"HTTP_ADDR=" + apiAddr, "PUBLIC_URL=http://" + apiAddr, "WORKER_METRICS_ADDR=" + metricsAddr,
		"PHOTO_DIR=" + filepath.Join(dir, "photos"),
		"JWT_SECRET=production-test-secret-of-at-least-32-chars", "OPERATOR_TOKEN=production-test-operator",
		"CREDENTIALS_KEY=" + strings.Repeat("ab", 32),
		"OFD_PROVIDERS=proverkacheka", "PROVERKACHEKA_URL=http://" + ofdAddr, "PROVERKACHEKA_TOKEN=test-token",
		"FCM_PROJECT_ID=loyaltyjam-test", "FCM_ENDPOINT=http://" + fcmAddr + "/v1",
		"SMS_GATEWAY_URL=http://" + smsAddr, "SMS_API_KEY=test-sms-key",
		"SMTP_ADDR=" + smtpAddr, "SMTP_TLS=none",
	}
	procs := &processes{t: t, bin: bin, env: env}

	procs.runOnce("migrate", "up")
	seedOut := procs.runOnce("seed")
	procs.start("ofdsim", "-addr", ofdAddr)
	procs.start("sims", "-fcm-addr", fcmAddr, "-sms-addr", smsAddr, "-smtp-addr", smtpAddr, "-email-http-addr", mailAddr)
	procs.start("serve")
	procs.start("worker")
	defer procs.stop()

	api := "http://" + apiAddr
	client := &http.Client{Timeout: 30 * time.Second}
	call := func(method, path, token string, body, out any) int {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, api+path, rd)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if out != nil && len(b) > 0 {
			if err := json.Unmarshal(b, out); err != nil {
				t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, b, err)
			}
		}
		return resp.StatusCode
	}
	deadline := time.Now().Add(90 * time.Second)
	for call("GET", "/readyz", "", nil, nil) != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("serve not ready after 90 s\n%s", procs.logs())
		}
		procs.checkAlive()
		time.Sleep(100 * time.Millisecond)
	}

	seller := seed.Participants[0]
	var qr string
	for _, line := range strings.Split(seedOut, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == seller.Shop {
			qr = f[1]
		}
	}
	if qr == "" {
		t.Fatalf("seed printed no QR for shop %s:\n%s", seller.Shop, seedOut)
	}
	var tokens struct {
		AccessToken string `json:"access_token"`
	}
	if st := call("POST", "/v1/auth/login", "", map[string]string{"login": seller.Login, "password": seed.DemoPassword}, &tokens); st != http.StatusOK {
		t.Fatalf("login: %d", st)
	}
	var accepted struct{ ID, Status string }
	if st := call("POST", "/v1/receipts", tokens.AccessToken, map[string]string{"qr": qr}, &accepted); st != http.StatusAccepted {
		t.Fatalf("upload %q: %d %+v", qr, st, accepted)
	}
	var rc struct {
		Status        string `json:"status"`
		StatusReason  string `json:"status_reason"`
		PointsKopecks int64  `json:"points_kopecks"`
	}
	for {
		call("GET", "/v1/receipts/"+accepted.ID, tokens.AccessToken, nil, &rc)
		if st := receipt.Status(rc.Status); st != "" && st.Terminal() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("receipt still %q\n%s", rc.Status, procs.logs())
		}
		procs.checkAlive()
		time.Sleep(100 * time.Millisecond)
	}
	if rc.Status != "credited" || rc.PointsKopecks <= 0 {
		t.Fatalf("receipt ended %q (%s) with %d kopecks of points, want credited with points\n%s",
			rc.Status, rc.StatusReason, rc.PointsKopecks, procs.logs())
	}
	if out := procs.runOnce("ledger", "check"); !strings.Contains(out, "ok:") {
		t.Fatalf("ledger check:\n%s", out)
	}
}

// processes runs the binary's subcommands with one environment and keeps
// their output for the failure message.
type processes struct {
	t       *testing.T
	bin     string
	env     []string
	mu      sync.Mutex
	running []*exec.Cmd
	out     []*lockedBuffer
	exited  chan string
}

type lockedBuffer struct {
	name string
	mu   sync.Mutex
	b    bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (p *processes) command(args ...string) *exec.Cmd {
	cmd := exec.Command(p.bin, args...)
	cmd.Env = append(os.Environ(), p.env...)
	return cmd
}

// runOnce runs a subcommand to its end and returns its stdout; it fails the
// test if the subcommand fails.
func (p *processes) runOnce(args ...string) string {
	p.t.Helper()
	cmd := p.command(args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		p.t.Fatalf("loyaltyjam %s: %v\n%s%s", strings.Join(args, " "), err, &stdout, &stderr)
	}
	return stdout.String()
}

// start starts a long-running subcommand.
func (p *processes) start(args ...string) {
	p.t.Helper()
	if p.exited == nil {
		p.exited = make(chan string, 16)
	}
	cmd := p.command(args...)
	buf := &lockedBuffer{name: strings.Join(args, " ")}
	cmd.Stdout, cmd.Stderr = buf, buf
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("start loyaltyjam %s: %v", buf.name, err)
	}
	p.mu.Lock()
	p.running = append(p.running, cmd)
	p.out = append(p.out, buf)
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		p.exited <- fmt.Sprintf("loyaltyjam %s exited: %v", buf.name, err)
	}()
}

// checkAlive fails the test when a long-running subcommand has exited.
func (p *processes) checkAlive() {
	p.t.Helper()
	select {
	case msg := <-p.exited:
		p.t.Fatalf("%s\n%s", msg, p.logs())
	default:
	}
}

// stop sends SIGTERM to every running subcommand and waits for them to go.
func (p *processes) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.running {
		_ = c.Process.Signal(syscall.SIGTERM)
	}
	for range p.running {
		select {
		case <-p.exited:
		case <-time.After(20 * time.Second):
			for _, c := range p.running {
				_ = c.Process.Kill()
			}
			return
		}
	}
}

func (p *processes) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	for _, o := range p.out {
		fmt.Fprintf(&b, "--- %s\n%s", o.name, o.String())
	}
	return b.String()
}

var loopbackPorts struct {
	sync.Mutex
	next int
}

// loopbackAddr returns a free 127.0.0.1 address in 18800–18899 (the range
// of ports this test's processes may use on a shared machine), never the
// same one twice in a test binary.
func loopbackAddr(t *testing.T) string {
	t.Helper()
	loopbackPorts.Lock()
	defer loopbackPorts.Unlock()
	for ; loopbackPorts.next < 100; loopbackPorts.next++ {
		addr := fmt.Sprintf("127.0.0.1:%d", 18800+loopbackPorts.next)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		ln.Close()
		loopbackPorts.next++
		return addr
	}
	t.Fatal("no free port in 127.0.0.1:18800–18899")
	return ""
}
