package workers

import (
	"context"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/loyaltyjam/loyaltyjam/internal/notify"
	"github.com/loyaltyjam/loyaltyjam/internal/queue"
)

// Deliverer delivers one notification intent; *notify.Dispatcher
// implements it.
type Deliverer interface {
	Deliver(ctx context.Context, intentID int64) error
}

// RegisterNotify registers the notification delivery handler on mux.
func RegisterNotify(mux *asynq.ServeMux, d Deliverer) {
	mux.HandleFunc(queue.TypeNotifyDeliver, func(ctx context.Context, t *asynq.Task) error {
		p, err := queue.ParseNotifyPayload(t.Payload())
		if err != nil {
			return err
		}
		err = d.Deliver(ctx, p.IntentID)
		if errors.Is(err, notify.ErrPermanent) {
			return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
		}
		return err
	})
}
