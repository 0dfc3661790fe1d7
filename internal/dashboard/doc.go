// Package dashboard is the client dashboard: server-rendered pages in
// Russian under /dashboard for client managers, moderators and platform
// operators. It shows verified sell-out (sales of program SKUs proven by
// fiscal receipts), engagement KPIs, the moderation queue, unmatched lines,
// participants and program settings, with CSV/XLSX export of every table.
//
// Pages read rollups that the receipt pipeline maintains, so they stay fast
// with millions of receipts, through the Store interface (its SQL is in
// internal/postgres/reportdb; the rows are package report's types): the
// dashboard is transport only and imports no database driver. Sessions live in
// PostgreSQL; the cookie is HttpOnly and SameSite=Lax (Secure over TLS);
// every form carries the session's synchronizer CSRF token; repeated
// failed sign-ins lock the account for a while. Every page and export is
// scoped to one program and checks tenant isolation through
// internal/access: another tenant's program, receipt or participant is 404.
package dashboard
