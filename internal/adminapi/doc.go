// Package adminapi is the staff API, versioned under /admin/v1: client
// staff and operators manage merchandiser tasks and their report queue
// (/admin/v1/tasks) and upload and confirm registries
// (/admin/v1/registries) from scripts or the dashboard's pages.
//
// It is the one place of the staff JSON routes, as mobile-api is of the
// participant ones; the server-rendered dashboard (internal/dashboard) is
// the other staff surface and authenticates both: serve passes its
// Server.Staff as Deps.Staff (session cookie + X-CSRF-Token, or HTTP
// Basic). Handlers are thin: they parse the request, call the domain
// through the small interfaces declared here, and render DTOs; every
// tenant and role rule lives in the domain and its store. Errors are
// apperr values rendered by internal/httpapi as
// {code, message[, field, request_id]}.
package adminapi
