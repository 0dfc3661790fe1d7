package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/config"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
)

// TestSIGTERMFinishesInFlightRequests sends the process a real SIGTERM
// while a request is being handled: the listener closes (new connections
// are refused), the request in flight still gets its whole answer, and
// serveHTTP returns without error.
func TestSIGTERMFinishesInFlightRequests(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	d := &deps{cfg: config.Config{ShutdownTimeout: 30 * time.Second}, log: quiet}
	app := httpapi.New(httpapi.Options{Logger: quiet})
	entered, release := make(chan struct{}), make(chan struct{})
	app.Get("/slow", func(c *fiber.Ctx) error {
		close(entered)
		<-release
		return c.SendString("finished")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()

	// As main does: SIGTERM cancels the context.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- serveHTTP(ctx, d, app, ln) }()

	type answer struct {
		status int
		body   string
		err    error
	}
	got := make(chan answer, 1)
	go func() {
		client := &http.Client{Transport: &http.Transport{}}
		resp, err := client.Get("http://" + addr + "/slow")
		if err != nil {
			got <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- answer{resp.StatusCode, string(b), err}
	}()
	<-entered
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-ctx.Done()
	// Shutdown has begun once the listener refuses new connections.
	for {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		c.Close()
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	a := <-got
	if a.err != nil || a.status != http.StatusOK || a.body != "finished" {
		t.Fatalf("in-flight request: status %d body %q err %v", a.status, a.body, a.err)
	}
	if err := <-served; err != nil {
		t.Fatalf("serveHTTP: %v", err)
	}
}
