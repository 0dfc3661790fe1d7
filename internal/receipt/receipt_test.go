package receipt

import "testing"

func TestTransition(t *testing.T) {
	t.Parallel()
	r := &Receipt{ID: "r1", Status: Queued}
	if err := r.Transition(Credited, "worker", "points_credited", nil); err == nil {
		t.Fatal("queued → credited allowed")
	}
	if err := r.Transition(Verifying, "worker", "verifying", nil); err != nil {
		t.Fatal(err)
	}
	if err := r.Transition(PendingOFD, "worker", "some_new_code", map[string]any{"message": "Особый текст."}); err != nil {
		t.Fatal(err)
	}
	r.Note("worker", "ofd_not_yet", nil)
	evs := r.TakePending()
	if len(evs) != 3 || evs[0].Message != Message("verifying") || evs[1].Message != "Особый текст." ||
		evs[2].From != PendingOFD || evs[2].To != PendingOFD {
		t.Fatalf("events: %+v", evs)
	}
	if len(r.TakePending()) != 0 {
		t.Fatal("TakePending did not forget")
	}
	if Message("never_heard_of_it") == "" || Message("") != "" {
		t.Fatal("fallback messages wrong")
	}
	for s := range next {
		if s.Terminal() && s != NeedsReview && s != Credited {
			t.Errorf("terminal state %s has automatic successors", s)
		}
	}
}
