package workers

import (
	"context"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/loyaltyjam/loyaltyjam/internal/queue"
	"github.com/loyaltyjam/loyaltyjam/internal/registry"
)

// RegistryProcessor applies a confirmed registry upload; *registry.Processor
// implements it.
type RegistryProcessor interface {
	Process(ctx context.Context, uploadID int64) error
}

// RegisterRegistry registers the registry processing handler on mux.
func RegisterRegistry(mux *asynq.ServeMux, p RegistryProcessor) {
	mux.HandleFunc(queue.TypeRegistryProcess, func(ctx context.Context, t *asynq.Task) error {
		pl, err := queue.ParseRegistryPayload(t.Payload())
		if err != nil {
			return err
		}
		err = p.Process(ctx, pl.UploadID)
		if errors.Is(err, registry.ErrPermanent) {
			return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
		}
		return err
	})
}
