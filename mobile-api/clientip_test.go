package mobileapi_test

import (
	"fmt"
	"net/http"
	"testing"
)

// TestPerIPLimitBehindProxy: with TRUSTED_PROXY_HEADER set, the per-IP
// sign-in limit counts the address our proxy appended (the last entry), so
// a client cannot reset its budget by sending a forged X-Forwarded-For of
// its own, and callers behind other addresses are not throttled with it.
func TestPerIPLimitBehindProxy(t *testing.T) {
	t.Parallel()
	cfg := defaultAuth()
	cfg.TrustedProxyHdr = "X-Forwarded-For"
	e := newEnv(t, cfg)
	request := func(i int, forwarded string) resp {
		// A different unknown phone each time: only the per-IP limit can bite.
		req := jsonReq("POST", "/v1/auth/otp/request", "", map[string]any{"phone": fmt.Sprintf("+7999%07d", i)})
		req.Header.Set("X-Forwarded-For", forwarded)
		return e.do(t, req)
	}
	const perIP = 60 // auth's default PerIPPerHour
	for i := range perIP {
		// The client forges a new first entry every time; the proxy appends the real peer.
		if r := request(i, fmt.Sprintf("10.0.%d.%d, 203.0.113.7", i/250, i%250)); r.Status != http.StatusAccepted {
			t.Fatalf("request %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	r := request(perIP, "198.51.100.1, 203.0.113.7")
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("request %d from the same proxied address: %d %s (Retry-After %q)", perIP+1, r.Status, r.Body, r.Header.Get("Retry-After"))
	}
	if r := request(perIP+1, "203.0.113.7, 192.0.2.44"); r.Status != http.StatusAccepted {
		t.Fatalf("another caller behind the proxy was throttled: %d %s", r.Status, r.Body)
	}
	// A header that is not an address falls back to the peer, which has a budget of its own.
	if r := request(perIP+2, "203.0.113.7, not-an-ip"); r.Status != http.StatusAccepted {
		t.Fatalf("garbage header: %d %s", r.Status, r.Body)
	}
}
