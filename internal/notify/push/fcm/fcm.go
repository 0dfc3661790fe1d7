package fcm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	firebase "firebase.google.com/go/v4"
	"firebase.google.com/go/v4/messaging"
	"google.golang.org/api/option"

	"github.com/loyaltyjam/loyaltyjam/internal/notify/push"
)

// Options configure a Sender.
type Options struct {
	// ProjectID is the Firebase project id. Required.
	ProjectID string
	// CredentialsFile is the path of a service account JSON key. With
	// neither CredentialsFile nor CredentialsJSON nor Endpoint set,
	// Application Default Credentials are used.
	CredentialsFile string
	// CredentialsJSON is a service account JSON key, as an alternative to
	// CredentialsFile.
	CredentialsJSON []byte
	// Endpoint overrides the FCM base URL, e.g. "http://127.0.0.1:8092/v1"
	// for the simulator. A missing "/v1" suffix is added. When Endpoint is
	// set and no credentials are given, requests are sent without
	// authentication.
	Endpoint string
	// Timeout bounds one Send or SendEach including the SDK's own retries.
	// Default 30 s.
	Timeout time.Duration
	// HTTPClient, if set, is used as is (it must add authentication itself
	// when talking to the real FCM). Meant for tests and the simulator.
	HTTPClient *http.Client
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Now is the clock used to compute apns-expiration; default time.Now.
	Now func() time.Time
}

// Sender sends push notifications through FCM. It is safe for concurrent
// use.
type Sender struct {
	client  *messaging.Client
	project string
	timeout time.Duration
	log     *slog.Logger
	now     func() time.Time
}

