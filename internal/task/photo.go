package task

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"image"
	_ "image/jpeg" // photos from phones
	_ "image/png"  // screenshots and edited photos

	"golang.org/x/sync/semaphore"

	"github.com/loyaltyjam/loyaltyjam/internal/imagehash"
	"github.com/loyaltyjam/loyaltyjam/internal/qrscan"
)

// Limits of one photo.
const (
	MaxPhotoBytes  = 15 << 20
	MaxPhotoPixels = 50_000_000 // a 48-MP phone camera, and no decompression bombs
)

// PhotoMemoryBudget bounds the bytes that the photo decodes of one process
// running at once may hold, as qrscan.DecodeCost estimates them from each
// photo's header: a 49-MP PNG costs about 240 MB decoded whatever its size
// on the wire, so sixteen of them at once must queue, not take 4 GB. A
// photo that costs more than the whole budget decodes alone.
const PhotoMemoryBudget = 256 << 20

var (
	photoBudget int64 = PhotoMemoryBudget // a test sets a smaller one
	photoMemory       = semaphore.NewWeighted(photoBudget)
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
// The header is checked before any pixel is decoded, and the decode waits
// (within ctx) for its cost to fit PhotoMemoryBudget.
func InspectPhoto(ctx context.Context, data []byte, field string) (PhotoInfo, error) {
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
	h, err := perceptualHash(ctx, data, cfg)
	if ctx.Err() != nil {
		return PhotoInfo{}, ctx.Err()
	}
	if err != nil {
		return PhotoInfo{}, WithField(ErrBadPhoto, field)
	}
	ext := "jpg"
	if format == "png" {
		ext = "png"
	}
	return PhotoInfo{Ext: ext, SHA256: sha256.Sum256(data), PHash: h, Width: cfg.Width, Height: cfg.Height}, nil
}

// perceptualHash decodes a photo whose header passed the checks, within the
// process's photo memory budget, and hashes it.
func perceptualHash(ctx context.Context, data []byte, cfg image.Config) (imagehash.Hash, error) {
	cost := min(qrscan.DecodeCost(cfg), photoBudget)
	if err := photoMemory.Acquire(ctx, cost); err != nil {
		return 0, err
	}
	defer photoMemory.Release(cost)
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return 0, err
	}
	return imagehash.PHash(img)
}
