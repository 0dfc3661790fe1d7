// Package taskdb stores merchandiser tasks, their submissions and photos in
// PostgreSQL and runs the task mechanic's transactions: take (reserving a
// unit of the period's limits), submit (integrity flags, optional
// auto-approval) and review (approval credits the reward through the
// ledger exactly once, in the same transaction as the status change).
//
// Limits are enforced by the database: task_quotas holds one counter row per
// task, period and participant or shop, with CHECK (used <= cap). A take
// increments the rows with INSERT … ON CONFLICT DO UPDATE, whose row lock
// serializes concurrent takers of the same counter, and the CHECK makes a
// count over the cap impossible whatever the interleaving; a rejection or an
// expiry gives the unit back in its own transaction. Counters were chosen
// over a unique (task, participant, slot, n) key because limits above one
// and per-shop limits shared by many participants are then the same
// mechanism, and over SELECT … FOR UPDATE of a slot row because the check
// lives in the schema, not in code that every writer must remember.
package taskdb
