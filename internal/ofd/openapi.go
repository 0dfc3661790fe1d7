package ofd

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ProviderOpenAPI is the provider name of the FNS Open API client.
const ProviderOpenAPI = "openapi"

// DefaultOpenAPIURL is the production base URL of the FNS Open API.
const DefaultOpenAPIURL = "https://openapi.nalog.ru:8090"

// Paths and namespaces of the FNS Open API (delivery kit WSDL/XSD).
const (
	OpenAPIAuthPath = "/open-api/AuthService/0.1"
	OpenAPIKKTPath  = "/open-api/ais3/KktService/0.1"

	nsSOAP      = "http://schemas.xmlsoap.org/soap/envelope/"
	nsSyncMsg   = "urn://x-artefacts-gnivc-ru/inplat/servin/OpenApiMessageConsumerService/types/1.0"
	nsAsyncMsg  = "urn://x-artefacts-gnivc-ru/inplat/servin/OpenApiAsyncMessageConsumerService/types/1.0"
	nsAuthTypes = "urn://x-artefacts-gnivc-ru/ais3/kkt/AuthService/types/1.0"
	nsKKTTypes  = "urn://x-artefacts-gnivc-ru/ais3/kkt/KktTicketService/types/1.0"
)

// OpenAPIConfig configures an OpenAPI client.
type OpenAPIConfig struct {
	// BaseURL without the path; default DefaultOpenAPIURL.
	BaseURL string
	// MasterToken is issued by FNS (secret; never logged).
	MasterToken string
	// UserID identifies the end user to FNS (sent base64-encoded in
	// FNS-OpenApi-UserToken, ≤160 chars); default "loyaltyjam".
	UserID string
	// Timeout is the deadline of one HTTP call; default DefaultTimeout.
	Timeout time.Duration
	// PollInterval is the pause between GetMessage polls; default 1 s.
	PollInterval time.Duration
	// MaxPolls bounds GetMessage polls per request; default 5. When the
	// answer is still PROCESSING, Fetch returns ErrNotYet ("processing").
	MaxPolls int
	// StorageWindow is how long FNS keeps documents in operational storage:
	// a 404 for a younger receipt means "not yet", for an older one "not
	// found" (final). Default 76 days (≈2.5 months).
	StorageWindow time.Duration
	// HTTPClient defaults to a new client without a global timeout.
	HTTPClient *http.Client
	Logger     *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// OpenAPI is a client of the official FNS Open API (SOAP 1.1). It gets a
// temporary token from AuthService with the master token and caches it until
// its ExpireTime; KktService calls are asynchronous: SendMessage returns a
// MessageId, GetMessage is polled until COMPLETED. Result codes:
//
//	200 → Receipt                                  400 → *RejectedError{ReasonBadRequest}
//	404 → ErrNotYet while the receipt is younger than StorageWindow, else *RejectedError{ReasonNotFound}
//	406 → *RejectedError{ReasonInvalidSign} (FNS forbids further attempts)
//	503 → transient
//
// HTTP 429 → *RateLimitedError; other HTTP errors, SOAP faults and malformed
// bodies → transient. An AuthenticationFault drops the cached token and the
// call is retried once.
type OpenAPI struct {
	cfg OpenAPIConfig
	log *slog.Logger

	mu      sync.Mutex
	token   string
	expires time.Time
}

var _ Fetcher = (*OpenAPI)(nil)

// NewOpenAPI returns a client; it fails when the master token is empty.
func NewOpenAPI(cfg OpenAPIConfig) (*OpenAPI, error) {
	if cfg.MasterToken == "" {
		return nil, errors.New("ofd: openapi: master token is required")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultOpenAPIURL
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.UserID == "" {
		cfg.UserID = "loyaltyjam"
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.MaxPolls <= 0 {
		cfg.MaxPolls = 5
	}
	if cfg.StorageWindow <= 0 {
		cfg.StorageWindow = 76 * 24 * time.Hour
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()} // an own connection pool
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &OpenAPI{cfg: cfg, log: orDiscard(cfg.Logger)}, nil
}

// Name returns ProviderOpenAPI.
func (c *OpenAPI) Name() string { return ProviderOpenAPI }

// Fetch implements Fetcher with a GetTicket request.
func (c *OpenAPI) Fetch(ctx context.Context, q Query) (Receipt, error) {
	if err := CheckOperation(ProviderOpenAPI, q.Operation); err != nil {
		return Receipt{}, err
	}
	start := c.cfg.Now()
	res, err := c.call(ctx, ticketRequest("GetTicketRequest", "GetTicketInfo", q))
	var r Receipt
	if err == nil {
		r, err = c.ticketOutcome(q, res, true)
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "ofd_fetch", slog.String("provider", ProviderOpenAPI),
		slog.String("fn", q.FN), slog.Uint64("fd", q.FD), slog.Duration("took", c.cfg.Now().Sub(start)), slog.Any("error", err))
	return r, err
}

// Check asks FNS whether the document exists and its fiscal sign is valid
// (CheckTicket), without fetching it. It returns nil on code 200 and the same
// typed errors as Fetch otherwise.
func (c *OpenAPI) Check(ctx context.Context, q Query) error {
	if err := CheckOperation(ProviderOpenAPI, q.Operation); err != nil {
		return err
	}
	res, err := c.call(ctx, ticketRequest("CheckTicketRequest", "CheckTicketInfo", q))
	if err != nil {
		return err
	}
	_, err = c.ticketOutcome(q, res, false)
	return err
}

func ticketRequest(elem, info string, q Query) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<tns:%s xmlns:tns="%s"><tns:%s>`, elem, nsKKTTypes, info)
	fmt.Fprintf(&b, "<tns:Sum>%d</tns:Sum>", q.SumKopecks)
	fmt.Fprintf(&b, "<tns:Date>%s</tns:Date>", q.Time.Format("2006-01-02T15:04:05"))
	fmt.Fprintf(&b, "<tns:Fn>%s</tns:Fn>", xmlText(q.FN))
	fmt.Fprintf(&b, "<tns:TypeOperation>%d</tns:TypeOperation>", q.Operation)
	fmt.Fprintf(&b, "<tns:FiscalDocumentId>%d</tns:FiscalDocumentId>", q.FD)
	fmt.Fprintf(&b, "<tns:FiscalSign>%d</tns:FiscalSign>", q.FP)
	fmt.Fprintf(&b, "</tns:%s></tns:%s>", info, elem)
	return b.String()
}

func xmlText(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func envelope(body string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>` +
		`<soapenv:Envelope xmlns:soapenv="` + nsSOAP + `"><soapenv:Header/><soapenv:Body>` + body +
		`</soapenv:Body></soapenv:Envelope>`
}

// soapEnvelope decodes every response shape we use; element names match in
// any namespace.
type soapEnvelope struct {
	Body struct {
		Fault *struct {
			Code   string `xml:"faultcode"`
			String string `xml:"faultstring"`
			Detail struct {
				Inner string `xml:",innerxml"`
			} `xml:"detail"`
		} `xml:"Fault"`
		SendMessageResponse *struct {
			MessageID string `xml:"MessageId"`
		} `xml:"SendMessageResponse"`
		GetMessageResponse *struct {
			ProcessingStatus string `xml:"ProcessingStatus"`
			Message          struct {
				AuthResponse        *authResponse   `xml:"AuthResponse"`
				GetTicketResponse   *ticketResponse `xml:"GetTicketResponse"`
				CheckTicketResponse *ticketResponse `xml:"CheckTicketResponse"`
			} `xml:"Message"`
		} `xml:"GetMessageResponse"`
	} `xml:"Body"`
}

type authResponse struct {
	Result *struct {
		Token      string `xml:"Token"`
		ExpireTime string `xml:"ExpireTime"`
	} `xml:"Result"`
	Fault *struct {
		Message string `xml:"Message"`
	} `xml:"Fault"`
}

type ticketResponse struct {
	Result *struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
		Ticket  string `xml:"Ticket"`
	} `xml:"Result"`
	Fault *struct {
		Message string `xml:"Message"`
	} `xml:"Fault"`
}

// errAuthFault marks an AuthenticationFault so call can refresh the token once.
var errAuthFault = errors.New("authentication fault")

// post sends one SOAP request and decodes the envelope. SOAP faults become
// *TransientError (wrapping errAuthFault for AuthenticationFault).
func (c *OpenAPI) post(ctx context.Context, path, action, token, body string) (*soapEnvelope, error) {
	const p = ProviderOpenAPI
	req, err := http.NewRequest(http.MethodPost, c.cfg.BaseURL+path, strings.NewReader(envelope(body)))
	if err != nil {
		return nil, fmt.Errorf("ofd: openapi: build request: %w", err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", action)
	if token != "" {
		req.Header.Set("FNS-OpenApi-Token", token)
		req.Header.Set("FNS-OpenApi-UserToken", base64.StdEncoding.EncodeToString([]byte(c.cfg.UserID)))
	}
	status, hdr, raw, err := doHTTP(ctx, c.cfg.HTTPClient, c.cfg.Timeout, p, req)
	if err != nil {
		return nil, err
	}
	if status == http.StatusTooManyRequests {
		return nil, &RateLimitedError{Provider: p, Reason: "provider", RetryAfter: retryAfter(hdr, c.cfg.Now(), time.Minute), Message: snippet(raw)}
	}
	var env soapEnvelope
	decErr := xml.Unmarshal(raw, &env)
	if decErr == nil && env.Body.Fault != nil {
		f := env.Body.Fault
		err := fmt.Errorf("%s: %s", f.Code, f.String)
		if strings.Contains(f.Detail.Inner, "AuthenticationFault") {
			err = fmt.Errorf("%w: %v", errAuthFault, err)
		}
		return nil, &TransientError{Provider: p, Op: "soap_fault", Status: status, Err: err}
	}
	if status != http.StatusOK {
		return nil, statusError(p, status, raw)
	}
	if decErr != nil {
		return nil, &TransientError{Provider: p, Op: "decode", Status: status, Err: fmt.Errorf("%w: %s", decErr, snippet(raw))}
	}
	return &env, nil
}

// authToken returns the cached temporary token or gets a new one.
func (c *OpenAPI) authToken(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.cfg.Now()
	if c.token != "" && now.Before(c.expires) {
		return c.token, nil
	}
	body := `<ns:GetMessageRequest xmlns:ns="` + nsSyncMsg + `"><ns:Message>` +
		`<tns:AuthRequest xmlns:tns="` + nsAuthTypes + `"><tns:AuthAppInfo><tns:MasterToken>` +
		xmlText(c.cfg.MasterToken) + `</tns:MasterToken></tns:AuthAppInfo></tns:AuthRequest>` +
		`</ns:Message></ns:GetMessageRequest>`
	env, err := c.post(ctx, OpenAPIAuthPath, "urn:GetMessageRequest", "", body)
	if err != nil {
		return "", err
	}
	gm := env.Body.GetMessageResponse
	if gm == nil || gm.Message.AuthResponse == nil {
		return "", &TransientError{Provider: ProviderOpenAPI, Op: "decode", Err: errors.New("no AuthResponse")}
	}
	ar := gm.Message.AuthResponse
	if ar.Result == nil || strings.TrimSpace(ar.Result.Token) == "" {
		msg := ""
		if ar.Fault != nil {
			msg = ar.Fault.Message
		}
		return "", &TransientError{Provider: ProviderOpenAPI, Op: "auth", Err: fmt.Errorf("auth refused: %s", msg)}
	}
	exp, err := parseExpireTime(ar.Result.ExpireTime)
	if err != nil {
		exp = now.Add(10 * time.Minute)
	}
	// Renew a little early so a token never expires in flight.
	c.token, c.expires = strings.TrimSpace(ar.Result.Token), exp.Add(-30*time.Second)
	c.log.LogAttrs(ctx, slog.LevelDebug, "ofd_openapi_token", slog.Time("expires", exp))
	return c.token, nil
}

func (c *OpenAPI) dropToken(token string) {
	c.mu.Lock()
	if c.token == token {
		c.token = ""
	}
	c.mu.Unlock()
}

// parseExpireTime accepts xs:dateTime and the "2020-10-31T21:16:03 +03:00"
// form seen from the real service.
func parseExpireTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05 -07:00", "2006-01-02T15:04:05-0700", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("ofd: openapi: bad ExpireTime %q", s)
}

// call sends a KKT request and polls for its result, refreshing the token
// once on an AuthenticationFault.
func (c *OpenAPI) call(ctx context.Context, msg string) (*ticketResponse, error) {
	for attempt := 0; ; attempt++ {
		tok, err := c.authToken(ctx)
		if err != nil {
			return nil, err
		}
		res, err := c.sendAndPoll(ctx, tok, msg)
		if err != nil && errors.Is(err, errAuthFault) && attempt == 0 {
			c.dropToken(tok)
			continue
		}
		return res, err
	}
}

func (c *OpenAPI) sendAndPoll(ctx context.Context, tok, msg string) (*ticketResponse, error) {
	const p = ProviderOpenAPI
	body := `<ns:SendMessageRequest xmlns:ns="` + nsAsyncMsg + `"><ns:Message>` + msg + `</ns:Message></ns:SendMessageRequest>`
	env, err := c.post(ctx, OpenAPIKKTPath, "urn:SendMessageRequest", tok, body)
	if err != nil {
		return nil, err
	}
	if env.Body.SendMessageResponse == nil || strings.TrimSpace(env.Body.SendMessageResponse.MessageID) == "" {
		return nil, &TransientError{Provider: p, Op: "decode", Err: errors.New("no MessageId in SendMessageResponse")}
	}
	id := strings.TrimSpace(env.Body.SendMessageResponse.MessageID)
	poll := `<ns:GetMessageRequest xmlns:ns="` + nsAsyncMsg + `"><ns:MessageId>` + xmlText(id) + `</ns:MessageId></ns:GetMessageRequest>`
	for i := 0; i < c.cfg.MaxPolls; i++ {
		if i > 0 {
			t := time.NewTimer(c.cfg.PollInterval)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			case <-t.C:
			}
		}
		env, err := c.post(ctx, OpenAPIKKTPath, "urn:GetMessageRequest", tok, poll)
		if err != nil {
			return nil, err
		}
		gm := env.Body.GetMessageResponse
		if gm == nil {
			return nil, &TransientError{Provider: p, Op: "decode", Err: errors.New("no GetMessageResponse")}
		}
		switch strings.TrimSpace(gm.ProcessingStatus) {
		case "PROCESSING":
			continue
		case "COMPLETED":
			tr := gm.Message.GetTicketResponse
			if tr == nil {
				tr = gm.Message.CheckTicketResponse
			}
			if tr == nil {
				return nil, &TransientError{Provider: p, Op: "decode", Err: errors.New("COMPLETED without a ticket response")}
			}
			return tr, nil
		default:
			return nil, &TransientError{Provider: p, Op: "decode", Err: fmt.Errorf("ProcessingStatus %q", gm.ProcessingStatus)}
		}
	}
	return nil, &PendingError{Provider: p, Reason: "processing", Message: fmt.Sprintf("still PROCESSING after %d polls", c.cfg.MaxPolls)}
}

func (c *OpenAPI) ticketOutcome(q Query, tr *ticketResponse, wantTicket bool) (Receipt, error) {
	const p = ProviderOpenAPI
	if tr.Fault != nil {
		return Receipt{}, &TransientError{Provider: p, Op: "soap_fault", Err: errors.New(tr.Fault.Message)}
	}
	if tr.Result == nil {
		return Receipt{}, &TransientError{Provider: p, Op: "decode", Err: errors.New("no Result")}
	}
	code, err := strconv.Atoi(strings.TrimSpace(tr.Result.Code))
	if err != nil {
		return Receipt{}, &TransientError{Provider: p, Op: "decode", Err: fmt.Errorf("bad Code %q", tr.Result.Code)}
	}
	msg := strings.TrimSpace(tr.Result.Message)
	switch code {
	case 200:
		if !wantTicket {
			return Receipt{}, nil
		}
		r, err := DecodeReceipt([]byte(tr.Result.Ticket))
		if err != nil {
			return Receipt{}, &TransientError{Provider: p, Op: "decode", Err: err}
		}
		r.Provider = p
		if err := CrossCheck(q, r); err != nil {
			return Receipt{}, err
		}
		return r, nil
	case 400:
		return Receipt{}, &RejectedError{Provider: p, Reason: ReasonBadRequest, Message: msg}
	case 404:
		if !q.Time.IsZero() && wall(c.cfg.Now()).Sub(q.Time) > c.cfg.StorageWindow {
			return Receipt{}, &RejectedError{Provider: p, Reason: ReasonNotFound, Message: msg}
		}
		return Receipt{}, &PendingError{Provider: p, Reason: "not_found_young", Message: msg}
	case 406:
		return Receipt{}, &RejectedError{Provider: p, Reason: ReasonInvalidSign, Message: msg}
	case 503:
		return Receipt{}, &TransientError{Provider: p, Op: "status", Status: 503, Err: fmt.Errorf("service unavailable: %s", msg)}
	}
	return Receipt{}, &TransientError{Provider: p, Op: "unknown_code", Err: fmt.Errorf("code %d: %s", code, msg)}
}
