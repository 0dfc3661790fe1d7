// Package fcmsim is a local Firebase Cloud Messaging simulator: a real HTTP
// server speaking the FCM HTTP v1 protocol that the Firebase Admin SDK uses,
//
//	POST /v1/projects/{project}/messages:send   {"message": {...}, "validate_only": false}
//	200 {"name": "projects/{project}/messages/{id}"}
//	4xx/5xx {"error": {"code": 404, "message": "...", "status": "NOT_FOUND",
//	         "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
//	                      "errorCode": "UNREGISTERED"}]}}
//
// so the real fcm.Sender can be pointed at it with option.WithEndpoint. It
// validates requests roughly as FCM does (exactly one target, string data
// values, reserved data keys, Android ttl and priority formats) and records
// every accepted message.
//
// Failure modes are chosen per token by a prefix:
//
//	sim-unregistered-…  404 NOT_FOUND / UNREGISTERED
//	sim-invalid-…       400 INVALID_ARGUMENT on field message.token
//	sim-mismatch-…      403 PERMISSION_DENIED / SENDER_ID_MISMATCH
//	sim-429-…           429 RESOURCE_EXHAUSTED / QUOTA_EXCEEDED, Retry-After
//	sim-503-…           503 UNAVAILABLE / UNAVAILABLE
//	sim-500-…           500 INTERNAL / INTERNAL
//	sim-slow-…          accepted after Options.SlowDelay
//
// or per token, and globally ("fail the next N calls with status S"), via the
// admin API under /_sim/ (see Server.ServeHTTP) or the Go methods SetTokenMode
// and FailNext. GET /_sim/messages?token=… lists what was accepted, as JSON;
// GET /_sim/ shows it as a page for a person.
package fcmsim
