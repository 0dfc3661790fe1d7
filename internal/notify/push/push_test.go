package push_test

import (
	"testing"

	"github.com/loyaltyjam/loyaltyjam/internal/notify/push"
)

func TestMaskToken(t *testing.T) {
	t.Parallel()
	if got := push.MaskToken("abcdefghijklmnopqrstuvwxyz"); got != "abcdef…wxyz" {
		t.Errorf("MaskToken = %q", got)
	}
	if got := push.MaskToken("short"); got != "***" {
		t.Errorf("MaskToken(short) = %q", got)
	}
}
