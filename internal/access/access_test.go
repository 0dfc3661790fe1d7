package access

import "testing"

func TestCheckClient(t *testing.T) {
	t.Parallel()
	mgr := Staff{UserID: 1, ClientID: 10, Role: ClientManager}
	mod := Staff{UserID: 2, ClientID: 10, Role: Moderator}
	op := Staff{UserID: 3, Role: Operator}
	cases := []struct {
		name   string
		s      Staff
		client int64
		roles  []Role
		ok     bool
	}{
		{"manager own client", mgr, 10, nil, true},
		{"manager other client", mgr, 11, nil, false},
		{"moderator may moderate", mod, 10, []Role{Moderator, ClientManager}, true},
		{"moderator may not configure", mod, 10, []Role{ClientManager}, false},
		{"operator any client", op, 11, []Role{ClientManager}, true},
		{"no tenant sees nothing", Staff{Role: ClientManager}, 0, nil, false},
	}
	for _, tc := range cases {
		if got := tc.s.CheckClient(tc.client, tc.roles...) == nil; got != tc.ok {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.ok)
		}
	}
}
