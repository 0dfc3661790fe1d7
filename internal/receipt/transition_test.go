package receipt

import "testing"

// allStatuses is every Status the pipeline knows. The transition table
// below is written out by hand, not derived from next, so a change to the
// state machine fails here until someone decides it on purpose.
var allStatuses = []Status{
	Received, Decoded, Queued, Verifying, PendingOFD, Verified, Matched, Credited,
	NoEligibleItems, Unreadable, Duplicate, Rejected, NeedsReview,
}

// allowed is the state machine, one line per source state: every other
// pair of allStatuses must be refused.
var allowed = map[Status][]Status{
	Received:        {Decoded, Unreadable, Duplicate, Rejected},
	Decoded:         {Queued, Duplicate, Rejected},
	Queued:          {Verifying, Rejected, NeedsReview},
	Verifying:       {Verified, PendingOFD, Rejected, NeedsReview, Queued},
	PendingOFD:      {Verifying, Queued, NeedsReview, Rejected},
	Verified:        {Matched, NoEligibleItems, Rejected, NeedsReview},
	Matched:         {Credited, NoEligibleItems, NeedsReview, Rejected},
	NeedsReview:     {Queued, Matched, Credited, Rejected, NoEligibleItems},
	Credited:        {Rejected}, // reversal after a dispute
	NoEligibleItems: nil,
	Unreadable:      nil,
	Duplicate:       nil,
	Rejected:        nil,
}

func TestEveryTransition(t *testing.T) {
	t.Parallel()
	if len(allowed) != len(allStatuses) {
		t.Fatalf("the table covers %d states, allStatuses has %d", len(allowed), len(allStatuses))
	}
	for from := range next {
		if _, ok := allowed[from]; !ok {
			t.Errorf("state %s has transitions but is not in the test's table", from)
		}
	}
	type tc struct {
		from, to Status
		ok       bool
	}
	var cases []tc
	for _, from := range allStatuses {
		want := map[Status]bool{}
		for _, to := range allowed[from] {
			want[to] = true
		}
		for _, to := range allStatuses {
			cases = append(cases, tc{from, to, want[to]})
		}
		cases = append(cases, tc{from, "", false}, tc{from, "bogus", false})
	}
	for _, c := range cases {
		t.Run(string(c.from)+"→"+string(c.to), func(t *testing.T) {
			t.Parallel()
			if got := CanTransition(c.from, c.to); got != c.ok {
				t.Errorf("CanTransition(%s, %s) = %v, want %v", c.from, c.to, got, c.ok)
			}
			r := &Receipt{ID: "r1", Status: c.from, StatusReason: "before"}
			err := r.Transition(c.to, "test", "because", nil)
			if c.ok {
				if err != nil {
					t.Fatalf("Transition: %v", err)
				}
				evs := r.TakePending()
				if r.Status != c.to || r.StatusReason != "because" || len(evs) != 1 ||
					evs[0].From != c.from || evs[0].To != c.to || evs[0].Actor != "test" {
					t.Errorf("after %s→%s: status %s (%s), events %+v", c.from, c.to, r.Status, r.StatusReason, evs)
				}
				return
			}
			if err == nil {
				t.Fatalf("Transition %s→%s allowed", c.from, c.to)
			}
			if r.Status != c.from || r.StatusReason != "before" || len(r.TakePending()) != 0 {
				t.Errorf("a refused transition changed the receipt: status %s (%s)", r.Status, r.StatusReason)
			}
		})
	}
}

// A receipt being built (no status yet) takes its first status unchecked.
func TestTransitionFromNew(t *testing.T) {
	t.Parallel()
	for _, to := range allStatuses {
		r := &Receipt{ID: "r1"}
		if err := r.Transition(to, "test", "created", nil); err != nil || r.Status != to {
			t.Errorf("new → %s: %v, status %s", to, err, r.Status)
		}
		if evs := r.TakePending(); len(evs) != 1 || evs[0].From != "" || evs[0].To != to {
			t.Errorf("new → %s: events %+v", to, evs)
		}
	}
}

func TestTerminal(t *testing.T) {
	t.Parallel()
	terminal := map[Status]bool{Credited: true, NoEligibleItems: true, Unreadable: true, Duplicate: true, Rejected: true, NeedsReview: true}
	for _, s := range allStatuses {
		if got := s.Terminal(); got != terminal[s] {
			t.Errorf("%s.Terminal() = %v, want %v", s, got, terminal[s])
		}
	}
}
