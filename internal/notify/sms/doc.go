// Package sms sends text messages (sign-in codes, credentials for new
// participants) through an HTTP SMS gateway.
//
// Client speaks the HTTP API of SMS.RU (https://sms.ru/api/send), a common
// Russian gateway:
//
//	POST {BaseURL}/sms/send   (application/x-www-form-urlencoded; GET works too)
//	     api_id=…&to=79991234567&msg=…&json=1[&from=…][&ttl=minutes][&test=1]
//	200  {"status":"OK","status_code":100,
//	      "sms":{"79991234567":{"status":"OK","status_code":100,"sms_id":"000000-10000000"}},
//	      "balance":4122.56}
//	200  {"status":"ERROR","status_code":200,"status_text":"Неправильный api_id"}
//
// The request-level status_code says whether the request as a whole was
// accepted (authorisation, balance, sender name); the per-number
// status_code says whether that message was queued. Client maps both, and
// HTTP-level failures, to an *Error whose Kind tells the caller what to do:
// retry (gateway down, timeouts), retry later (rate limited), drop (the
// number or text is rejected), or alert an operator (account: bad api_id,
// no money, sender name not approved).
//
// Callers own their interface, e.g. in the sign-in code:
//
//	type SMSSender interface {
//		Send(ctx context.Context, m sms.Message) (sms.Result, error)
//	}
//
// Package smssim is a local simulator of the same protocol for tests and dev
// mode.
package sms
