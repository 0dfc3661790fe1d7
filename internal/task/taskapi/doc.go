// Package taskapi is the HTTP surface of merchandiser tasks: participant
// routes under /v1/tasks (available tasks, take, report with photos, my
// reports and points) and admin routes under /admin/v1/tasks (create and
// archive tasks, the moderation queue, review). Handlers only translate:
// authentication comes from the functions given to New, every rule and
// every tenant check lives in the task domain and its store.
package taskapi
