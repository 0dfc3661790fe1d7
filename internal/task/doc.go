// Package task is the merchandiser task mechanic: tasks a client publishes
// with a reward in points (who may take them, when, how often, what
// evidence proves the work), the submissions participants make, the
// integrity flags a moderator sees and the review that credits the reward.
//
// It is pure: periods, eligibility, limits, evidence checks, geofence and
// capture-time checks and the status machine are functions of their inputs
// and an injected time. Storage (taskdb) enforces limits and exactly-once
// crediting in the database; transports (mobile-api for
// participants, internal/adminapi for staff) only translate.
package task
