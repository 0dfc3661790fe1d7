// Package tenant is the platform's side of its clients: a platform
// operator creates a client (legal name, ИНН with check digits, contacts,
// time zone) and invites its staff by e-mail with a role; the invitee sets
// their own password from the link; the operator or the client's manager
// deactivates staff. Every change is written to the audit log
// (internal/audit) in the transaction that makes it, with the object's
// state before and after.
//
// Who may do what is decided here (Service), on access.Staff: another
// client's objects are "not found", never "forbidden", so their ids cannot
// be probed. The store is internal/postgres/tenantdb.
package tenant
