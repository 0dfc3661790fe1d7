// Package sealbox encrypts short secrets that must be kept for a while and
// read back, such as a generated password waiting to be delivered, with
// AES-256-GCM. A sealed value names the box's version, so a future key
// rotation can tell old values from new ones.
package sealbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

const prefix = "v1:"

// ErrOpen is returned when a sealed value cannot be opened: another key,
// other associated data, or a changed value.
var ErrOpen = errors.New("sealbox: cannot open sealed value (wrong key or tampered)")

// Box seals and opens values with one key. It is safe for concurrent use.
type Box struct{ aead cipher.AEAD }

// New returns a Box for a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("sealbox: key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// ParseKey reads a 32-byte key written as 64 hex digits or as base64.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, errors.New("sealbox: a key is 32 bytes written as 64 hex digits or base64 (e.g. openssl rand -hex 32)")
}

// Random returns a Box with a fresh random key, for a process that keeps
// nothing sealed across restarts (development, tests).
func Random() *Box {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	b, _ := New(key)
	return b
}

// Seal encrypts plain, bound to ad (e.g. the row it is stored in: a value
// copied to another row does not open there).
func (b *Box) Seal(plain string, ad []byte) string {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plain)+b.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	return prefix + base64.RawStdEncoding.EncodeToString(b.aead.Seal(nonce, nonce, []byte(plain), ad))
}

// Open decrypts a value Seal returned for the same ad.
func (b *Box) Open(sealed string, ad []byte) (string, error) {
	raw, ok := strings.CutPrefix(sealed, prefix)
	if !ok {
		return "", ErrOpen
	}
	data, err := base64.RawStdEncoding.DecodeString(raw)
	if err != nil || len(data) < b.aead.NonceSize() {
		return "", ErrOpen
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, data[:n], data[n:], ad)
	if err != nil {
		return "", ErrOpen
	}
	return string(plain), nil
}
