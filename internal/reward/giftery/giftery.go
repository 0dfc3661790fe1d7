// Package giftery is a client of Giftery's B2B API (ssl-api.giftery.ru),
// the gift-certificate aggregator, implementing provider.Provider.
//
// The protocol, as Giftery's public clients speak it (sources in
// docs/rewards-providers.md): every call goes to one URL with the query
// parameters id (our client id), cmd (the method: getProducts, makeOrder,
// getStatus, getCode, getBalance, …), in=json, out=json, data (the
// method's arguments as a JSON string) and sig, the hex SHA-256 of
// cmd + data + secret. makeOrder is sent as a POST whose form body
// carries data and sig. Every answer is {"status":"ok","data":…} or
// {"status":"error","error":{"code":N,"text":"…"}}.
//
// Exactly-once: our order id travels as makeOrder's uuid (and
// external_id); a second makeOrder with the same uuid returns the first
// order, and Status finds an order by that uuid, so an order whose
// makeOrder timed out is reconciled, never placed twice.
package giftery

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/money"
	"github.com/loyaltyjam/loyaltyjam/internal/reward/provider"
)

// Name is the provider's name in the registry and the catalog.
const Name = "giftery"

// DefaultBaseURL is Giftery's production endpoint.
const DefaultBaseURL = "https://ssl-api.giftery.ru"

// Error codes of Giftery's {"status":"error"} answers that the client
// maps to the contract's errors. Giftery's public clients show the shape
// ({"code":N,"text":"…"}) but not the numbers; these are the simulator's,
// and Options.Codes replaces them once confirmed with Giftery.
type Codes struct {
	BadSignature  []int // authentication failed: nothing was ordered
	OutOfStock    []int // → provider.ErrOutOfStock
	BadRecipient  []int // e-mail or phone refused → provider.ErrBadRecipient
	Rejected      []int // bad face, inactive product, no money on our account → provider.ErrRejected
	OrderNotFound []int // getStatus of an unknown uuid → provider.ErrOrderNotFound
}

// DefaultCodes are the codes gifterysim answers with.
var DefaultCodes = Codes{
	BadSignature:  []int{2},
	OutOfStock:    []int{12},
	BadRecipient:  []int{14},
	Rejected:      []int{10, 11, 13},
	OrderNotFound: []int{20},
}

// Options configure a Client.
type Options struct {
	BaseURL  string // default DefaultBaseURL
	ClientID string // Giftery's numeric client id
	Secret   string
	// Timeout bounds one HTTP call. Default 30 s.
	Timeout time.Duration
	// MaxBody bounds an answer; a larger one is an error. Default 16 MiB
	// (the product list is the largest answer).
	MaxBody int64
	// DeliveryType is makeOrder's delivery_type; default "code" (we
	// deliver the code ourselves).
	DeliveryType string
	// TestMode sends testmode=1: Giftery accepts the order without
	// charging.
	TestMode bool
	// Codes maps error codes; zero value: DefaultCodes.
	Codes *Codes
	// HTTPClient, if set, is used instead of one built from Timeout.
	HTTPClient *http.Client
}

// Client talks to Giftery. It is safe for concurrent use.
type Client struct {
	base  string
	opts  Options
	codes Codes
	http  *http.Client
}

var _ provider.Provider = (*Client)(nil)

// New returns a client; the client id and secret are required.
func New(opts Options) (*Client, error) {
	if opts.BaseURL == "" {
		opts.BaseURL = DefaultBaseURL
	}
	u, err := url.Parse(opts.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("giftery: base URL %q is not an http(s) URL", opts.BaseURL)
	}
	if _, err := strconv.ParseUint(opts.ClientID, 10, 64); err != nil {
		return nil, errors.New("giftery: client id must be Giftery's numeric id")
	}
	if opts.Secret == "" {
		return nil, errors.New("giftery: secret is required")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = 16 << 20
	}
	if opts.DeliveryType == "" {
		opts.DeliveryType = "code"
	}
	c := &Client{base: strings.TrimRight(opts.BaseURL, "/") + "/", opts: opts, codes: DefaultCodes, http: opts.HTTPClient}
	if opts.Codes != nil {
		c.codes = *opts.Codes
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: opts.Timeout}
	}
	return c, nil
}

