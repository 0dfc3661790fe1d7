package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/loyaltyjam/loyaltyjam/internal/config"
	"github.com/loyaltyjam/loyaltyjam/internal/logging"
	"github.com/loyaltyjam/loyaltyjam/internal/ofd/ofdsim"
	"github.com/loyaltyjam/loyaltyjam/internal/photostore"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb"
	"github.com/loyaltyjam/loyaltyjam/internal/seed"
)

func init() {
	register(command{name: "dev", summary: "run the whole product locally: migrate, seed, simulators, API and worker", run: runDev})
}

// devDefaults point every external service at its local simulator. A
// variable set in the environment wins.
var devDefaults = map[string]string{
	"LJ_ENV":              "development",
	"LOG_FORMAT":          "text",
	"HTTP_ADDR":           "127.0.0.1:8080",
	"PUBLIC_URL":          "http://127.0.0.1:8080",
	"JWT_SECRET":          "development-only-secret-not-for-production",
	"CREDENTIALS_KEY":     "6465762d6f6e6c792d63726564656e7469616c732d6b65792d33326279746573", // "dev-only-credentials-key-32bytes"
	"TAX_DATA_KEY":        "6465762d6f6e6c792d7461782d646174612d6b65792d2d2d2d33326279746573", // "dev-only-tax-data-key----32bytes"
	"OFD_PROVIDERS":       "proverkacheka",
	"PROVERKACHEKA_URL":   "http://127.0.0.1:8091",
	"PROVERKACHEKA_TOKEN": "dev-token",
	"FNS_OPENAPI_URL":     "http://127.0.0.1:8091",
	"FNS_OPENAPI_TOKEN":   "dev-master-token",
	"OFD_CALL_TIMEOUT":    "5s",
	"FCM_PROJECT_ID":      "loyaltyjam-dev",
	"FCM_ENDPOINT":        "http://127.0.0.1:8092/v1",
	"SMS_GATEWAY_URL":     "http://127.0.0.1:8093",
	"SMS_API_KEY":         "dev-sms-key",
	"SMTP_ADDR":           "127.0.0.1:2525",
	"SMTP_TLS":            "none",
}

// devSims are the listen addresses of the notification simulators.
var devSims = simsFlags{fcmAddr: "127.0.0.1:8092", smsAddr: "127.0.0.1:8093", smtpAddr: "127.0.0.1:2525",
	emailHTTPAddr: "127.0.0.1:8094", slow: 5 * time.Second}

const devOFDSimAddr = "127.0.0.1:8091"

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ofdAddr := fs.String("ofdsim-addr", devOFDSimAddr, "OFD simulator listen address")
	simAddrs := devSims
	fs.StringVar(&simAddrs.fcmAddr, "fcm-addr", devSims.fcmAddr, "FCM simulator listen address")
	fs.StringVar(&simAddrs.smsAddr, "sms-addr", devSims.smsAddr, "SMS gateway simulator listen address")
	fs.StringVar(&simAddrs.smtpAddr, "smtp-addr", devSims.smtpAddr, "SMTP simulator listen address")
	fs.StringVar(&simAddrs.emailHTTPAddr, "email-http-addr", devSims.emailHTTPAddr, "listen address of the page showing received e-mail")
	rewardSims := devRewardSims
	fs.StringVar(&rewardSims.gifteryAddr, "giftery-addr", devRewardSims.gifteryAddr, "Giftery B2B API simulator listen address")
	fs.StringVar(&rewardSims.qiwiAddr, "qiwi-addr", devRewardSims.qiwiAddr, "QIWI Top-Up API simulator listen address")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	// The development defaults point at the simulators where they listen.
	defaults := maps.Clone(devDefaults)
	defaults["PROVERKACHEKA_URL"], defaults["FNS_OPENAPI_URL"] = "http://"+*ofdAddr, "http://"+*ofdAddr
	defaults["FCM_ENDPOINT"] = "http://" + simAddrs.fcmAddr + "/v1"
	defaults["SMS_GATEWAY_URL"] = "http://" + simAddrs.smsAddr
	defaults["SMTP_ADDR"] = simAddrs.smtpAddr
	devRewardDefaults(defaults, rewardSims)
	if a, ok := os.LookupEnv("HTTP_ADDR"); ok && a != "" {
		defaults["PUBLIC_URL"] = "http://" + a
	}
	cfg, err := config.LoadFrom(func(k string) (string, bool) {
		if v, ok := os.LookupEnv(k); ok && v != "" {
			return v, true
		}
		v, ok := defaults[k]
		return v, ok
	})
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	log := logging.New(stderr, cfg.LogLevel, cfg.LogFormat)
	fmt.Fprintln(stdout, "migrating…")
	applied, err := postgres.MigrateUp(ctx, cfg.DatabaseURL, log)
	if err != nil {
		return err
	}
	d, err := openDeps(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer d.Close()
	fmt.Fprintln(stdout, "seeding…")
	photos, err := photostore.NewDir(cfg.PhotoDir)
	if err != nil {
		return err
	}
	if err := seed.Run(ctx, d.db, time.Now(), photos); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	// The pipeline's hook keeps the dashboard's rollups; rebuild them only
	// when a migration may have changed what they hold, or receipts exist
	// that they do not cover (stored before the hook, or by a bulk load).
	// A rebuild takes about 80 s at a million receipts, so not on every start.
	stale, err := reportdb.Stale(ctx, d.db)
	if err != nil {
		return fmt.Errorf("check dashboard rollups: %w", err)
	}
	if applied > 0 || stale {
		fmt.Fprintln(stdout, "rebuilding dashboard rollups…")
		if err := reportdb.Rebuild(ctx, d.db); err != nil {
			return fmt.Errorf("rebuild dashboard rollups: %w", err)
		}
	}

	fmt.Fprintln(stdout, "starting API, worker and simulators…")
	g, ctx := errgroup.WithContext(ctx)
	sim := ofdsim.New(ofdsim.Config{Logger: log.With("component", "ofdsim")})
	seed.RegisterShops(sim)
	if err := serveBackground(ctx, g, *ofdAddr, sim); err != nil {
		return err
	}
	sims, stopSims, err := startNotifySims(ctx, simAddrs, log)
	if err != nil {
		return err
	}
	defer stopSims()
	rsims, stopRewardSims, err := startRewardSims(ctx, rewardSims, log)
	if err != nil {
		return err
	}
	defer stopRewardSims()
	if _, err := rewardRegistry(cfg.Rewards); err != nil {
		return fmt.Errorf("reward providers: %w", err)
	}
	if err := seedRewardOffers(ctx, d); err != nil {
		return fmt.Errorf("demo prize catalog: %w", err)
	}
	app, cleanup, err := buildAPI(ctx, d)
	if err != nil {
		return err
	}
	defer cleanup()
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.HTTPAddr, err)
	}
	g.Go(func() error { return serveHTTP(ctx, d, app, ln) })
	g.Go(func() error { return serveWorker(ctx, d) })
	qrs, err := seed.FreshQRs(ctx, d.db, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "reward providers: Giftery simulator %s (orders %s/_sim/), QIWI simulator %s (payments %s/_sim/)\n",
		rsims.giftery, rsims.giftery, rsims.qiwi, rsims.qiwi)
	printDevBanner(stdout, cfg, *ofdAddr, sims, qrs)
	return g.Wait()
}

