package sealbox_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/loyaltyjam/loyaltyjam/internal/sealbox"
)

func TestSealOpen(t *testing.T) {
	t.Parallel()
	key, err := sealbox.ParseKey(strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	box, err := sealbox.New(key)
	if err != nil {
		t.Fatal(err)
	}
	ad := []byte("participant 7 round 2")
	sealed := box.Seal("Kx7-pass", ad)
	if strings.Contains(sealed, "Kx7-pass") || !strings.HasPrefix(sealed, "v1:") {
		t.Fatalf("sealed value %q", sealed)
	}
	if again := box.Seal("Kx7-pass", ad); again == sealed {
		t.Error("two seals of one value are equal: the nonce is not fresh")
	}
	if got, err := box.Open(sealed, ad); err != nil || got != "Kx7-pass" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	tampered := sealed[:len(sealed)-2] + "AA"
	if tampered == sealed {
		tampered = sealed[:len(sealed)-2] + "BB"
	}
	for name, c := range map[string]struct {
		box    *sealbox.Box
		sealed string
		ad     string
	}{
		"other key":  {sealbox.Random(), sealed, string(ad)},
		"other row":  {box, sealed, "participant 8 round 2"},
		"tampered":   {box, tampered, string(ad)},
		"not sealed": {box, "Kx7-pass", string(ad)},
		"bad base64": {box, "v1:***", string(ad)},
		"too short":  {box, "v1:AAAA", string(ad)},
	} {
		if _, err := c.box.Open(c.sealed, []byte(c.ad)); !errors.Is(err, sealbox.ErrOpen) {
			t.Errorf("%s: err = %v, want ErrOpen", name, err)
		}
	}
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{strings.Repeat("0f", 32), "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"} {
		if _, err := sealbox.ParseKey(ok); err != nil {
			t.Errorf("ParseKey(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "short", strings.Repeat("0f", 31), strings.Repeat("zz", 32)} {
		if _, err := sealbox.ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
	if _, err := sealbox.New(make([]byte, 16)); err == nil {
		t.Error("New accepted a 16-byte key")
	}
}