// Name implements provider.Provider.
func (c *Client) Name() string { return Name }

// Sign is Giftery's request signature: hex SHA-256 of cmd + data + secret.
func Sign(cmd, data, secret string) string {
	h := sha256.Sum256([]byte(cmd + data + secret))
	return hex.EncodeToString(h[:])
}

// APIError is a {"status":"error"} answer.
type APIError struct {
	Cmd  string
	Code int
	Text string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("giftery %s: error %d: %s", e.Cmd, e.Code, e.Text)
}

// transportError says whether a failed call may have reached Giftery.
type transportError struct {
	cmd     string
	notSent bool
	err     error
}

func (e *transportError) Error() string {
	if e.notSent {
		return fmt.Sprintf("giftery %s: not sent: %v", e.cmd, e.err)
	}
	return fmt.Sprintf("giftery %s: %v", e.cmd, e.err)
}
func (e *transportError) Unwrap() []error {
	if e.notSent {
		return []error{provider.ErrNotSent, e.err}
	}
	return []error{provider.ErrUnknownOutcome, e.err}
}

// call performs cmd with args (nil: no data) and decodes the answer's
// data into out. Errors: *transportError (wrapping ErrNotSent or
// ErrUnknownOutcome) when no well-formed answer came, *APIError for a
// {"status":"error"} answer.
func (c *Client) call(ctx context.Context, cmd string, args any, post bool, out any) error {
	data := ""
	if args != nil {
		b, err := json.Marshal(args)
		if err != nil {
			return fmt.Errorf("giftery %s: encode: %w", cmd, err)
		}
		data = string(b)
	}
	sig := Sign(cmd, data, c.opts.Secret)
	q := url.Values{"id": {c.opts.ClientID}, "cmd": {cmd}, "in": {"json"}, "out": {"json"}}
	var req *http.Request
	var err error
	if post {
		form := url.Values{"data": {data}, "sig": {sig}}
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, c.base+"?"+q.Encode(), strings.NewReader(form.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		if data != "" {
			q.Set("data", data)
		}
		q.Set("sig", sig)
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, c.base+"?"+q.Encode(), nil)
	}
	if err != nil {
		return fmt.Errorf("giftery %s: %w", cmd, err)
	}
	req.Header.Set("Accept", "application/json")
	if err := ctx.Err(); err != nil {
		return &transportError{cmd: cmd, notSent: true, err: err}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &transportError{cmd: cmd, notSent: neverSent(err), err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.opts.MaxBody+1))
	if err != nil {
		return &transportError{cmd: cmd, err: fmt.Errorf("reading answer: %w", err)}
	}
	if int64(len(body)) > c.opts.MaxBody {
		return &transportError{cmd: cmd, err: fmt.Errorf("answer larger than %d bytes", c.opts.MaxBody)}
	}
	if resp.StatusCode != http.StatusOK {
		return &transportError{cmd: cmd, err: fmt.Errorf("HTTP %d: %s", resp.StatusCode, snippet(body))}
	}
	var env struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
		Error  *struct {
			Code flexInt `json:"code"`
			Text string  `json:"text"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return &transportError{cmd: cmd, err: fmt.Errorf("answer is not JSON: %v: %s", err, snippet(body))}
	}
	switch env.Status {
	case "ok":
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(env.Data, out); err != nil {
			return &transportError{cmd: cmd, err: fmt.Errorf("answer's data: %v", err)}
		}
		return nil
	case "error":
		if env.Error == nil {
			return &transportError{cmd: cmd, err: errors.New(`"status":"error" without "error"`)}
		}
		return &APIError{Cmd: cmd, Code: int(env.Error.Code), Text: env.Error.Text}
	default:
		return &transportError{cmd: cmd, err: fmt.Errorf("unknown answer status %q", env.Status)}
	}
}

// neverSent reports whether err happened before the request could reach
// the server: the connection was never made.
func neverSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

func snippet(b []byte) string {
	const n = 200
	s := strings.ToValidUTF8(string(b), "?")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return strings.TrimSpace(s)
}

// mapAPIError turns an error answer into the contract's errors.
func (c *Client) mapAPIError(e *APIError) error {
	in := func(codes []int) bool {
		for _, k := range codes {
			if k == e.Code {
				return true
			}
		}
		return false
	}
	switch {
	case in(c.codes.OutOfStock):
		return fmt.Errorf("%w: %w", provider.ErrOutOfStock, e)
	case in(c.codes.BadRecipient):
		return fmt.Errorf("%w: %w", provider.ErrBadRecipient, e)
	case in(c.codes.Rejected):
		return fmt.Errorf("%w: %w", provider.ErrRejected, e)
	case in(c.codes.OrderNotFound):
		return fmt.Errorf("%w: %w", provider.ErrOrderNotFound, e)
	case in(c.codes.BadSignature):
		// Authentication failed: certainly nothing was ordered, and
		// ordering again once the secret is fixed is safe.
		return fmt.Errorf("%w: signature or client id refused (check the Giftery credentials): %w", provider.ErrNotSent, e)
	default:
		// An error we cannot classify: do not guess, reconcile.
		return fmt.Errorf("%w: %w", provider.ErrUnknownOutcome, e)
	}
}

// definite reports whether err is a definite refusal.
func definite(err error) bool {
	return errors.Is(err, provider.ErrOutOfStock) || errors.Is(err, provider.ErrBadRecipient) || errors.Is(err, provider.ErrRejected)
}

// flexInt accepts a JSON number or a string of digits (Giftery sends
// both: "id":"2111", "supplier_id":342), or null/"" as 0.
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*f = 0
		return nil
	}
	if i := strings.IndexByte(s, '.'); i >= 0 { // 500.00
		if strings.Trim(s[i+1:], "0") != "" {
			return fmt.Errorf("giftery: %s is not a whole number", s)
		}
		s = s[:i]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("giftery: %s is not a number", b)
	}
	*f = flexInt(n)
	return nil
}

// wireProduct is one getProducts item.
type wireProduct struct {
	ID         flexInt   `json:"id"`
	Title      string    `json:"title"`
	URL        string    `json:"url"`
	Brief      string    `json:"brief"`
	Faces      []flexInt `json:"faces"`
	FaceMin    flexInt   `json:"face_min"`
	FaceMax    flexInt   `json:"face_max"`
	Disclaimer string    `json:"disclaimer"`
	ImageURL   string    `json:"image_url"`
	MainImage  struct {
		Small  string `json:"small"`
		Medium string `json:"medium"`
		Large  string `json:"large"`
	} `json:"main_image"`
	Code string `json:"code"`
}

// Products implements provider.Provider: getProducts. Faces are whole
// roubles; a face of 0 means a free face value in [face_min, face_max].
func (c *Client) Products(ctx context.Context) ([]provider.Product, error) {
	var list []wireProduct
	if err := c.call(ctx, "getProducts", nil, false, &list); err != nil {
		var ae *APIError
		if errors.As(err, &ae) {
			return nil, c.mapAPIError(ae)
		}
		return nil, err
	}
	out := make([]provider.Product, 0, len(list))
	for _, w := range list {
		if w.ID <= 0 || w.Title == "" {
			continue
		}
		p := provider.Product{
			Provider:    Name,
			ExternalID:  strconv.FormatInt(int64(w.ID), 10),
			Kind:        provider.GiftCertificate,
			Title:       w.Title,
			Brand:       w.Title,
			Description: w.Brief,
			ImageURL:    firstNonEmpty(w.MainImage.Medium, w.MainImage.Large, w.MainImage.Small, w.ImageURL),
			Available:   true,
		}
		free := false
		for _, f := range w.Faces {
			if f == 0 {
				free = true
				continue
			}
			p.FixedFaces = append(p.FixedFaces, money.Kopecks(f)*100)
		}
		if free || len(w.Faces) == 0 {
			p.FaceMin, p.FaceMax = money.Kopecks(w.FaceMin)*100, money.Kopecks(w.FaceMax)*100
		}
		out = append(out, p)
	}
	return out, nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// Balance returns our balance with Giftery (getBalance), in kopecks.
func (c *Client) Balance(ctx context.Context) (money.Kopecks, error) {
	var b struct {
		Balance json.Number `json:"balance"`
	}
	if err := c.call(ctx, "getBalance", nil, false, &b); err != nil {
		return 0, err
	}
	k, err := money.Parse(b.Balance.String())
	if err != nil {
		return 0, fmt.Errorf("giftery getBalance: balance %q: %w", b.Balance, err)
	}
	return k, nil
}

// orderArgs are makeOrder's arguments.
type orderArgs struct {
	ProductID    int64  `json:"product_id"`
	Face         int64  `json:"face"`
	UUID         string `json:"uuid"`
	ExternalID   string `json:"external_id"`
	EmailTo      string `json:"email_to,omitempty"`
	To           string `json:"to,omitempty"`
	ToPhone      string `json:"to_phone,omitempty"`
	DeliveryType string `json:"delivery_type,omitempty"`
	Testmode     int    `json:"testmode,omitempty"`
}

// MaxOrderID is the longest uuid Giftery takes.
const MaxOrderID = 36

// Place implements provider.Provider: makeOrder under our order id, then
// one getStatus; an order still in Giftery's queue is Processing.
func (c *Client) Place(ctx context.Context, o provider.Order) (provider.Result, error) {
	args, err := c.orderArgs(o)
	if err != nil {
		return provider.Result{}, err
	}
	var made struct {
		ID flexInt `json:"id"`
	}
	if err := c.call(ctx, "makeOrder", args, true, &made); err != nil {
		var ae *APIError
		if !errors.As(err, &ae) {
			return provider.Result{}, err
		}
		err = c.mapAPIError(ae)
		if !definite(err) {
			return provider.Result{}, err
		}
		// A refusal is believed only if Giftery has no order under our
		// uuid: a retry of an order it already took must not be refused
		// by what the first order did (the last certificate in stock).
		res, serr := c.status(ctx, statusArgs{UUID: o.ID})
		switch {
		case serr == nil:
			if res.Status == provider.Failed {
				return res, fmt.Errorf("%w: giftery order %s failed: %s", provider.ErrRejected, res.ProviderRef, res.Reason)
			}
			return res, nil
		case errors.Is(serr, provider.ErrOrderNotFound):
			return provider.Result{}, err
		default:
			return provider.Result{}, fmt.Errorf("%w: makeOrder refused (%v) but the order's status is unknown: %v", provider.ErrUnknownOutcome, ae, serr)
		}
	}
	if made.ID <= 0 {
		return provider.Result{}, fmt.Errorf("%w: giftery makeOrder: answer without an order id", provider.ErrUnknownOutcome)
	}
	ref := strconv.FormatInt(int64(made.ID), 10)
	// The order is accepted. Its state is a courtesy now: a failure to
	// learn it only means Processing, to be asked again.
	res, err := c.status(ctx, statusArgs{ID: int64(made.ID)})
	if err != nil {
		return provider.Result{Status: provider.Processing, ProviderRef: ref}, nil
	}
	if res.ProviderRef == "" {
		res.ProviderRef = ref
	}
	if res.Status == provider.Failed {
		// Accepted, then refused by Giftery or its supplier: definite.
		return res, fmt.Errorf("%w: giftery order %s failed: %s", provider.ErrRejected, ref, res.Reason)
	}
	return res, nil
}

func (c *Client) orderArgs(o provider.Order) (orderArgs, error) {
	if o.ID == "" || len(o.ID) > MaxOrderID {
		return orderArgs{}, fmt.Errorf("%w: giftery: order id must be 1..%d characters", provider.ErrRejected, MaxOrderID)
	}
	pid, err := strconv.ParseInt(o.ProductID, 10, 64)
	if err != nil || pid <= 0 {
		return orderArgs{}, fmt.Errorf("%w: giftery: product id %q is not Giftery's", provider.ErrRejected, o.ProductID)
	}
	if o.Face <= 0 || o.Face%100 != 0 {
		return orderArgs{}, fmt.Errorf("%w: giftery: face %s is not a whole number of roubles", provider.ErrRejected, o.Face)
	}
	a := orderArgs{ProductID: pid, Face: int64(o.Face / 100), UUID: o.ID, ExternalID: o.ID,
		EmailTo: o.Email, To: o.RecipientName, DeliveryType: c.opts.DeliveryType}
	if o.Phone != "" {
		a.ToPhone = strings.TrimPrefix(o.Phone, "+")
	}
	if c.opts.TestMode {
		a.Testmode = 1
	}
	return a, nil
}

// statusArgs find an order: by Giftery's id, or by our uuid.
type statusArgs struct {
	ID   int64  `json:"id,omitempty"`
	UUID string `json:"uuid,omitempty"`
}

// Status implements provider.Provider: getStatus by our uuid, and for a
// finished order getCode for the certificate's code and PIN.
func (c *Client) Status(ctx context.Context, o provider.Order) (provider.Result, error) {
	if o.ID == "" {
		return provider.Result{}, errors.New("giftery: status of an order without id")
	}
	return c.status(ctx, statusArgs{UUID: o.ID})
}

type wireStatus struct {
	ID         flexInt `json:"id"`
	Status     string  `json:"status"`
	Face       flexInt `json:"face"`
	Sum        flexInt `json:"sum"`
	ExternalID string  `json:"external_id"`
	Link       string  `json:"link"`
	ErrorCode  flexInt `json:"error_code"`
	ErrorText  string  `json:"error_text"`
}

func (c *Client) status(ctx context.Context, args statusArgs) (provider.Result, error) {
	var st wireStatus
	if err := c.call(ctx, "getStatus", args, false, &st); err != nil {
		var ae *APIError
		if errors.As(err, &ae) {
			return provider.Result{}, c.mapAPIError(ae)
		}
		return provider.Result{}, err
	}
	res := provider.Result{ProviderRef: strconv.FormatInt(int64(st.ID), 10), URL: st.Link}
	if st.Sum > 0 {
		res.Cost = money.Kopecks(st.Sum) * 100
	}
	switch st.Status {
	case "ok":
		var code struct {
			Code       string `json:"code"`
			PIN        string `json:"pin"`
			ExpireDate string `json:"expire_date"`
		}
		if err := c.call(ctx, "getCode", map[string]int64{"queue_id": int64(st.ID)}, false, &code); err != nil {
			// Done at Giftery, but the code is not in hand: not Done
			// for us yet, ask again.
			return provider.Result{Status: provider.Processing, ProviderRef: res.ProviderRef}, nil
		}
		res.Status, res.Code, res.PIN = provider.Done, code.Code, code.PIN
		if t, err := time.ParseInLocation("2006-01-02 15:04:05", code.ExpireDate, moscow); err == nil {
			res.ExpiresAt = t
		}
		return res, nil
	case "error":
		res.Status = provider.Failed
		res.Reason = st.ErrorText
		if res.Reason == "" {
			res.Reason = fmt.Sprintf("giftery error %d", st.ErrorCode)
		}
		return res, nil
	default: // queued, being made
		res.Status = provider.Processing
		return res, nil
	}
}

// moscow is the zone of Giftery's dates (no offset is sent).
var moscow = time.FixedZone("MSK", 3*60*60)