// serveBackground serves h on addr until ctx ends.
func serveBackground(ctx context.Context, g *errgroup.Group, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	g.Go(func() error {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	})
	g.Go(func() error {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	})
	return nil
}

func printDevBanner(w io.Writer, cfg config.Config, ofdAddr string, sims simURLs, qrs []seed.QR) {
	base := cfg.PublicURL
	fmt.Fprintf(w, `
ready: Loyalty Jam is running (development mode, every external service simulated).

  API            %[1]s            health: %[1]s/healthz  ready: %[1]s/readyz
  OFD simulator  http://%[2]s   (proverkacheka + FNS Open API; stats at /_sim/stats)
  SMS simulator  %[4]s/_sim/     (sign-in codes sent by SMS appear here)
  FCM simulator  %[5]s/_sim/     (push notifications)
  E-mail         %[6]s/_sim/     (SMTP at %[7]s)

  Cabinet        %[1]s/app/   (sellers and merchandisers on their phones: scan, points, prizes, tasks)
  Dashboard      %[1]s/dashboard/   (client managers, moderators, operators)
  Queues         %[1]s/operator/queues   metrics: %[1]s/metrics

Demo password for every login below: %[3]s
`, base, ofdAddr, seed.DemoPassword, sims.sms, sims.fcm, sims.emailHTTP, sims.smtp)
	fmt.Fprintln(w, "  participants (phone / login):")
	for _, p := range seed.Participants {
		fmt.Fprintf(w, "    %-10s %s / %-9s %s, %s\n", p.Client, p.Phone, p.Login, p.Role, p.Shop)
	}
	fmt.Fprintln(w, "  dashboard users:")
	for _, u := range seed.Users {
		fmt.Fprintf(w, "    %-26s %s\n", u.Email, u.Role)
	}
	printDemoQRs(w, qrs)
	fmt.Fprintln(w, "\nStop with Ctrl-C. The PostgreSQL and Redis it used keep running; `make stop` stops the project-local ones (scripts/with-services.sh --stop).")
}

// printDemoQRs prints one fresh receipt QR per demo shop (seed.FreshQRs):
// `dev` and `seed` print them, a newcomer uploads one.
func printDemoQRs(w io.Writer, qrs []seed.QR) {
	fmt.Fprintln(w, "  a fresh receipt QR from each demo shop (upload it as `qr`; the simulator invents the items):")
	for _, q := range qrs {
		fmt.Fprintf(w, "    %-9s %s\n", q.Shop.Code, q.Text)
	}
}
