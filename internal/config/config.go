// Package config is the only package that reads the environment. Load
// parses every setting once, applies documented defaults, and reports every
// missing or invalid setting by name; String renders the configuration with
// secrets masked so it can be logged at start-up.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Config is the whole configuration of every subcommand.
type Config struct {
	// Env is "production" or "development"; development enables demo
	// defaults such as a generated JWT secret.
	Env string
	// DatabaseURL is the PostgreSQL connection string (source of truth).
	DatabaseURL string
	// RedisURL is the Redis connection string (queues, limits, caches).
	RedisURL string
	// HTTPAddr is where `serve` listens.
	HTTPAddr string
	// PublicURL is the externally visible base URL of the API, used in links.
	PublicURL string
	// LogLevel is debug, info, warn or error; LogFormat json or text.
	LogLevel  string
	LogFormat string
	// ShutdownTimeout bounds the graceful stop of servers and workers.
	ShutdownTimeout time.Duration
	// PhotoDir is where uploaded photos are stored (content-addressed).
	PhotoDir string
	// WorkerConcurrency is the number of tasks one worker process runs at once.
	WorkerConcurrency int
	// OperatorToken guards operator endpoints (queue dashboard, metrics) when set.
	OperatorToken Secret
	// CredentialsKey (32 bytes) seals generated passwords while their
	// invitations wait to be delivered; empty: a random key per process.
	CredentialsKey []byte
	// TaxDataKey (32 bytes) seals participants' legal data for the tax
	// reports (docs/tax.md); it must stay the same across restarts. Empty:
	// the tax routes are not served.
	TaxDataKey []byte
	// AppLink is the participant app's download page, put in invitations.
	AppLink string
	// RegistrySecondApproval: a points registry crediting at least this many
	// kopecks needs a second person to confirm it (maker-checker); 0 turns
	// the check off.
	RegistrySecondApproval int64
	// TaskSecondApproval: approving a task report whose reward is at least
	// this many kopecks takes two different staff members, and such a
	// report is never auto-approved; 0 turns the check off.
	TaskSecondApproval int64
	// PlanSecondApproval: a plan period close crediting at least this
	// many kopecks is approved by someone other than its maker; 0 turns
	// the check off.
	PlanSecondApproval int64
	// WorkerMetricsAddr is where a `worker` process serves /metrics
	// (default 127.0.0.1:9090); set but empty turns that listener off. Any
	// address beyond loopback needs OperatorToken (see ForWorker).
	WorkerMetricsAddr string

	Auth  Auth
	OFD   OFD
	Push  Push
	SMS   SMS
	Email Email
	// Rewards: the reward providers (rewards.go).
	Rewards Rewards
}

// Auth configures participant sign-in.
type Auth struct {
	JWTSecret       Secret
	AccessTTL       time.Duration
	RefreshTTL      time.Duration
	OTPTTL          time.Duration
	OTPMaxAttempts  int
	UploadsPerHour  int
	UploadsPerDay   int
	DecodeBudget    time.Duration
	DecodeWorkers   int
	MaxPhotoBytes   int64
	MaxPhotoPixels  int
	TrustedProxyHdr string
}

// OFD configures the fiscal data operator clients.
type OFD struct {
	// Providers is the order in which providers are tried.
	Providers         []string
	ProverkachekaURL  string
	ProverkachekaKey  Secret
	FNSOpenAPIURL     string
	FNSOpenAPIToken   Secret
	CallTimeout       time.Duration
	RatePerMinute     int
	DailyQuota        int
	PendingWindow     time.Duration
	VerifyConcurrency int
}

// Push configures Firebase Cloud Messaging.
type Push struct {
	ProjectID       string
	CredentialsFile string
	// Endpoint overrides the FCM endpoint (the simulator in development).
	Endpoint string
}

// SMS configures the SMS gateway.
type SMS struct {
	GatewayURL string
	APIKey     Secret
	Sender     string
}

// Email configures outgoing SMTP.
type Email struct {
	SMTPAddr string
	// TLS is none, starttls or implicit.
	TLS      string
	Username string
	Password Secret
	From     string
}

// Secret is a string that never prints itself.
type Secret string

// String masks the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "******"
}

// Value returns the secret in clear, for the one place that needs it.
func (s Secret) Value() string { return string(s) }

// Load reads the configuration from the environment.
func Load() (Config, error) { return LoadFrom(os.LookupEnv) }

