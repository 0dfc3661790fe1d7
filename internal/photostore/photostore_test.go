package photostore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/loyaltyjam/loyaltyjam/internal/photostore"
)

func TestDir(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, err := photostore.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("\xff\xd8\xff not really a jpeg")
	k1, err := d.Put(ctx, data, "jpg")
	if err != nil {
		t.Fatal(err)
	}
	k2, err := d.Put(ctx, data, "jpg")
	if err != nil || k1 != k2 || k1 != photostore.Key(data, "jpg") {
		t.Fatalf("keys %q %q err %v", k1, k2, err)
	}
	rc, err := d.Open(ctx, k1)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, data) {
		t.Fatalf("read back %q", got)
	}
	for _, k := range []string{"../etc/passwd", "sha256/00/" + string(bytes.Repeat([]byte("0"), 64)) + ".jpg"} {
		if _, err := d.Open(ctx, k); !errors.Is(err, photostore.ErrNotFound) {
			t.Fatalf("open %q: %v", k, err)
		}
	}
}
