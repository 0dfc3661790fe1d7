// Package photostore keeps uploaded receipt photos for audit. Photos are
// content-addressed: the key is derived from the SHA-256 of the bytes, so
// storing the same photo twice stores it once and a key always names the
// same bytes. Dir keeps them in a local directory; another backend (an
// S3-compatible bucket) can satisfy the same small interface that callers
// declare.
package photostore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
)

// ErrNotFound is returned by Open for a key that is not stored.
var ErrNotFound = errors.New("photostore: not found")

// Key returns the content address of a photo with the given file extension
// ("jpg", "png"): "sha256/ab/<64 hex>.jpg".
func Key(data []byte, ext string) string {
	sum := sha256.Sum256(data)
	h := hex.EncodeToString(sum[:])
	return "sha256/" + h[:2] + "/" + h + "." + ext
}

var validKey = regexp.MustCompile(`^sha256/[0-9a-f]{2}/[0-9a-f]{64}\.[a-z0-9]{1,5}$`)

// Dir stores photos under a local directory.
type Dir struct{ root string }

// NewDir returns a Dir rooted at root, creating it if needed.
func NewDir(root string) (*Dir, error) {
	if err := os.MkdirAll(root, 0o750); err != nil {
		return nil, fmt.Errorf("photostore: %w", err)
	}
	return &Dir{root: root}, nil
}

// Put stores data and returns its key. Storing bytes already stored is a
// no-op. The file appears atomically (written to a temporary file, synced
// and renamed), so a reader never sees half a photo.
func (d *Dir) Put(ctx context.Context, data []byte, ext string) (string, error) {
	key := Key(data, ext)
	if err := ctx.Err(); err != nil {
		return "", err
	}
	path := filepath.Join(d.root, filepath.FromSlash(key))
	if _, err := os.Stat(path); err == nil {
		return key, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return "", fmt.Errorf("photostore: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".upload-*")
	if err != nil {
		return "", fmt.Errorf("photostore: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("photostore: %w", err)
	}
	return key, nil
}

// Open returns the photo stored under key, or ErrNotFound.
func (d *Dir) Open(_ context.Context, key string) (io.ReadCloser, error) {
	if !validKey.MatchString(key) {
		return nil, ErrNotFound
	}
	f, err := os.Open(filepath.Join(d.root, filepath.FromSlash(key)))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotFound
	}
	return f, err
}
