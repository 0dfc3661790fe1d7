// Package verify moves receipts through the verification part of the
// pipeline (docs/architecture.md §3): decoding a photo the API gave up on, asking the
// fiscal data operator about a receipt, and sweeping receipts whose task was
// lost.
//
// One verification step is two short transactions around one provider call:
//
//  1. claim: queued/pending_ofd → verifying (an event), in Store.Modify;
//  2. the provider call, bounded by Config.CallTimeout, outside any
//     transaction;
//  3. apply: in ONE Store.Modify the outcome is written and, for a
//     verified receipt, the Processor hook (SKU matching, rules, ledger)
//     runs in the same transaction (the context carries it and the
//     points store joins it), so "verified + matched + credited" commit
//     together or not at all.
//
// The apply step only acts on a row that is still verifying, so a task
// delivered twice, or run again after a worker died between the steps,
// applies once. Retries are rows, not queue state: the next attempt time is
// stored in receipts.next_attempt_at before the follow-up task is enqueued
// (Scheduler), and the Sweeper re-enqueues any row whose task Redis lost.
//
// Outcome policy (see docs/pipeline.md):
//
//   - ofd.ErrNotYet → pending_ofd, retried after PendingDelays[attempt]
//     until Config.PendingWindow after the upload, then needs_review
//     (ofd_pending_expired). proverkacheka's code 5 ("no data") repeated
//     Config.NoDataLimit times → needs_review (ofd_no_data): that is how an
//     autonomous cash register looks through that provider.
//   - *ofd.RejectedError → rejected with a receipt reason code (RejectReason);
//     an autonomous cash register → needs_review (ofd_standalone_kkt).
//   - *ofd.RateLimitedError → back to queued after RetryAfter; the attempt
//     counter is not incremented.
//   - anything else (provider down, 5xx, timeout, malformed body) → back to
//     queued after TransientDelays[attempt]; after the window needs_review
//     (ofd_retries_exhausted).
//
// The package uses an injected clock (Config.Now) for every policy decision.
package verify
