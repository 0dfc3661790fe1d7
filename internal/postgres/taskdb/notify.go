package taskdb

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/notify"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/notifydb"
	"github.com/loyaltyjam/loyaltyjam/internal/task"
)

// Outbox is the default ReviewNotifier: a "task_reviewed" intent in the
// notification outbox, written in the review's transaction.
type Outbox struct{}

// TaskReviewed enqueues the intent; its dedup key names the review event,
// so a retried transaction writes one and each rework round its own.
func (Outbox) TaskReviewed(ctx context.Context, tx pgx.Tx, n ReviewNotice) error {
	d := notify.Data{
		TaskID:        strconv.FormatInt(n.TaskID, 10),
		Title:         n.TaskTitle,
		Approved:      n.Status == task.Approved,
		PointsKopecks: n.PointsKopecks,
		Pending:       n.Pending,
		Reason:        n.ReasonCode,
		ReasonMessage: n.Message,
	}
	if n.Status == task.ReworkRequested {
		d.Reason = "rework_requested"
		d.ReasonMessage = "Отчёт нужно доработать: " + n.Message
	}
	if d.Approved {
		d.ReasonMessage = ""
	}
	_, _, err := notifydb.Enqueue(ctx, tx, notify.Intent{
		ParticipantID: n.ParticipantID,
		Type:          notify.TaskReviewed,
		Data:          d,
		DedupKey:      fmt.Sprintf("task_submission:%d:%s:%d", n.SubmissionID, n.Status, n.EventID),
	})
	return err
}
