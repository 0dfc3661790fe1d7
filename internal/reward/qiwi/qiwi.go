// Package qiwi is a client of QIWI Wallet's Top-Up API for agents, the
// documented XML protocol (github.com/QIWI-API/topup-wallet-docs) that
// credits a QIWI Wallet (service 99) or a Russian mobile phone account
// (service 29130, through the subscriber's operator found by
// get-provider-by-phone-number), implementing provider.Provider.
//
// Every request is an XML document POSTed to /xml/topup.jsp (the operator
// lookup to /xml/xmlcp.jsp) with the agent's terminal-id and password.
// A payment is identified by our transaction-number (an integer of up to
// 20 digits, derived from our order id by TransactionNumber) together
// with the terminal id: sending the same pay request again returns the
// same payment, and the status request finds it by that number and the
// recipient's phone. As the protocol requires, any answer that is not a
// payment — a network error, an HTTP status other than 200, malformed
// XML, a request-processing error code — leaves the payment's fate
// unknown (provider.ErrUnknownOutcome): the status request decides.
package qiwi

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/money"
	"github.com/loyaltyjam/loyaltyjam/internal/reward/provider"
)

// Name is the provider's name in the registry and the catalog.
const Name = "qiwi"

// DefaultBaseURL is QIWI's production host.
const DefaultBaseURL = "https://api.qiwi.com"

// Product ids of the two top-ups this provider offers.
const (
	ProductWallet = "qiwi_wallet" // QIWI Wallet, service-id 99
	ProductMobile = "mobile"      // mobile phone account, service-id 29130
)

// Service ids of the protocol.
const (
	serviceWallet = "99"
	serviceMobile = "29130"
)

// Options configure a Client.
type Options struct {
	BaseURL    string // default DefaultBaseURL
	TerminalID string // the agent id (terminal-id), digits
	Password   string // the agent's password (extra name="password")
	// Timeout bounds one HTTP call. Default 30 s.
	Timeout time.Duration
	// MaxBody bounds an answer. Default 1 MiB.
	MaxBody int64
	// Limits of one top-up. Defaults 10 ₽ … 15 000 ₽.
	MinAmount, MaxAmount money.Kopecks
	// HTTPClient, if set, is used instead of one built from Timeout.
	HTTPClient *http.Client
}

// Client talks to QIWI. It is safe for concurrent use.
type Client struct {
	base string
	opts Options
	http *http.Client
}

var _ provider.Provider = (*Client)(nil)

// New returns a client; terminal id and password are required.
func New(opts Options) (*Client, error) {
	if opts.BaseURL == "" {
		opts.BaseURL = DefaultBaseURL
	}
	u, err := url.Parse(opts.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("qiwi: base URL %q is not an http(s) URL", opts.BaseURL)
	}
	if _, err := strconv.ParseUint(opts.TerminalID, 10, 64); err != nil {
		return nil, errors.New("qiwi: terminal id must be the agent's numeric id")
	}
	if opts.Password == "" {
		return nil, errors.New("qiwi: password is required")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = 1 << 20
	}
	if opts.MinAmount <= 0 {
		opts.MinAmount = 1000
	}
	if opts.MaxAmount <= 0 {
		opts.MaxAmount = 1_500_000
	}
	c := &Client{base: strings.TrimRight(opts.BaseURL, "/"), opts: opts, http: opts.HTTPClient}
	if c.http == nil {
		c.http = &http.Client{Timeout: opts.Timeout}
	}
	return c, nil
}

// Name implements provider.Provider.
func (c *Client) Name() string { return Name }

