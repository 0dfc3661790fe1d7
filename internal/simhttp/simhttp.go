// Package simhttp runs a simulator's HTTP handler on a listener until its
// context ends or Close: the lifecycle every HTTP simulator (FCM, SMS,
// Giftery, QIWI) shares.
package simhttp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server holds a simulator's running http.Server. The zero value is ready.
type Server struct {
	mu  sync.Mutex
	srv *http.Server
}

// Start listens on addr and serves h until ctx is done or Close; it
// returns the base URL. name prefixes the listen error and the serve
// failure's log event.
func (s *Server) Start(ctx context.Context, addr, name string, h http.Handler, log *slog.Logger) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("%s: listen: %w", name, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error(name+"_serve_failed", slog.Any("error", err))
		}
	}()
	context.AfterFunc(ctx, func() { _ = s.Close() })
	return "http://" + ln.Addr().String(), nil
}

// Close stops a server started with Start, letting in-flight requests end
// for up to 5 s.
func (s *Server) Close() error {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		return srv.Close()
	}
	return nil
}
