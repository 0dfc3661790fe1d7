// Package workers holds the Asynq task handlers of the receipt pipeline.
// They are thin: decode the payload (internal/queue), call the verify
// service, turn its result into Asynq's retry policy:
//
//   - nil for done, already done, or rescheduled by the service (retries
//     are rows: next_attempt_at plus a follow-up task, see internal/verify);
//   - asynq.SkipRetry for poison (bad payload, unknown receipt);
//   - the error as is for a failure of the step itself (storage, Processor,
//     shutdown mid-call), retried by Asynq with RetryDelay.
//
// Periodic runs the sweeper every minute.
package workers
