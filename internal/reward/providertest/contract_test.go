package providertest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/loyaltyjam/loyaltyjam/internal/reward/provider"
	"github.com/loyaltyjam/loyaltyjam/internal/reward/providertest"
)

// The contract, for every provider and every mode it has: what Place
// says, what Status says afterwards, and that nothing is ever ordered
// twice — not even when Place is called again after the outcome.
func TestContract(t *testing.T) {
	t.Parallel()
	type want struct {
		place     error           // the contract error Place wraps; nil: none
		placeSt   provider.Status // when place is nil
		status    error           // what Status wraps afterwards; nil: none
		statusSt  provider.Status // when status is nil
		heldAfter int             // orders the provider holds after Place
	}
	wants := map[providertest.Mode]want{
		providertest.Success:            {placeSt: provider.Done, statusSt: provider.Done, heldAfter: 1},
		providertest.TimeoutAfterAccept: {place: provider.ErrUnknownOutcome, statusSt: provider.Done, heldAfter: 1},
		providertest.ErrorAfterAccept:   {place: provider.ErrUnknownOutcome, statusSt: provider.Done, heldAfter: 1},
		providertest.ErrorBeforeAccept:  {place: provider.ErrUnknownOutcome, status: provider.ErrOrderNotFound},
		providertest.OutOfStock:         {place: provider.ErrOutOfStock, status: provider.ErrOrderNotFound},
		providertest.Processing:         {placeSt: provider.Processing, statusSt: provider.Processing, heldAfter: 1},
		providertest.FailAfterAccept:    {place: provider.ErrRejected, heldAfter: 1},
	}
	all := []error{provider.ErrUnknownOutcome, provider.ErrNotSent, provider.ErrOrderNotFound, provider.ErrOutOfStock,
		provider.ErrBadRecipient, provider.ErrRejected}
	for _, h := range providertest.All(t) {
		for _, m := range providertest.Modes {
			id := fmt.Sprintf("%s-%s", h.Name(), m)
			o, ok := h.Order(id, m)
			if !ok {
				continue
			}
			t.Run(id, func(t *testing.T) {
				ctx := context.Background()
				p := h.Provider()
				res, err := p.Place(ctx, o)
				if m == providertest.BadRecipient {
					if !errors.Is(err, provider.ErrBadRecipient) {
						t.Fatalf("Place = %v, want ErrBadRecipient", err)
					}
					return // QIWI holds a refused payment, Giftery none: both definite
				}
				w := wants[m]
				if m == providertest.FailAfterAccept && err == nil && res.Status == provider.Processing {
					w.place = nil // the failure shows at a later status check
					w.placeSt = provider.Processing
				}
				if w.place != nil {
					if !errors.Is(err, w.place) {
						t.Fatalf("Place = %+v, %v; want %v", res, err, w.place)
					}
					for _, other := range all {
						if other != w.place && errors.Is(err, other) {
							t.Fatalf("Place's error %v is also %v", err, other)
						}
					}
				} else if err != nil || res.Status != w.placeSt {
					t.Fatalf("Place = %+v, %v; want %s", res, err, w.placeSt)
				}
				if got := h.Placed(id); got != w.heldAfter {
					t.Fatalf("provider holds %d orders after Place, want %d", got, w.heldAfter)
				}
				st, err := p.Status(ctx, o)
				switch {
				case w.status != nil:
					if !errors.Is(err, w.status) {
						t.Fatalf("Status = %+v, %v; want %v", st, err, w.status)
					}
				case m == providertest.FailAfterAccept:
					for i := 0; err == nil && st.Status == provider.Processing && i < 5; i++ {
						st, err = p.Status(ctx, o)
					}
					if err != nil || st.Status != provider.Failed || st.Reason == "" {
						t.Fatalf("Status = %+v, %v; want Failed with a reason", st, err)
					}
				default:
					if err != nil || st.Status != w.statusSt {
						t.Fatalf("Status = %+v, %v; want %s", st, err, w.statusSt)
					}
				}
				if m == providertest.Processing {
					for i := 0; st.Status == provider.Processing && i < providertest.ProcessingPolls+2; i++ {
						if st, err = p.Status(ctx, o); err != nil {
							t.Fatal(err)
						}
					}
					if st.Status != provider.Done {
						t.Fatalf("still %s after %d more checks", st.Status, providertest.ProcessingPolls+2)
					}
				}
				if w.heldAfter == 1 && m != providertest.FailAfterAccept {
					// Placing again — what a careless retry does — finds the
					// same order and makes no second one.
					again, err := p.Place(ctx, o)
					if err != nil && !errors.Is(err, provider.ErrUnknownOutcome) {
						t.Fatalf("Place again = %v", err)
					}
					if err == nil && st.ProviderRef != "" && again.ProviderRef != st.ProviderRef {
						t.Fatalf("Place again: ref %q, first %q", again.ProviderRef, st.ProviderRef)
					}
				}
				if got := h.Placed(id); got > 1 {
					t.Fatalf("provider holds %d orders under one id", got)
				}
			})
		}
	}
}
