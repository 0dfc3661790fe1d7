// Package queue is the contract between the API and the workers: Asynq task
// type names, payloads and constructors. Neither side imports the other.
package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
)

// Queue names with their priorities (see Priorities).
const (
	Critical = "critical" // receipt verification: a seller is waiting
	Default  = "default"
	Low      = "low" // bulk work: registries, rollups
)

// Priorities weights the queues for asynq.Config.Queues.
var Priorities = map[string]int{Critical: 6, Default: 3, Low: 1}

// Task type names.
const (
	TypeReceiptVerify = "receipt:verify"
	TypeReceiptDecode = "receipt:decode"
)

// ReceiptPayload names the receipt a receipt task works on.
type ReceiptPayload struct {
	ReceiptID string `json:"receipt_id"`
}

// NewReceiptVerify returns the task that verifies a receipt with the fiscal
// data operator. The task id is derived from the receipt id so a receipt is
// never queued twice at once.
func NewReceiptVerify(receiptID string, delay time.Duration) (*asynq.Task, error) {
	return newReceiptTask(TypeReceiptVerify, receiptID, delay)
}

// NewReceiptDecode returns the task that reads the QR code of a photo the
// API could not read within its time budget.
func NewReceiptDecode(receiptID string) (*asynq.Task, error) {
	return newReceiptTask(TypeReceiptDecode, receiptID, 0)
}

func newReceiptTask(typ, receiptID string, delay time.Duration) (*asynq.Task, error) {
	b, err := json.Marshal(ReceiptPayload{ReceiptID: receiptID})
	if err != nil {
		return nil, err
	}
	opts := []asynq.Option{
		asynq.TaskID(typ + ":" + receiptID),
		asynq.Queue(Critical),
		asynq.MaxRetry(25),
		asynq.Timeout(2 * time.Minute),
		// Keep the finished task's id reserved for a while so a late duplicate
		// enqueue of the same step is refused rather than run again.
		asynq.Retention(time.Hour),
	}
	if delay > 0 {
		opts = append(opts, asynq.ProcessIn(delay))
	}
	return asynq.NewTask(typ, b, opts...), nil
}

// Enqueuer is the part of *asynq.Client that enqueues tasks.
type Enqueuer interface {
	EnqueueContext(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// EnqueueReceiptVerify enqueues NewReceiptVerify(receiptID, delay) on c.
// The task id is "receipt:verify:<id>" for key "" and
// "receipt:verify:<id>:<key>" otherwise (a later step of the same receipt
// whose first task still holds the plain id). An id the queue still holds
// (pending, scheduled, or finished within its retention) is not an error:
// that step is queued already.
func EnqueueReceiptVerify(ctx context.Context, c Enqueuer, receiptID string, delay time.Duration, key string) error {
	t, err := NewReceiptVerify(receiptID, delay)
	if err != nil {
		return err
	}
	return enqueueReceipt(ctx, c, t, receiptID, key)
}

// EnqueueReceiptDecode enqueues NewReceiptDecode(receiptID) on c, with the
// task id and duplicate rule of EnqueueReceiptVerify.
func EnqueueReceiptDecode(ctx context.Context, c Enqueuer, receiptID, key string) error {
	t, err := NewReceiptDecode(receiptID)
	if err != nil {
		return err
	}
	return enqueueReceipt(ctx, c, t, receiptID, key)
}

func enqueueReceipt(ctx context.Context, c Enqueuer, t *asynq.Task, receiptID, key string) error {
	var opts []asynq.Option
	if key != "" {
		opts = append(opts, asynq.TaskID(t.Type()+":"+receiptID+":"+key))
	}
	return enqueueOnce(ctx, c, t, opts...)
}

// enqueueOnce enqueues t; a task id the queue already holds counts as
// success, since the tasks carry ids exactly so a step is queued once.
func enqueueOnce(ctx context.Context, c Enqueuer, t *asynq.Task, opts ...asynq.Option) error {
	_, err := c.EnqueueContext(ctx, t, opts...)
	if isDuplicate(err) {
		return nil
	}
	return err
}

// isDuplicate reports whether err says the task id is taken.
func isDuplicate(err error) bool {
	return errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask)
}

// ParseReceiptPayload decodes a receipt task's payload.
func ParseReceiptPayload(b []byte) (ReceiptPayload, error) {
	var p ReceiptPayload
	if err := json.Unmarshal(b, &p); err != nil || p.ReceiptID == "" {
		return p, fmt.Errorf("bad receipt task payload %q: %w", b, asynq.SkipRetry)
	}
	return p, nil
}
