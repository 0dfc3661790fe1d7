package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/ofd/ofdsim"
	"github.com/loyaltyjam/loyaltyjam/internal/seed"
)

func init() {
	register(command{name: "ofdsim", summary: "serve the fiscal data service simulator (proverkacheka + FNS Open API)", run: runOFDSim})
}

// runOFDSim serves ofdsim.Server until ctx is done.
func runOFDSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ofdsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8091", "listen address")
	tokens := fs.String("tokens", "", "comma-separated proverkacheka tokens to accept (empty: any)")
	masters := fs.String("master-tokens", "", "comma-separated Open API master tokens to accept (empty: any)")
	assortment := fs.String("assortment", "", "CSV file replacing the embedded assortment (kind,name,price_kopecks,gtin,marked,weight,nds)")
	tokenTTL := fs.Duration("token-ttl", time.Hour, "lifetime of Open API temporary tokens")
	demoShops := fs.Bool("demo-shops", true, "know the shops `loyaltyjam seed` creates (their fiscal drives, INN, KKT), as dev does; false: every fiscal drive gets an invented shop")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	cfg := ofdsim.Config{Tokens: splitOFDSimList(*tokens), MasterTokens: splitOFDSimList(*masters), TokenTTL: *tokenTTL, Logger: log}
	if *assortment != "" {
		f, err := os.Open(*assortment)
		if err != nil {
			return err
		}
		cfg.Assortment, err = ofdsim.ParseAssortment(f)
		f.Close()
		if err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	sim := ofdsim.New(cfg)
	if *demoShops {
		seed.RegisterShops(sim)
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "ofdsim listening on http://%s\n", ln.Addr())
	log.Info("ofdsim_started", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}

func splitOFDSimList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
