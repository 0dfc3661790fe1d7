package workers

import (
	"context"
	"errors"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/loyaltyjam/loyaltyjam/internal/queue"
	"github.com/loyaltyjam/loyaltyjam/internal/verify"
)

// LiveTasks lists the receipts the Asynq queue holds work for; it
// implements verify.Tasks for the sweeper.
type LiveTasks struct {
	rdb  redis.UniversalClient
	insp *asynq.Inspector
}

// NewLiveTasks returns a LiveTasks reading the queue of rdb.
func NewLiveTasks(rdb redis.UniversalClient) *LiveTasks {
	return &LiveTasks{rdb: rdb, insp: asynq.NewInspectorFromRedisClient(rdb)}
}

// asynqQueues is Asynq's set of known queue names. An Asynq client adds a
// queue to it once per process, so after Redis lost its data (FLUSHALL, a
// restart without persistence) the queue is missing from it while tasks are
// enqueued and run again, and the Inspector (this listing, the queue
// dashboard, the queue-depth metric) calls the queue unknown. Live puts it
// back.
const asynqQueues = "asynq:queues"

var _ verify.Tasks = (*LiveTasks)(nil)

// livePage is the page size of the listings.
const livePage = 1000

// Live implements verify.Tasks: the receipts of the tasks in the critical
// queue that are waiting for a retry, scheduled, pending or running (read
// in that order, the order a task moves in, so one moving during the
// listing is still seen; tasks of a worker that died stay active until
// Asynq recovers them, and count).
func (l *LiveTasks) Live(ctx context.Context) (map[string]bool, error) {
	if err := l.rdb.SAdd(ctx, asynqQueues, queue.Critical).Err(); err != nil {
		return nil, err
	}
	ids := map[string]bool{}
	for _, list := range []func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error){
		l.insp.ListRetryTasks, l.insp.ListScheduledTasks, l.insp.ListPendingTasks, l.insp.ListActiveTasks,
	} {
		for page := 1; ; page++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			tasks, err := list(queue.Critical, asynq.Page(page), asynq.PageSize(livePage))
			if errors.Is(err, asynq.ErrQueueNotFound) {
				break
			}
			if err != nil {
				return nil, err
			}
			for _, t := range tasks {
				if p, err := queue.ParseReceiptPayload(t.Payload); err == nil {
					ids[p.ReceiptID] = true
				}
			}
			if len(tasks) < livePage {
				break
			}
		}
	}
	return ids, nil
}