// New builds a Sender. It does not contact FCM; credentials are loaded and
// checked lazily by the SDK on the first send.
func New(ctx context.Context, o Options) (*Sender, error) {
	if o.ProjectID == "" {
		return nil, errors.New("push: project id is required")
	}
	var opts []option.ClientOption
	switch {
	case o.CredentialsFile != "":
		opts = append(opts, option.WithAuthCredentialsFile(option.ServiceAccount, o.CredentialsFile))
	case len(o.CredentialsJSON) > 0:
		opts = append(opts, option.WithAuthCredentialsJSON(option.ServiceAccount, o.CredentialsJSON))
	case o.HTTPClient == nil && o.Endpoint != "":
		opts = append(opts, option.WithoutAuthentication())
	}
	if o.HTTPClient != nil {
		opts = append(opts, option.WithHTTPClient(o.HTTPClient))
	}
	if o.Endpoint != "" {
		opts = append(opts, option.WithEndpoint(normalizeEndpoint(o.Endpoint)))
	}
	app, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: o.ProjectID}, opts...)
	if err != nil {
		return nil, fmt.Errorf("push: firebase app: %w", err)
	}
	client, err := app.Messaging(ctx)
	if err != nil {
		return nil, fmt.Errorf("push: messaging client: %w", err)
	}
	s := &Sender{client: client, project: o.ProjectID, timeout: o.Timeout, log: o.Logger, now: o.Now}
	if s.timeout <= 0 {
		s.timeout = 30 * time.Second
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

func normalizeEndpoint(e string) string {
	e = strings.TrimRight(e, "/")
	if !strings.HasSuffix(e, "/v1") {
		e += "/v1"
	}
	return e
}

// Send delivers m to one device. On failure it returns an *Error:
// errors.Is(err, ErrTokenInvalid) means the token must be deleted;
// err.(*Error).Retryable() means try again later (after RetryAfter() if
// non-zero); anything else is permanent for this message.
func (s *Sender) Send(ctx context.Context, m push.Message) (push.Result, error) {
	fm, err := s.build(m)
	if err != nil {
		return push.Result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	id, err := s.client.Send(ctx, fm)
	if err != nil {
		e := classify(ctx, err)
		s.log.LogAttrs(ctx, logLevel(e), "push_send_failed",
			slog.String("token", push.MaskToken(m.Token)), slog.String("kind", e.Kind.String()),
			slog.String("code", e.Code), slog.Int("http_status", e.HTTPStatus), slog.Any("error", e.Err))
		return push.Result{}, e
	}
	s.log.LogAttrs(ctx, slog.LevelDebug, "push_sent", slog.String("token", push.MaskToken(m.Token)), slog.String("message_id", id))
	return push.Result{MessageID: id}, nil
}

// SendEach delivers the same notification m to every token (e.g. all the
// devices of one participant) concurrently, with m.Token ignored. It returns
// one push.TokenResult per token in the same order; per-token errors are
// classified as in Send. The error return is only for a failure that
// concerns the whole batch (an invalid message); up to 500 tokens.
func (s *Sender) SendEach(ctx context.Context, m push.Message, tokens []string) ([]push.TokenResult, error) {
	if len(tokens) == 0 {
		return nil, nil
	}
	msgs := make([]*messaging.Message, len(tokens))
	for i, t := range tokens {
		mm := m
		mm.Token = t
		fm, err := s.build(mm)
		if err != nil {
			return nil, err
		}
		msgs[i] = fm
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	br, err := s.client.SendEach(ctx, msgs)
	if err != nil {
		return nil, classify(ctx, err)
	}
	out := make([]push.TokenResult, len(tokens))
	for i, r := range br.Responses {
		out[i].Token = tokens[i]
		if r.Success {
			out[i].MessageID = r.MessageID
			continue
		}
		e := classify(ctx, r.Error)
		out[i].Err = e
		s.log.LogAttrs(ctx, logLevel(e), "push_send_failed",
			slog.String("token", push.MaskToken(tokens[i])), slog.String("kind", e.Kind.String()),
			slog.String("code", e.Code), slog.Int("http_status", e.HTTPStatus), slog.Any("error", e.Err))
	}
	return out, nil
}

// build maps our platform-neutral push.Message to the SDK's FCM message with the
// Android and APNs blocks filled in, so both platforms collapse, expire and
// prioritise the notification the same way.
func (s *Sender) build(m push.Message) (*messaging.Message, error) {
	switch {
	case m.Token == "":
		return nil, &push.Error{Kind: push.KindPermanent, Code: "INVALID_ARGUMENT", Err: errors.New("push: empty registration token")}
	case len(m.CollapseKey) > push.MaxCollapseKey:
		return nil, &push.Error{Kind: push.KindPermanent, Code: "INVALID_ARGUMENT", Err: fmt.Errorf("push: collapse key longer than %d bytes", push.MaxCollapseKey)}
	case m.TTL < 0:
		return nil, &push.Error{Kind: push.KindPermanent, Code: "INVALID_ARGUMENT", Err: errors.New("push: negative ttl")}
	}
	for k := range m.Data {
		if isReservedDataKey(k) {
			return nil, &push.Error{Kind: push.KindPermanent, Code: "INVALID_ARGUMENT", Err: fmt.Errorf("push: data key %q is reserved by FCM", k)}
		}
	}
	sound := m.Sound
	if sound == "" {
		sound = "default"
	}
	androidPriority, apnsPriority := "high", "10"
	if m.Priority == push.PriorityNormal {
		androidPriority, apnsPriority = "normal", "5"
	}

	android := &messaging.AndroidConfig{
		CollapseKey: m.CollapseKey,
		Priority:    androidPriority,
		Notification: &messaging.AndroidNotification{
			ChannelID: m.ChannelID,
			Sound:     sound,
			Tag:       m.CollapseKey,
		},
	}
	headers := map[string]string{
		"apns-priority":  apnsPriority,
		"apns-push-type": "alert",
	}
	if m.CollapseKey != "" {
		headers["apns-collapse-id"] = m.CollapseKey
	}
	if m.TTL > 0 {
		ttl := m.TTL
		android.TTL = &ttl
		headers["apns-expiration"] = strconv.FormatInt(s.now().Add(m.TTL).Unix(), 10)
	}
	return &messaging.Message{
		Token:        m.Token,
		Notification: &messaging.Notification{Title: m.Title, Body: m.Body},
		Data:         m.Data,
		Android:      android,
		APNS: &messaging.APNSConfig{
			Headers: headers,
			Payload: &messaging.APNSPayload{Aps: &messaging.Aps{
				Alert:    &messaging.ApsAlert{Title: m.Title, Body: m.Body},
				Sound:    sound,
				Badge:    m.Badge,
				ThreadID: m.ThreadID,
			}},
		},
	}, nil
}

func isReservedDataKey(k string) bool {
	return k == "from" || k == "message_type" || strings.HasPrefix(k, "google.") || strings.HasPrefix(k, "gcm.")
}
