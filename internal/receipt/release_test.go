package receipt

import "testing"

func TestReleasesIdentity(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		from, to Status
		reason   string
		want     bool
	}{
		{Verifying, Rejected, "sum_mismatch", true},
		{Verifying, Rejected, "ofd_invalid", true},
		{Verifying, Rejected, "ofd_not_found", true},
		{Matched, Rejected, "shop_mismatch", true},
		{Matched, Rejected, "no_program", true},
		{Matched, NoEligibleItems, "no_eligible_items", true},
		// A person decided, or the receipt did belong.
		{NeedsReview, Rejected, "moderator_rejected", false},
		{NeedsReview, Rejected, "shop_mismatch", true},
		{Credited, Rejected, "shop_mismatch", false},
		{Matched, NoEligibleItems, "points_capped", false},
		{Matched, NoEligibleItems, "budget", false},
		{Verifying, Rejected, "ofd_operation_type", false},
		{Verifying, NeedsReview, "ofd_standalone_kkt", false},
	} {
		if got := ReleasesIdentity(tc.from, tc.to, tc.reason); got != tc.want {
			t.Errorf("%s → %s (%s): %v, want %v", tc.from, tc.to, tc.reason, got, tc.want)
		}
	}
	r := &Receipt{Status: Verifying}
	if err := r.Transition(Rejected, "worker", "sum_mismatch", nil); err != nil || !r.IdentityReleased {
		t.Fatalf("transition to rejected for sum_mismatch: released=%v err=%v", r.IdentityReleased, err)
	}
}
