// Package inboxapi is the participant app's HTTP surface of notifications:
// the in-app inbox (list with cursor pagination, mark read, mark all read)
// and the notification preferences. Handlers are thin: they take the
// authenticated participant from the caller-supplied function and call the
// notification store; errors go through apperr to httpapi's JSON.
package inboxapi
