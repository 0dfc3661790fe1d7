package task

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"image"
	_ "image/jpeg" // photos from phones
	_ "image/png"  // screenshots and edited photos

	"github.com/loyaltyjam/loyaltyjam/internal/imagehash"
)

// Limits of one photo.
const (
	MaxPhotoBytes  = 15 << 20
	MaxPhotoPixels = 50_000_000 // a 48-MP phone camera, and no decompression bombs
)

// PhotoInfo is what a report keeps of a photo besides its bytes.
type PhotoInfo struct {
	// Ext is "jpg" or "png".
	Ext    string
	SHA256 [32]byte
	PHash  imagehash.Hash
	Width  int
	Height int
}

// SHA256Hex returns the content hash in hex.
func (p PhotoInfo) SHA256Hex() string { return hex.EncodeToString(p.SHA256[:]) }

// InspectPhoto checks that data is a JPEG or PNG of sane size and returns
// its content hash and perceptual hash. Field names the upload for errors.
func InspectPhoto(data []byte, field string) (PhotoInfo, error) {
	if len(data) > MaxPhotoBytes {
		return PhotoInfo{}, WithField(ErrPhotoTooLarge, field)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || (format != "jpeg" && format != "png") {
		return PhotoInfo{}, WithField(ErrBadPhoto, field)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > MaxPhotoPixels {
		return PhotoInfo{}, WithField(ErrPhotoTooLarge, field)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return PhotoInfo{}, WithField(ErrBadPhoto, field)
	}
	h, err := imagehash.PHash(img)
	if err != nil {
		return PhotoInfo{}, WithField(ErrBadPhoto, field)
	}
	ext := "jpg"
	if format == "png" {
		ext = "png"
	}
	return PhotoInfo{Ext: ext, SHA256: sha256.Sum256(data), PHash: h, Width: cfg.Width, Height: cfg.Height}, nil
}