// TransactionNumber is the protocol's transaction-number for our order id:
// the id itself when it already is a positive integer of up to 20 digits,
// otherwise the first 63 bits of its SHA-256 in decimal (stable, so a
// retry and the status request use the same number).
func TransactionNumber(orderID string) string {
	if n := len(orderID); n > 0 && n <= 20 && orderID[0] != '0' && allDigits(orderID) {
		return orderID
	}
	h := sha256.Sum256([]byte(orderID))
	return strconv.FormatUint(binary.BigEndian.Uint64(h[:8])>>1, 10)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Products implements provider.Provider: the protocol has no product
// list; the two top-ups are fixed, with free amounts within the limits.
func (c *Client) Products(context.Context) ([]provider.Product, error) {
	return []provider.Product{
		{Provider: Name, ExternalID: ProductMobile, Kind: provider.MobileTopUp, Title: "Пополнение баланса мобильного телефона",
			Brand: "Мобильная связь", Description: "Зачисление на счёт телефона любого оператора России; оператор определяется по номеру.",
			FaceMin: c.opts.MinAmount, FaceMax: c.opts.MaxAmount, Available: true},
		{Provider: Name, ExternalID: ProductWallet, Kind: provider.WalletTopUp, Title: "Пополнение QIWI Кошелька",
			Brand: "QIWI", Description: "Зачисление на QIWI Кошелёк по номеру телефона; кошелёк создаётся, если его нет.",
			FaceMin: c.opts.MinAmount, FaceMax: c.opts.MaxAmount, Available: true},
	}, nil
}

// --- wire -------------------------------------------------------------

type extra struct {
	Name  string `xml:"name,attr"`
	Value string `xml:",chardata"`
}

type ccy struct {
	CCY string `xml:"ccy"`
}

type payTo struct {
	Amount        string  `xml:"amount,omitempty"`
	CCY           string  `xml:"ccy,omitempty"`
	ServiceID     string  `xml:"service-id,omitempty"`
	AccountNumber string  `xml:"account-number"`
	Extras        []extra `xml:"extra"`
}

type payment struct {
	TransactionNumber string `xml:"transaction-number"`
	From              *ccy   `xml:"from,omitempty"`
	To                payTo  `xml:"to"`
}

type request struct {
	XMLName     xml.Name `xml:"request"`
	RequestType string   `xml:"request-type"`
	TerminalID  string   `xml:"terminal-id"`
	Extras      []extra  `xml:"extra"`
	PhoneNumber string   `xml:"phonenumber,omitempty"`
	Auth        *struct {
		Payment payment `xml:"payment"`
	} `xml:"auth,omitempty"`
	Status *struct {
		Payments []payment `xml:"payment"`
	} `xml:"status,omitempty"`
}

type resultCode struct {
	Fatal   string `xml:"fatal,attr"`
	Message string `xml:"message,attr"`
	Code    string `xml:",chardata"`
}

type paymentAnswer struct {
	Status            string `xml:"status,attr"`
	TxnID             string `xml:"txn_id,attr"`
	TransactionNumber string `xml:"transaction-number,attr"`
	ResultCode        string `xml:"result-code,attr"`
	// The documentation's status example spells the attribute with a
	// Cyrillic "с"; accept both.
	ResultCodeCyr string `xml:"result-сode,attr"`
	FinalStatus   string `xml:"final-status,attr"`
	FatalError    string `xml:"fatal-error,attr"`
	TxnDate       string `xml:"txn-date,attr"`
	From          struct {
		Amount string `xml:"amount"`
	} `xml:"from"`
}

type response struct {
	XMLName    xml.Name        `xml:"response"`
	ResultCode *resultCode     `xml:"result-code"`
	Payments   []paymentAnswer `xml:"payment"`
	Provider   *struct {
		ID string `xml:"id,attr"`
	} `xml:"provider"`
	Exist           string `xml:"exist"`
	DepositPossible string `xml:"deposit-possible"`
	Balances        []struct {
		Code  string `xml:"code,attr"`
		Value string `xml:",chardata"`
	} `xml:"balances>balance"`
}

// RequestError is an answer with a request-processing result-code and no
// payment: the request was not handled, the payment's fate is unknown.
type RequestError struct {
	Code    int
	Fatal   bool
	Message string
}

func (e *RequestError) Error() string {
	f := ""
	if e.Fatal {
		f = " (fatal: needs the agent's configuration fixed)"
	}
	msg := e.Message
	if msg == "" {
		msg = techErrors[e.Code]
	}
	return fmt.Sprintf("qiwi: request error %d %s%s", e.Code, msg, f)
}

var techErrors = map[int]string{13: "repeat the request in a minute", 150: "authorization error: check terminal id and password",
	300: "unknown error", 339: "sender IP address blocked"}

// post sends req to path and decodes the answer. A transport failure
// wraps ErrNotSent when the connection was never made, else
// ErrUnknownOutcome.
func (c *Client) post(ctx context.Context, path string, req request) (response, error) {
	req.TerminalID = c.opts.TerminalID
	req.Extras = append([]extra{{Name: "password", Value: c.opts.Password}}, req.Extras...)
	body, err := xml.Marshal(req)
	if err != nil {
		return response{}, fmt.Errorf("qiwi: encode: %w", err)
	}
	body = append([]byte(xml.Header), body...)
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, strings.NewReader(string(body)))
	if err != nil {
		return response{}, fmt.Errorf("qiwi: %w", err)
	}
	hr.Header.Set("Content-Type", "application/xml; charset=utf-8")
	if err := ctx.Err(); err != nil {
		return response{}, fmt.Errorf("%w: qiwi %s: %w", provider.ErrNotSent, req.RequestType, err)
	}
	resp, err := c.http.Do(hr)
	if err != nil {
		if neverSent(err) {
			return response{}, fmt.Errorf("%w: qiwi %s: %w", provider.ErrNotSent, req.RequestType, err)
		}
		return response{}, fmt.Errorf("%w: qiwi %s: %w", provider.ErrUnknownOutcome, req.RequestType, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, c.opts.MaxBody+1))
	if err != nil {
		return response{}, fmt.Errorf("%w: qiwi %s: reading answer: %w", provider.ErrUnknownOutcome, req.RequestType, err)
	}
	if int64(len(raw)) > c.opts.MaxBody {
		return response{}, fmt.Errorf("%w: qiwi %s: answer larger than %d bytes", provider.ErrUnknownOutcome, req.RequestType, c.opts.MaxBody)
	}
	if resp.StatusCode != http.StatusOK || len(raw) == 0 {
		return response{}, fmt.Errorf("%w: qiwi %s: HTTP %d: %s", provider.ErrUnknownOutcome, req.RequestType, resp.StatusCode, snippet(raw))
	}
	var out response
	if err := xml.Unmarshal(raw, &out); err != nil {
		return response{}, fmt.Errorf("%w: qiwi %s: answer is not the protocol's XML: %v: %s", provider.ErrUnknownOutcome, req.RequestType, err, snippet(raw))
	}
	return out, nil
}

func neverSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

func snippet(b []byte) string {
	s := strings.ToValidUTF8(string(b), "?")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return strings.TrimSpace(s)
}

// requestError returns the answer's request-level error, if any.
func requestError(r response) *RequestError {
	if r.ResultCode == nil {
		return nil
	}
	code, err := strconv.Atoi(strings.TrimSpace(r.ResultCode.Code))
	if err != nil {
		return &RequestError{Code: -1, Message: "unreadable result-code " + strconv.Quote(r.ResultCode.Code)}
	}
	if code == 0 {
		return nil
	}
	return &RequestError{Code: code, Fatal: r.ResultCode.Fatal == "true", Message: r.ResultCode.Message}
}

var (
	walletAccount = regexp.MustCompile(`^[1-9]\d{9,14}$`)
	ruMobile      = regexp.MustCompile(`^79\d{9}$`)
)

// Place implements provider.Provider: a pay request under
// TransactionNumber(o.ID).
func (c *Client) Place(ctx context.Context, o provider.Order) (provider.Result, error) {
	if o.ID == "" {
		return provider.Result{}, fmt.Errorf("%w: qiwi: order without id", provider.ErrRejected)
	}
	if o.Face < c.opts.MinAmount || o.Face > c.opts.MaxAmount {
		return provider.Result{}, fmt.Errorf("%w: qiwi: amount %s outside %s…%s", provider.ErrRejected, o.Face, c.opts.MinAmount, c.opts.MaxAmount)
	}
	account := account(o)
	to := payTo{Amount: o.Face.String(), CCY: "RUB", AccountNumber: account}
	switch o.ProductID {
	case ProductWallet:
		if !walletAccount.MatchString(account) {
			return provider.Result{}, fmt.Errorf("%w: qiwi: wallet %q is not a phone number in international form", provider.ErrBadRecipient, account)
		}
		to.ServiceID = serviceWallet
		// "You have to check if the top-up is possible before the
		// request." A refusal is only believed once the status check
		// shows no payment under our number: a retry of an order QIWI
		// already took must not be refused by its own effect (a wallet
		// limit the first top-up reached).
		if err := c.checkDeposit(ctx, account); err != nil {
			if errors.Is(err, provider.ErrNotSent) {
				return provider.Result{}, err
			}
			st, serr := c.Status(ctx, o)
			switch {
			case serr == nil:
				return st, nil
			case errors.Is(serr, provider.ErrOrderNotFound):
				return provider.Result{}, err
			default:
				return provider.Result{}, fmt.Errorf("%w: check-deposit refused, status unknown: %v", provider.ErrNotSent, serr)
			}
		}
	case ProductMobile:
		if !ruMobile.MatchString(account) {
			return provider.Result{}, fmt.Errorf("%w: qiwi: %q is not a Russian mobile number", provider.ErrBadRecipient, account)
		}
		op, err := c.Operator(ctx, account)
		if err != nil {
			return provider.Result{}, err
		}
		to.ServiceID = serviceMobile
		to.Extras = []extra{{Name: "account0", Value: fmt.Sprintf("id:%s;acc:%s;sum:%s", op, account[1:], o.Face.String())}}
	default:
		return provider.Result{}, fmt.Errorf("%w: qiwi: unknown product %q", provider.ErrRejected, o.ProductID)
	}
	req := request{RequestType: "pay", Extras: []extra{{Name: "income_wire_transfer", Value: "1"}}}
	req.Auth = &struct {
		Payment payment `xml:"payment"`
	}{payment{TransactionNumber: TransactionNumber(o.ID), From: &ccy{CCY: "RUB"}, To: to}}
	resp, err := c.post(ctx, "/xml/topup.jsp", req)
	if err != nil {
		return provider.Result{}, err
	}
	p, ok := findPayment(resp, req.Auth.Payment.TransactionNumber)
	if !ok {
		if re := requestError(resp); re != nil {
			return provider.Result{}, fmt.Errorf("%w: %w", provider.ErrUnknownOutcome, re)
		}
		return provider.Result{}, fmt.Errorf("%w: qiwi pay: answer without our payment", provider.ErrUnknownOutcome)
	}
	if p.TxnID == "" || p.Status == "-1" {
		// "If empty, the payment was not registered due to temporary
		// error. You have to repeat the request later."
		return provider.Result{}, fmt.Errorf("%w: qiwi pay: payment not registered (temporary error %d)", provider.ErrNotSent, p.resultCode())
	}
	res, err := p.result()
	if err != nil {
		return provider.Result{}, err
	}
	if res.Status == provider.Failed {
		return res, fmt.Errorf("%w: qiwi payment %s: %s", failureError(p.resultCode()), res.ProviderRef, res.Reason)
	}
	return res, nil
}

