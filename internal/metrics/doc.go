// Package metrics holds the Prometheus collectors of the receipt pipeline
// and the /metrics handler. Everything registers on a registry passed in,
// never on the global one, so tests and several servers in one process do
// not collide.
//
// Series:
//
//	loyaltyjam_receipt_verifications_total{provider,outcome}  verification task runs
//	loyaltyjam_receipt_verification_seconds{provider}         provider call latency
//	loyaltyjam_receipt_decodes_total{outcome}                 photo decode task runs
//	loyaltyjam_receipt_swept_total                            tasks re-enqueued by the sweeper
//	loyaltyjam_queue_tasks{queue,state}                       Asynq queue depth, read at scrape time
package metrics
