// Package qrscan reads QR codes from phone photos of receipts.
//
// A Decoder sniffs the format from magic bytes (JPEG, PNG, GIF; HEIC and
// other formats are refused), checks the declared dimensions before decoding
// the image (decompression bombs), honours the JPEG EXIF orientation,
// converts the photo to one grey plane and then runs a ladder of attempts
// with gozxing (pure Go): downscaled views, a rotation by 45°, TRY_HARDER,
// several binarizers (dark-biased for faded print and streaks, global) and
// an unsharp-masked view thresholded over a window of about two modules for
// blurred small modules (sharpen.go). When gozxing finds the finder
// patterns but its binarized samples do not decode, the module grid is
// resampled from the grey plane through the perspective transform and
// thresholded locally, per row, per column, by Otsu and after a
// module-level deblur (grid.go). It stops at the first text that
// parses as a fiscal payload (see package fiscal); when only other codes are
// found (an EGAIS code next to the fiscal one) it looks for further codes in
// the same image before giving up.
//
// The ladder is split into a fast part (a few cheap attempts, for the
// request path) and a full part (for a background worker): see Effort. The
// context is checked between attempts, so a deadline bounds the time spent.
//
// A Decoder holds only immutable configuration and is safe for concurrent
// use.
package qrscan