// LoadFrom reads the configuration through lookup (os.LookupEnv in
// production, a map in tests). It returns every problem at once.
func LoadFrom(lookup func(string) (string, bool)) (Config, error) {
	e := &env{lookup: lookup}
	c := Config{
		Env:               e.oneOf("LJ_ENV", "production", "production", "development"),
		DatabaseURL:       e.url("DATABASE_URL", "", "postgres", "postgresql"),
		RedisURL:          e.optionalURL("REDIS_URL", "", "redis", "rediss"), // required by openDeps' users, not by migrate or ledger check
		HTTPAddr:          e.str("HTTP_ADDR", ":8080"),
		PublicURL:         e.str("PUBLIC_URL", "http://localhost:8080"),
		LogLevel:          e.oneOf("LOG_LEVEL", "info", "debug", "info", "warn", "error"),
		LogFormat:         e.oneOf("LOG_FORMAT", "json", "json", "text"),
		ShutdownTimeout:   e.duration("SHUTDOWN_TIMEOUT", 20*time.Second),
		PhotoDir:          e.str("PHOTO_DIR", "./.local/photos"),
		WorkerConcurrency: e.intRange("WORKER_CONCURRENCY", 10, 1, 1000),
		OperatorToken:     e.secret("OPERATOR_TOKEN", ""),
		CredentialsKey:    e.key("CREDENTIALS_KEY"),
		TaxDataKey:        e.key("TAX_DATA_KEY"),
		WorkerMetricsAddr: e.strOrEmpty("WORKER_METRICS_ADDR", "127.0.0.1:9090"),
		AppLink:           e.str("APP_LINK", "https://loyaltyjam.ru/app"),
		RegistrySecondApproval: int64(e.intRange("REGISTRY_SECOND_APPROVAL_KOPECKS", 10_000_000, 0,
			1<<62)),
		TaskSecondApproval: int64(e.intRange("TASK_SECOND_APPROVAL_KOPECKS", 1_000_000, 0, 1<<62)),
		PlanSecondApproval: int64(e.intRange("PLAN_SECOND_APPROVAL_KOPECKS", 10_000_000, 0, 1<<62)),
	}
	c.Auth = Auth{
		JWTSecret:       e.secret("JWT_SECRET", ""),
		AccessTTL:       e.duration("ACCESS_TOKEN_TTL", 15*time.Minute),
		RefreshTTL:      e.duration("REFRESH_TOKEN_TTL", 30*24*time.Hour),
		OTPTTL:          e.duration("OTP_TTL", 5*time.Minute),
		OTPMaxAttempts:  e.intRange("OTP_MAX_ATTEMPTS", 5, 1, 100),
		UploadsPerHour:  e.intRange("UPLOADS_PER_HOUR", 30, 1, 100000),
		UploadsPerDay:   e.intRange("UPLOADS_PER_DAY", 100, 1, 1000000),
		DecodeBudget:    e.duration("DECODE_BUDGET", 1500*time.Millisecond),
		DecodeWorkers:   e.intRange("DECODE_WORKERS", 2, 1, 256),
		MaxPhotoBytes:   int64(e.intRange("MAX_PHOTO_BYTES", 15<<20, 1<<10, 100<<20)),
		MaxPhotoPixels:  e.intRange("MAX_PHOTO_PIXELS", 50_000_000, 1_000_000, 500_000_000),
		TrustedProxyHdr: e.str("TRUSTED_PROXY_HEADER", ""),
	}
	c.OFD = OFD{
		Providers:         e.list("OFD_PROVIDERS", []string{"proverkacheka"}),
		ProverkachekaURL:  e.str("PROVERKACHEKA_URL", "https://proverkacheka.com"),
		ProverkachekaKey:  e.secret("PROVERKACHEKA_TOKEN", ""),
		FNSOpenAPIURL:     e.str("FNS_OPENAPI_URL", "https://openapi.nalog.ru:8090"),
		FNSOpenAPIToken:   e.secret("FNS_OPENAPI_TOKEN", ""),
		CallTimeout:       e.duration("OFD_CALL_TIMEOUT", 15*time.Second),
		RatePerMinute:     e.intRange("OFD_RATE_PER_MINUTE", 60, 1, 1000000),
		DailyQuota:        e.intRange("OFD_DAILY_QUOTA", 10000, 1, 100000000),
		PendingWindow:     e.duration("OFD_PENDING_WINDOW", 72*time.Hour),
		VerifyConcurrency: e.intRange("OFD_VERIFY_CONCURRENCY", 8, 1, 1000),
	}
	for _, p := range c.OFD.Providers {
		if p != "proverkacheka" && p != "fns_openapi" {
			e.fail("OFD_PROVIDERS", fmt.Sprintf("lists unknown provider %q (proverkacheka, fns_openapi)", p))
		}
	}
	c.Push = Push{
		ProjectID:       e.str("FCM_PROJECT_ID", ""),
		CredentialsFile: e.str("FCM_CREDENTIALS_FILE", ""),
		Endpoint:        e.str("FCM_ENDPOINT", ""),
	}
	c.SMS = SMS{
		GatewayURL: e.str("SMS_GATEWAY_URL", "https://sms.ru"),
		APIKey:     e.secret("SMS_API_KEY", ""),
		Sender:     e.str("SMS_SENDER", "LoyaltyJam"),
	}
	c.Email = Email{
		SMTPAddr: e.str("SMTP_ADDR", ""),
		TLS:      e.oneOf("SMTP_TLS", "starttls", "none", "starttls", "implicit"),
		Username: e.str("SMTP_USERNAME", ""),
		Password: e.secret("SMTP_PASSWORD", ""),
		From:     e.str("SMTP_FROM", "Loyalty Jam <no-reply@loyaltyjam.local>"),
	}
	c.Rewards = e.rewards()
	if err := errors.Join(e.errs...); err != nil {
		return Config{}, err
	}
	return c, nil
}

