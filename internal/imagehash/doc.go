// Package imagehash computes perceptual hashes of photos, so that a photo
// submitted again after re-encoding, resizing or light editing is
// recognised as a near-duplicate of the original, and measures how far two
// hashes are apart (Hamming distance).
//
// The hash is the DCT pHash: the image is reduced to a 32×32 grey image by
// area averaging (which throws away what JPEG quality and resizing change),
// the low-frequency 8×8 corner of its 2-D DCT is kept, and each of the 64
// non-DC coefficients becomes one bit: above or below their median (the DC
// term, mean brightness, is left out so bit 0 is always 0). Visually
// identical images land a few bits apart; unrelated photos about 32 apart.
//
// The package is pure Go with no dependency beyond the standard library.
package imagehash
