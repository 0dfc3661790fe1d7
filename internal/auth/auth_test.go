package auth_test

import (
	"testing"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/auth"
)

func TestAccessToken(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := now
	s, err := auth.New(nil, nil, nil, auth.Config{Secret: []byte("0123456789abcdef0123"), Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	const sid = "5b0c1a52-8d1e-4f3a-9a43-2f6f7f0f2c11"
	tok, _, err := s.IssueAccess(auth.Participant{ID: 7, ClientID: 3, Role: "seller"}, sid, now)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.ParseAccess(tok)
	if err != nil || p != (auth.Principal{ParticipantID: 7, ClientID: 3, Role: "seller", SessionID: sid}) {
		t.Fatalf("%+v %v", p, err)
	}
	clock = now.Add(16 * time.Minute)
	if _, err := s.ParseAccess(tok); err != auth.ErrTokenExpired {
		t.Fatalf("after expiry: %v", err)
	}
	other, _ := auth.New(nil, nil, nil, auth.Config{Secret: []byte("another-secret-of-16+"), Now: func() time.Time { return now }})
	if _, err := other.ParseAccess(tok); err != auth.ErrTokenInvalid {
		t.Fatalf("other secret: %v", err)
	}
}