func account(o provider.Order) string {
	a := o.Phone
	if o.ProductID == ProductWallet && o.Account != "" {
		a = o.Account
	}
	return strings.TrimPrefix(strings.TrimSpace(a), "+")
}

func findPayment(r response, txn string) (paymentAnswer, bool) {
	for _, p := range r.Payments {
		if p.TransactionNumber == txn {
			return p, true
		}
	}
	return paymentAnswer{}, false
}

func (p paymentAnswer) resultCode() int {
	s := p.ResultCode
	if s == "" {
		s = p.ResultCodeCyr
	}
	n, _ := strconv.Atoi(s)
	return n
}

// resultCodes are the documented payment processing result codes.
var resultCodes = map[int]string{
	155: "invalid service code", 204: "insufficient wallet identification status",
	215: "transaction number already used with other parameters", 220: "not enough money on the agent's account",
	241: "amount less than allowed", 242: "amount greater than allowed",
	298: "no QIWI Wallet account can be registered for this phone number (invalid number)",
	300: "unknown processing error", 316: "agent blocked", 319: "top-up of this account is blocked",
	700: "monthly limit exceeded", 702: "wallet balance limit exceeded",
}

// failureError is the contract's error for a final failed payment.
func failureError(code int) error {
	switch code {
	case 298, 319, 204:
		return provider.ErrBadRecipient
	default:
		return provider.ErrRejected
	}
}

// result reads a payment's state: 60 done; final above 100 failed;
// anything else in progress.
func (p paymentAnswer) result() (provider.Result, error) {
	st, err := strconv.Atoi(strings.TrimSpace(p.Status))
	if err != nil {
		return provider.Result{}, fmt.Errorf("%w: qiwi: payment status %q", provider.ErrUnknownOutcome, p.Status)
	}
	res := provider.Result{ProviderRef: p.TxnID}
	if k, err := money.Parse(p.From.Amount); err == nil && k > 0 {
		res.Cost = k
	}
	final := p.FinalStatus == "true"
	switch {
	case st == 60:
		res.Status = provider.Done
	case final && st > 100:
		res.Status = provider.Failed
		code := p.resultCode()
		res.Reason = fmt.Sprintf("QIWI status %d, result code %d: %s", st, code, resultCodes[code])
	default:
		res.Status = provider.Processing
	}
	return res, nil
}