// ForWorker reports the settings a worker cannot run without: in
// production the key that seals invitation passwords between their
// delivery attempts (every worker must share it, and keep it across
// restarts); anywhere, an operator token when /metrics listens beyond
// loopback.
func (c Config) ForWorker() error {
	var errs []error
	if c.Env == "production" && len(c.CredentialsKey) == 0 {
		errs = append(errs, errors.New("CREDENTIALS_KEY must be set in production (32 bytes as 64 hex digits, e.g. openssl rand -hex 32)"))
	}
	if c.WorkerMetricsAddr != "" && !loopback(c.WorkerMetricsAddr) && len(c.OperatorToken) < 16 {
		errs = append(errs, fmt.Errorf("WORKER_METRICS_ADDR %q is reachable beyond this host: set OPERATOR_TOKEN (at least 16 characters), bind 127.0.0.1, or set it empty to turn /metrics off", c.WorkerMetricsAddr))
	}
	return errors.Join(errs...)
}

// loopback reports whether a listen address (host:port) accepts only
// connections from this host. An empty host (":9090") is every interface.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// ForServe reports the settings that the HTTP API cannot run without in
// production (tools such as migrate or a worker need neither): a JWT
// secret that signs participant tokens, and an operator token, without
// which /metrics and the queue dashboard (which can delete tasks) would be
// open to anyone who reaches the port.
func (c Config) ForServe() error {
	if c.Env != "production" {
		return nil
	}
	var errs []error
	if len(c.Auth.JWTSecret) < 32 {
		errs = append(errs, errors.New("JWT_SECRET must be set to at least 32 characters in production"))
	}
	if len(c.OperatorToken) < 16 {
		errs = append(errs, errors.New("OPERATOR_TOKEN must be set to at least 16 characters in production"))
	}
	return errors.Join(errs...)
}

// String renders the configuration as sorted NAME=value lines with every
// secret and every password inside a URL masked.
func (c Config) String() string {
	kv := map[string]string{
		"LJ_ENV": c.Env, "DATABASE_URL": maskURL(c.DatabaseURL), "REDIS_URL": maskURL(c.RedisURL),
		"HTTP_ADDR": c.HTTPAddr, "PUBLIC_URL": c.PublicURL, "LOG_LEVEL": c.LogLevel,
		"LOG_FORMAT": c.LogFormat, "SHUTDOWN_TIMEOUT": c.ShutdownTimeout.String(),
		"PHOTO_DIR": c.PhotoDir, "WORKER_CONCURRENCY": strconv.Itoa(c.WorkerConcurrency),
		"OPERATOR_TOKEN": c.OperatorToken.String(), "CREDENTIALS_KEY": Secret(c.CredentialsKey).String(), "TAX_DATA_KEY": Secret(c.TaxDataKey).String(), "WORKER_METRICS_ADDR": c.WorkerMetricsAddr, "APP_LINK": c.AppLink,
		"REGISTRY_SECOND_APPROVAL_KOPECKS": strconv.FormatInt(c.RegistrySecondApproval, 10),
		"TASK_SECOND_APPROVAL_KOPECKS":     strconv.FormatInt(c.TaskSecondApproval, 10), "JWT_SECRET": c.Auth.JWTSecret.String(),
		"PLAN_SECOND_APPROVAL_KOPECKS": strconv.FormatInt(c.PlanSecondApproval, 10),
		"OFD_PROVIDERS":                strings.Join(c.OFD.Providers, ","), "PROVERKACHEKA_URL": c.OFD.ProverkachekaURL,
		"PROVERKACHEKA_TOKEN": c.OFD.ProverkachekaKey.String(), "FNS_OPENAPI_URL": c.OFD.FNSOpenAPIURL,
		"FNS_OPENAPI_TOKEN": c.OFD.FNSOpenAPIToken.String(), "FCM_PROJECT_ID": c.Push.ProjectID,
		"FCM_ENDPOINT": c.Push.Endpoint, "SMS_GATEWAY_URL": c.SMS.GatewayURL,
		"SMS_API_KEY": c.SMS.APIKey.String(), "SMTP_ADDR": c.Email.SMTPAddr, "SMTP_TLS": c.Email.TLS,
		"SMTP_PASSWORD": c.Email.Password.String(),
	}
	c.Rewards.addTo(kv)
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, kv[k])
	}
	return b.String()
}

func maskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "******")
	}
	return u.String()
}
