// Package registry onboards participants and credits points in bulk from
// the spreadsheets clients keep (docs/architecture.md §1, "registries").
//
// A registry file (CSV or XLSX) goes through
//
//	uploaded → validated → confirmed → processing → applied
//	        ↘ rejected               ↘ failed
//
// The request that uploads a file reads and validates it row by row (see
// ReadTable, ParseParticipants, ParsePoints) and stores the result with a
// preview of what will change; a file with any invalid row is rejected as a
// whole and changes nothing. Confirmation (by a second staff member when a
// points registry is over the maker-checker threshold) hands the upload to
// a worker, which calls Processor.Process.
//
// Points registries are per program and period and describe the complete
// amount of each participant for that period: processing posts, per
// participant, the difference between the file and what earlier registries
// of the same period already paid, under the idempotency key
// "registry:<program>:<period>:<participant>:v<n>", so the same file
// uploaded again posts nothing and a corrected file posts only the
// differences (a debit that would overdraw is skipped and reported).
//
// The package is pure: parsing, validation and previews here, storage in
// internal/postgres/registrydb, HTTP in internal/adminapi.
package registry
