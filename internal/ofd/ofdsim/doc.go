// Package ofdsim is a local simulator of the fiscal receipt verification
// services: one http.Handler speaking the proverkacheka.com JSON API
// (POST /api/v1/check/get) and the FNS Open API SOAP services
// (/open-api/AuthService/0.1, /open-api/ais3/KktService/0.1), backed by a
// store of receipts.
//
// Receipts it does not know are generated deterministically from the fiscal
// identity: the shop (seller, ИНН, KKT, address, kind of shop) from fn, the
// items from fn and fd, drawn from an embedded assortment that holds the
// demo clients' SKUs as tills print them, competitors' and unrelated goods.
// Items always add up to the QR sum. The first query fixes a generated
// receipt; later queries are validated against it like the real check does
// (fp, s, n exact, t within ±1 minute), so a wrong sum is "invalid".
//
// Each receipt has a scenario (ok, pending_calls, pending_for, invalid_fp,
// not_found, autonomous_kkt, rate_limited, wait, server_error, slow,
// malformed). It is chosen by the fn rule (fn = "9999" + 2-digit scenario
// code + 4-digit parameter + 6 free digits, see ScenarioFromFN) or set
// through the admin API:
//
//	PUT  /_sim/receipts/{fn}/{fd}/{fp}   {"scenario":"pending_calls","calls":3,"sum":61900,"time":"2025-01-04T19:31:00"}
//	GET  /_sim/receipts/{fn}/{fd}/{fp}
//	PUT  /_sim/shops/{fn}                {"name":"ООО \"Ромашка\"","inn":"7701234567","kkt_reg_id":"0000123456789012","address":"…"}
//	GET  /_sim/stats                     call counters per endpoint, scenario and receipt
//	POST /_sim/reset                     forget receipts, messages, tokens and counters
//
// The clock is injectable (Config.Now) so pending_for and token expiry are
// tested without sleeping.
package ofdsim
