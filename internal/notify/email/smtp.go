package email

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// TLSMode is how the connection to the SMTP server is secured.
type TLSMode int

const (
	// TLSNone sends in clear text (local relay, the simulator).
	TLSNone TLSMode = iota
	// TLSStartTLS requires the STARTTLS upgrade (submission port 587).
	TLSStartTLS
	// TLSImplicit starts in TLS (SMTPS, port 465).
	TLSImplicit
)

// Message is one e-mail to one recipient.
type Message struct {
	// To is the recipient address ("ivan@example.ru").
	To string
	// ToName is the recipient's display name, may be Cyrillic.
	ToName string
	// Subject may be Cyrillic; it is encoded as UTF-8 Q-encoding.
	Subject string
	// Text is the plain-text body. Required.
	Text string
	// HTML is an optional HTML alternative of Text.
	HTML string
	// Headers are extra headers (e.g. "X-Loyaltyjam-Notification": id); the
	// standard ones are set by Send.
	Headers map[string]string
}

// Result is the outcome of an accepted send.
type Result struct {
	// MessageID is the Message-ID header we generated, without brackets.
	MessageID string
}

// Options configure a Client.
type Options struct {
	// Addr is the server's host:port. Required.
	Addr string
	// From is the sender address. Required.
	From string
	// FromName is the sender's display name, e.g. "Loyalty Jam".
	FromName string
	// Username and Password enable AUTH PLAIN. The SMTP library refuses
	// to send them over an unencrypted connection except to localhost.
	Username string
	Password string
	// TLS selects TLSNone, TLSStartTLS or TLSImplicit.
	TLS TLSMode
	// TLSConfig is used for STARTTLS and implicit TLS; ServerName defaults
	// to Addr's host.
	TLSConfig *tls.Config
	// HeloName is the name sent in EHLO; default "localhost".
	HeloName string
	// Timeout bounds dialing and each SMTP command; the whole message is
	// given twice as long. Default 30 s.
	Timeout time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Now is the clock for the Date header; default time.Now.
	Now func() time.Time
}

// Client sends e-mail over SMTP, one connection per message. It is safe for
// concurrent use.
type Client struct {
	o    Options
	from *mail.Address
	log  *slog.Logger
}

// New returns a Client. It does not contact the server.
func New(o Options) (*Client, error) {
	if o.Addr == "" {
		return nil, errors.New("email: server address is required")
	}
	host, _, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return nil, fmt.Errorf("email: server address: %w", err)
	}
	from, err := mail.ParseAddress(o.From)
	if err != nil {
		return nil, fmt.Errorf("email: from address: %w", err)
	}
	if o.FromName != "" {
		from.Name = o.FromName
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.HeloName == "" {
		o.HeloName = "localhost"
	}
	if o.TLSConfig == nil {
		o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	} else {
		o.TLSConfig = o.TLSConfig.Clone()
	}
	if o.TLSConfig.ServerName == "" {
		o.TLSConfig.ServerName = host
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &Client{o: o, from: from, log: o.Logger}
	if c.log == nil {
		c.log = slog.Default()
	}
	return c, nil
}

// Send submits m. On failure it returns an *Error; see Kind.
func (c *Client) Send(ctx context.Context, m Message) (Result, error) {
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return Result{}, &Error{Kind: KindRejected, Text: "invalid recipient address"}
	}
	to.Name = m.ToName
	if m.Text == "" {
		return Result{}, &Error{Kind: KindRejected, Text: "empty text body"}
	}
	id := c.messageID()
	body, err := c.compose(m, to, id)
	if err != nil {
		return Result{}, &Error{Kind: KindRejected, Text: "composing message", Err: err}
	}
	if err := c.submit(ctx, to.Address, body); err != nil {
		var e *Error
		if errors.As(err, &e) {
			level := slog.LevelWarn
			if e.Kind == KindConfig {
				level = slog.LevelError
			}
			c.log.LogAttrs(ctx, level, "email_send_failed", slog.String("to", MaskAddress(to.Address)),
				slog.String("kind", e.Kind.String()), slog.Int("smtp_code", e.Code), slog.String("text", e.Text), slog.Any("error", e.Err))
		}
		return Result{}, err
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "email_sent", slog.String("to", MaskAddress(to.Address)), slog.String("message_id", id))
	return Result{MessageID: id}, nil
}

