package password

import (
	"errors"
	"testing"
)

func TestHashVerify(t *testing.T) {
	t.Parallel()
	cheap := Params{Memory: 64, Time: 1, Threads: 1}
	h, err := HashWith("correct horse", cheap)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify("correct horse", h); err != nil {
		t.Fatalf("right password rejected: %v", err)
	}
	if err := Verify("wrong horse", h); !errors.Is(err, ErrMismatch) {
		t.Fatalf("wrong password: got %v, want ErrMismatch", err)
	}
	h2, _ := HashWith("correct horse", cheap)
	if h == h2 {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
	for _, bad := range []string{"", "$argon2id$", "$bcrypt$v=19$m=1,t=1,p=1$AA$AA", "$argon2id$v=19$m=x$AA$AA"} {
		if err := Verify("x", bad); err == nil || errors.Is(err, ErrMismatch) {
			t.Errorf("malformed hash %q: got %v", bad, err)
		}
	}
}

// A stored hash with zero passes or zero lanes makes argon2 panic; Verify
// must refuse it as malformed instead of taking the process down.
func TestVerifyRejectsZeroCost(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{
		"$argon2id$v=19$m=64,t=0,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,p=0$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=0,p=0$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5",
	} {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("Verify(%q) panicked: %v", bad, r)
				}
			}()
			if err := Verify("x", bad); err == nil || errors.Is(err, ErrMismatch) {
				t.Errorf("hash %q: got %v, want a malformed-hash error", bad, err)
			}
		}()
	}
}
