package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
)

// TypeRegistryProcess applies a confirmed registry upload and sends its
// pending invitations (registry.Processor.Process).
const TypeRegistryProcess = "registry:process"

// RegistryPayload names the upload a registry task works on.
type RegistryPayload struct {
	UploadID int64 `json:"upload_id"`
}

// NewRegistryProcess returns the task that processes a registry upload.
// reason ("confirm", "resend-<n>", "sweep-<n>") is part of the task id, so
// one trigger enqueues once while a later re-send is a new task. Bulk work:
// the low queue, a long timeout (100 000 lines take minutes).
func NewRegistryProcess(uploadID int64, reason string) (*asynq.Task, error) {
	b, err := json.Marshal(RegistryPayload{UploadID: uploadID})
	if err != nil {
		return nil, err
	}
	return asynq.NewTask(TypeRegistryProcess, b,
		asynq.TaskID(TypeRegistryProcess+":"+strconv.FormatInt(uploadID, 10)+":"+reason),
		asynq.Queue(Low),
		asynq.MaxRetry(20),
		asynq.Timeout(30*time.Minute),
		asynq.Retention(time.Hour),
	), nil
}

// ParseRegistryPayload decodes a registry task's payload.
func ParseRegistryPayload(b []byte) (RegistryPayload, error) {
	var p RegistryPayload
	if err := json.Unmarshal(b, &p); err != nil || p.UploadID <= 0 {
		return p, fmt.Errorf("bad registry task payload %q: %w", b, asynq.SkipRetry)
	}
	return p, nil
}

// RegistryEnqueuer returns a function that enqueues NewRegistryProcess on
// client (it satisfies registry.EnqueueFunc); a task id already queued
// counts as success.
func RegistryEnqueuer(client *asynq.Client) func(ctx context.Context, uploadID int64, reason string) error {
	return func(ctx context.Context, uploadID int64, reason string) error {
		t, err := NewRegistryProcess(uploadID, reason)
		if err != nil {
			return err
		}
		return enqueueOnce(ctx, client, t)
	}
}