// Status implements provider.Provider: the status request by our
// transaction number and the recipient's phone. A payment QIWI does not
// know is absent from the answer: ErrOrderNotFound.
func (c *Client) Status(ctx context.Context, o provider.Order) (provider.Result, error) {
	txn := TransactionNumber(o.ID)
	req := request{RequestType: "pay"}
	req.Status = &struct {
		Payments []payment `xml:"payment"`
	}{[]payment{{TransactionNumber: txn, To: payTo{AccountNumber: account(o)}}}}
	resp, err := c.post(ctx, "/xml/topup.jsp", req)
	if err != nil {
		return provider.Result{}, err
	}
	if re := requestError(resp); re != nil {
		return provider.Result{}, fmt.Errorf("%w: %w", provider.ErrUnknownOutcome, re)
	}
	p, ok := findPayment(resp, txn)
	if !ok {
		return provider.Result{}, fmt.Errorf("%w: qiwi has no payment %s", provider.ErrOrderNotFound, txn)
	}
	if p.TxnID == "" || p.Status == "-1" {
		return provider.Result{}, fmt.Errorf("%w: qiwi payment %s was not registered", provider.ErrOrderNotFound, txn)
	}
	return p.result()
}

// checkDeposit asks check-deposit-possible for a wallet top-up. It
// returns nil when possible, ErrBadRecipient or ErrRejected when QIWI
// says the wallet cannot be topped up, ErrNotSent when it could not tell.
func (c *Client) checkDeposit(ctx context.Context, account string) error {
	resp, err := c.post(ctx, "/xml/topup.jsp", request{RequestType: "check-deposit-possible",
		Extras: []extra{{Name: "phone", Value: account}, {Name: "income_wire_transfer", Value: "1"}}})
	if err != nil {
		if errors.Is(err, provider.ErrNotSent) {
			return err
		}
		return fmt.Errorf("%w: check-deposit-possible: %v", provider.ErrNotSent, err)
	}
	if re := requestError(resp); re != nil {
		if _, known := resultCodes[re.Code]; known && re.Code != 300 {
			return fmt.Errorf("%w: top-up impossible: %w", failureError(re.Code), re)
		}
		return fmt.Errorf("%w: check-deposit-possible: %v", provider.ErrNotSent, re)
	}
	switch strings.TrimSpace(resp.DepositPossible) {
	case "1":
		return nil
	case "0":
		return fmt.Errorf("%w: qiwi: the wallet %s cannot be topped up (deposit-possible 0)", provider.ErrBadRecipient, account)
	default:
		return fmt.Errorf("%w: check-deposit-possible answered without deposit-possible", provider.ErrNotSent)
	}
}

// Operator finds the mobile operator's provider id for a phone number
// (get-provider-by-phone-number). Nothing is paid, so every failure here
// means the top-up was not sent; an unknown number is a bad recipient.
func (c *Client) Operator(ctx context.Context, phone string) (string, error) {
	phone = strings.TrimPrefix(phone, "+")
	if !ruMobile.MatchString(phone) {
		return "", fmt.Errorf("%w: qiwi: %q is not a Russian mobile number", provider.ErrBadRecipient, phone)
	}
	resp, err := c.post(ctx, "/xml/xmlcp.jsp", request{RequestType: "get-provider-by-phone-number", PhoneNumber: phone[1:]})
	if err != nil {
		// A lookup changes nothing at QIWI: whatever became of it, the
		// top-up was not sent.
		if errors.Is(err, provider.ErrNotSent) {
			return "", err
		}
		return "", fmt.Errorf("%w: operator lookup: %v", provider.ErrNotSent, err)
	}
	if re := requestError(resp); re != nil {
		if re.Code == 298 {
			return "", fmt.Errorf("%w: %w", provider.ErrBadRecipient, re)
		}
		return "", fmt.Errorf("%w: operator lookup: %w", provider.ErrNotSent, re)
	}
	if resp.Provider == nil || !allDigits(resp.Provider.ID) || resp.Provider.ID == "" {
		return "", fmt.Errorf("%w: qiwi: operator lookup answered without a provider id", provider.ErrNotSent)
	}
	return resp.Provider.ID, nil
}

// Balance returns the agent's rouble balance (ping).
func (c *Client) Balance(ctx context.Context) (money.Kopecks, error) {
	resp, err := c.post(ctx, "/xml/topup.jsp", request{RequestType: "ping"})
	if err != nil {
		return 0, err
	}
	if re := requestError(resp); re != nil {
		return 0, re
	}
	for _, b := range resp.Balances {
		if b.Code == "643" {
			return money.Parse(strings.TrimSpace(b.Value))
		}
	}
	return 0, errors.New("qiwi: ping answered without a rouble balance")
}