func (c *Client) submit(ctx context.Context, rcpt string, body []byte) error {
	// Bound the whole conversation, including the greeting that go-smtp
	// times with its own 5-minute default.
	ctx, cancel := context.WithTimeout(ctx, 4*c.o.Timeout)
	defer cancel()
	d := net.Dialer{Timeout: c.o.Timeout}
	conn, err := d.DialContext(ctx, "tcp", c.o.Addr)
	if err != nil {
		return &Error{Kind: KindRetryable, Text: "connecting", Err: err}
	}
	// go-smtp has no context support: closing the connection unblocks it.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()

	var sc *smtp.Client
	switch c.o.TLS {
	case TLSImplicit:
		tc := tls.Client(conn, c.o.TLSConfig)
		hctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
		err = tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			_ = conn.Close()
			return classifyConfig(ctx, "TLS handshake", err)
		}
		sc = smtp.NewClient(tc)
	case TLSStartTLS:
		// go-smtp only upgrades as part of the greeting, so EHLO goes out
		// as "localhost" here.
		_ = conn.SetDeadline(time.Now().Add(c.o.Timeout))
		sc, err = smtp.NewClientStartTLS(conn, c.o.TLSConfig)
		if err != nil {
			_ = conn.Close()
			return classifyConfig(ctx, "STARTTLS", err)
		}
	default:
		sc = smtp.NewClient(conn)
	}
	defer sc.Close()
	sc.CommandTimeout = c.o.Timeout
	sc.SubmissionTimeout = 2 * c.o.Timeout

	if c.o.TLS != TLSStartTLS {
		if err := sc.Hello(c.o.HeloName); err != nil {
			return classify(ctx, "EHLO", err)
		}
	}
	if c.o.Username != "" {
		if err := sc.Auth(sasl.NewPlainClient("", c.o.Username, c.o.Password)); err != nil {
			return classifyConfig(ctx, "AUTH", err)
		}
	}
	if err := sc.Mail(c.from.Address, nil); err != nil {
		return classify(ctx, "MAIL FROM", err)
	}
	if err := sc.Rcpt(rcpt, nil); err != nil {
		return classify(ctx, "RCPT TO", err)
	}
	w, err := sc.Data()
	if err != nil {
		return classify(ctx, "DATA", err)
	}
	if _, err := w.Write(body); err != nil {
		_ = w.Close()
		return classify(ctx, "DATA", err)
	}
	if err := w.Close(); err != nil {
		return classify(ctx, "DATA", err)
	}
	if err := sc.Quit(); err != nil {
		// The message was accepted at the end of DATA; a failed QUIT
		// does not un-send it.
		c.log.LogAttrs(ctx, slog.LevelDebug, "email_quit_failed", slog.Any("error", err))
	}
	return nil
}

func (c *Client) messageID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	domain := "loyaltyjam.local"
	if i := strings.LastIndexByte(c.from.Address, '@'); i >= 0 {
		domain = c.from.Address[i+1:]
	}
	return hex.EncodeToString(b[:]) + "@" + domain
}

// compose renders the RFC 5322 message with CRLF line ends.
func (c *Client) compose(m Message, to *mail.Address, id string) ([]byte, error) {
	var buf bytes.Buffer
	h := func(k, v string) { buf.WriteString(k + ": " + v + "\r\n") }
	h("From", c.from.String())
	h("To", to.String())
	h("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	h("Date", c.o.Now().Format(time.RFC1123Z))
	h("Message-ID", "<"+id+">")
	h("MIME-Version", "1.0")
	for k, v := range m.Headers {
		k = textproto.CanonicalMIMEHeaderKey(k)
		if strings.ContainsAny(k+v, "\r\n") {
			return nil, fmt.Errorf("header %q contains a line break", k)
		}
		h(k, mime.QEncoding.Encode("utf-8", v))
	}
	if m.HTML == "" {
		h("Content-Type", "text/plain; charset=utf-8")
		h("Content-Transfer-Encoding", "quoted-printable")
		buf.WriteString("\r\n")
		if err := writeQP(&buf, m.Text); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	mw := multipart.NewWriter(&buf)
	h("Content-Type", `multipart/alternative; boundary="`+mw.Boundary()+`"`)
	buf.WriteString("\r\n")
	for _, p := range []struct{ ctype, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		pw, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {p.ctype + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		if err := writeQP(pw, p.body); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

type writer interface{ Write([]byte) (int, error) }

func writeQP(w writer, s string) error {
	qp := quotedprintable.NewWriter(w)
	// Normalise line ends: quoted-printable turns a bare "\n" into CRLF.
	if _, err := qp.Write([]byte(strings.ReplaceAll(s, "\r\n", "\n"))); err != nil {
		return err
	}
	return qp.Close()
}

// MaskAddress hides an e-mail address for logs: "iv***@example.ru".
func MaskAddress(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return "***"
	}
	local := addr[:at]
	if len(local) > 2 {
		local = local[:2]
	}
	return local + "***" + addr[at:]
}
