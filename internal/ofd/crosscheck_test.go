package ofd

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestCrossCheck(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 1, 4, 19, 31, 0, 0, time.UTC)
	q := Query{FN: "7380440801185382", FD: 169111, FP: 3769337301, Operation: 1, Time: at, SumKopecks: 61900}
	good := Receipt{FN: q.FN, FD: q.FD, FP: q.FP, Operation: 1, Time: at.Add(40 * time.Second), TotalKopecks: 61900,
		Items: []Item{{SumKopecks: 59900}, {SumKopecks: 2000}}}
	tests := []struct {
		name   string
		mutate func(r *Receipt, q *Query)
		want   string // "" = ok
	}{
		{"identical", func(*Receipt, *Query) {}, ""},
		{"return of sale is fine", func(r *Receipt, q *Query) { r.Operation, q.Operation = 2, 2 }, ""},
		{"time 4m59s later", func(r *Receipt, _ *Query) { r.Time = at.Add(4*time.Minute + 59*time.Second) }, ""},
		{"time 5m01s earlier", func(r *Receipt, _ *Query) { r.Time = at.Add(-5*time.Minute - time.Second) }, ReasonMismatchTime},
		{"epoch time 7 h off is a zone", func(r *Receipt, _ *Query) { r.Time, r.TimeFromEpoch = at.Add(-7*time.Hour+time.Minute), true }, ""},
		{"epoch time 7h30 off", func(r *Receipt, _ *Query) { r.Time, r.TimeFromEpoch = at.Add(-7*time.Hour-30*time.Minute), true }, ReasonMismatchTime},
		{"items off by one rouble", func(r *Receipt, _ *Query) { r.Items[1].SumKopecks = 2100 }, ""},
		{"items off by 1.01 roubles", func(r *Receipt, _ *Query) { r.Items[1].SumKopecks = 2101 }, ReasonItemsSum},
		{"fn", func(r *Receipt, _ *Query) { r.FN = "7380440801185383" }, ReasonMismatchFN},
		{"fd", func(r *Receipt, _ *Query) { r.FD++ }, ReasonMismatchFD},
		{"fp", func(r *Receipt, _ *Query) { r.FP++ }, ReasonMismatchFP},
		{"operation", func(r *Receipt, _ *Query) { r.Operation = 2 }, ReasonMismatchOp},
		{"sum", func(r *Receipt, _ *Query) { r.TotalKopecks = 61800 }, ReasonMismatchSum},
		{"no dateTime", func(r *Receipt, _ *Query) { r.Time = time.Time{} }, ReasonMismatchTime},
		{"type 3", func(r *Receipt, q *Query) { r.Operation, q.Operation = 3, 3 }, ReasonOperationExpense},
		{"type 4", func(r *Receipt, q *Query) { r.Operation, q.Operation = 4, 4 }, ReasonOperationExpRet},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, qq := good, q
			r.Items = append([]Item(nil), good.Items...)
			tc.mutate(&r, &qq)
			err := CrossCheck(qq, r)
			var rej *RejectedError
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("want ok, got %v", err)
			case tc.want != "" && !errors.As(err, &rej):
				t.Fatalf("want rejection %s, got %v", tc.want, err)
			case tc.want != "" && rej.Reason != tc.want:
				t.Fatalf("reason = %s, want %s", rej.Reason, tc.want)
			}
		})
	}
}

// fake is a Fetcher answering from a function and counting calls.
type fake struct {
	calls int
	fn    func() (Receipt, error)
}

func (f *fake) Fetch(context.Context, Query) (Receipt, error) { f.calls++; return f.fn() }

func answer(r Receipt, err error) *fake { return &fake{fn: func() (Receipt, error) { return r, err }} }

func TestChain(t *testing.T) {
	t.Parallel()
	ok := Receipt{FN: "1", Provider: "second"}
	limited := &RateLimitedError{Provider: "first", RetryAfter: time.Minute}
	down := &TransientError{Provider: "first", Op: "status", Status: 502, Err: errors.New("bad gateway")}
	rejected := &RejectedError{Provider: "first", Reason: ReasonInvalidSign}
	pending := &PendingError{Provider: "first", Reason: "not_yet_received"}
	tests := []struct {
		name       string
		first      error
		second     *fake
		wantCalls2 int
		check      func(t *testing.T, r Receipt, err error)
	}{
		{"rate limited falls through", limited, answer(ok, nil), 1, func(t *testing.T, r Receipt, err error) {
			if err != nil || r.Provider != "second" {
				t.Errorf("got %v %v", r, err)
			}
		}},
		{"transient falls through", down, answer(ok, nil), 1, func(t *testing.T, r Receipt, err error) {
			if err != nil || r.Provider != "second" {
				t.Errorf("got %v %v", r, err)
			}
		}},
		{"rejected is an answer", rejected, answer(ok, nil), 0, func(t *testing.T, _ Receipt, err error) {
			if !errors.Is(err, rejected) {
				t.Errorf("got %v", err)
			}
		}},
		{"not yet is an answer", pending, answer(ok, nil), 0, func(t *testing.T, _ Receipt, err error) {
			if !errors.Is(err, ErrNotYet) {
				t.Errorf("got %v", err)
			}
		}},
		{"all rate limited gives the shortest wait", limited, answer(Receipt{}, &RateLimitedError{Provider: "second", RetryAfter: time.Second}), 1, func(t *testing.T, _ Receipt, err error) {
			var rl *RateLimitedError
			if !errors.As(err, &rl) || rl.RetryAfter != time.Second {
				t.Errorf("got %v", err)
			}
		}},
		{"limited then down is transient", limited, answer(Receipt{}, down), 1, func(t *testing.T, _ Receipt, err error) {
			if !IsTransient(err) || IsRateLimited(err) {
				t.Errorf("got %v", err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			first := answer(Receipt{}, tc.first)
			r, err := NewChain(first, tc.second).Fetch(context.Background(), Query{FN: "1"})
			tc.check(t, r, err)
			if first.calls != 1 || tc.second.calls != tc.wantCalls2 {
				t.Errorf("calls = %d, %d; want 1, %d", first.calls, tc.second.calls, tc.wantCalls2)
			}
		})
	}
}

func TestIsTransient(t *testing.T) {
	t.Parallel()
	if !IsTransient(context.DeadlineExceeded) || IsTransient(context.Canceled) || IsTransient(ErrNotYet) ||
		IsTransient(&RejectedError{}) || IsTransient(&RateLimitedError{}) || IsTransient(nil) {
		t.Error("IsTransient misclassifies")
	}
}
