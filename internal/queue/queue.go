// Package queue is the contract between the API and the workers: Asynq task
// type names, payloads and constructors. Neither side imports the other.
package queue

import (
	"encoding/json"
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

// ParseReceiptPayload decodes a receipt task's payload.
func ParseReceiptPayload(b []byte) (ReceiptPayload, error) {
	var p ReceiptPayload
	if err := json.Unmarshal(b, &p); err != nil || p.ReceiptID == "" {
		return p, fmt.Errorf("bad receipt task payload %q: %w", b, asynq.SkipRetry)
	}
	return p, nil
}
