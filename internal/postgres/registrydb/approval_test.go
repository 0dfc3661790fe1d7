package registrydb_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/registry"
)

// confirmAndProcess confirms an upload as by and runs the worker's step.
func (f *fixture) confirmAndProcess(t *testing.T, by access.Staff, id int64) registry.Upload {
	t.Helper()
	ctx := context.Background()
	_, err := f.svc.Confirm(ctx, by, id)
	must(t, err)
	must(t, f.proc.Process(ctx, id))
	u, err := f.store.Get(ctx, id)
	must(t, err)
	return u
}

// The attack of issue 13: a registry over the threshold applied as
// 99 999, 199 998, 299 997 by one manager, each step crediting 99 999 —
// under the threshold alone. The step that takes the period's credits to
// the threshold needs a second person.
func TestSplitRegistryNeedsSecondApprovalWhereItCrosses(t *testing.T) {
	t.Parallel()
	f := setup(t, 2, 100_000_000, 10_000_000) // 100 000 ₽ needs a second person
	ctx := context.Background()

	step1 := f.uploadPoints(t, f.maker, pointsCSV(map[int]string{0: "99999"}))
	if step1.NeedsSecondApproval {
		t.Fatal("99 999 ₽ alone needs a second approval")
	}
	if u := f.confirmAndProcess(t, f.maker, step1.ID); u.Status != registry.StatusApplied {
		t.Fatalf("step 1: %s %s", u.Status, u.FailureCode)
	}

	step2 := f.uploadPoints(t, f.maker, pointsCSV(map[int]string{0: "199998"}))
	if !step2.NeedsSecondApproval {
		t.Fatal("199 998 ₽ in the period (99 999 more) does not need a second approval")
	}
	if _, err := f.svc.Confirm(ctx, f.maker, step2.ID); !errors.Is(err, registry.ErrSecondApproval) {
		t.Fatalf("uploader confirmed the crossing step: %v", err)
	}
	if got := f.balance(t, 0); got != 9_999_900 {
		t.Fatalf("balance after the refused step = %d, want 9 999 900", got)
	}
	if u := f.confirmAndProcess(t, f.checker, step2.ID); u.Status != registry.StatusApplied {
		t.Fatalf("step 2 by the checker: %s", u.Status)
	}
	// Once the period is past the threshold every further credit needs the
	// second person, however small.
	step3 := f.uploadPoints(t, f.maker, pointsCSV(map[int]string{0: "199998", 1: "1"}))
	if !step3.NeedsSecondApproval {
		t.Fatal("a further credit in a period past the threshold does not need a second approval")
	}
	// A correction that only takes points back does not.
	down := f.uploadPoints(t, f.maker, pointsCSV(map[int]string{0: "100"}))
	if down.NeedsSecondApproval {
		t.Fatal("a debit-only correction needs a second approval")
	}
}

// Split across periods: one participant's registry credits within the
// window count together whatever the period.
func TestParticipantCreditsAcrossPeriodsNeedSecondApproval(t *testing.T) {
	t.Parallel()
	f := setup(t, 2, 100_000_000, 10_000_000)
	ctx := context.Background()
	up := func(period, amount string, who int) registry.Upload {
		u, err := f.svc.Upload(ctx, f.maker, registry.UploadRequest{ClientID: f.client, Kind: registry.KindPoints,
			ProgramID: f.program, Period: period, FileName: "p.csv", Data: pointsCSV(map[int]string{who: amount})})
		must(t, err)
		return u
	}
	first := up("2026-01", "60000", 0)
	if first.NeedsSecondApproval {
		t.Fatal("60 000 ₽ needs a second approval")
	}
	f.confirmAndProcess(t, f.maker, first.ID)
	if other := up("2026-02", "60000", 1); other.NeedsSecondApproval {
		t.Error("another participant's 60 000 ₽ in another period needs a second approval")
	}
	if again := up("2026-02", "60000", 0); !again.NeedsSecondApproval {
		t.Error("the same participant's second 60 000 ₽ within the window does not need a second approval")
	}
}

// Two halves uploaded and self-confirmed before either is applied both look
// small; the applying transactions, serialised by the locks, see each
// other: one posts, the other goes back to validated for a second person
// — whatever the order the workers run them in.
func TestConcurrentHalvesCannotBothSlipUnder(t *testing.T) {
	t.Parallel()
	f := setup(t, 2, 100_000_000, 10_000_000)
	ctx := context.Background()
	a := f.uploadPoints(t, f.maker, pointsCSV(map[int]string{0: "60000"}))
	b := f.uploadPoints(t, f.checker, pointsCSV(map[int]string{1: "60000"}))
	// Each file is the complete registry of the period: whichever applies
	// second takes the first's participant back to zero and credits its
	// own 60 000 ₽ — 120 000 ₽ credited in the period.
	for _, u := range []registry.Upload{a, b} {
		if u.NeedsSecondApproval {
			t.Fatalf("half %d needs a second approval at upload", u.ID)
		}
	}
	_, err := f.svc.Confirm(ctx, f.maker, a.ID)
	must(t, err)
	_, err = f.svc.Confirm(ctx, f.checker, b.ID)
	must(t, err)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, id := range []int64{a.ID, b.ID} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f.proc.Process(ctx, id)
		}()
	}
	wg.Wait()
	must(t, errors.Join(errs...))
	statuses := map[registry.Status]int{}
	var back registry.Upload
	for _, id := range []int64{a.ID, b.ID} {
		u, err := f.store.Get(ctx, id)
		must(t, err)
		statuses[u.Status]++
		if u.Status == registry.StatusValidated {
			back = u
		}
	}
	if statuses[registry.StatusApplied] != 1 || statuses[registry.StatusValidated] != 1 {
		t.Fatalf("statuses %v, want one applied and one back to validated", statuses)
	}
	if got := f.balance(t, 0) + f.balance(t, 1); got != 6_000_000 {
		t.Fatalf("participants got %d, want 6 000 000 (one half)", got)
	}
	if !back.NeedsSecondApproval || back.ConfirmedBy != 0 {
		t.Fatalf("returned upload: needs=%v confirmed_by=%d", back.NeedsSecondApproval, back.ConfirmedBy)
	}
	uploader := f.maker
	if back.UploadedBy == f.checker.UserID {
		uploader = f.checker
	}
	// The second approver must be a different person.
	if _, err := f.svc.Confirm(ctx, uploader, back.ID); !errors.Is(err, registry.ErrSecondApproval) {
		t.Fatalf("uploader confirmed the returned half again: %v", err)
	}
	if _, err := f.store.Confirm(ctx, back.ID, uploader.UserID); !errors.Is(err, registry.ErrSecondApproval) {
		t.Fatalf("the database let the uploader confirm the returned half: %v", err)
	}
	second := f.checker
	if uploader == f.checker {
		second = f.maker
	}
	if u := f.confirmAndProcess(t, second, back.ID); u.Status != registry.StatusApplied {
		t.Fatalf("second person's confirmation: %s", u.Status)
	}
}
