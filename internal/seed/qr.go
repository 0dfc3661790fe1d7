package seed

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// QR is a receipt QR text from a demo shop that nobody has uploaded yet.
type QR struct {
	Shop Shop
	Text string
}

// firstDemoFD is the document number the printed QRs of a shop start from;
// the seeded activity (Activity) uses numbers below it.
const firstDemoFD = 100_000

// FreshQRs returns one receipt QR per demo shop, dated now (the wall clock
// of now's zone) and numbered past every document of that shop's fiscal
// drive the database holds, so each run of `make run` or `seed` prints QRs
// that are not yet used. The OFD simulator (with the demo shops registered)
// answers for them with the shop's fiscal details; it invents the items.
func FreshQRs(ctx context.Context, db *pgxpool.Pool, now time.Time) ([]QR, error) {
	out := make([]QR, 0, len(Shops))
	for i, s := range Shops {
		var fd int64
		if err := db.QueryRow(ctx, `SELECT greatest(coalesce(max(fd), 0), $2) + 1 FROM receipts WHERE fn = $1`,
			s.FN, firstDemoFD-1).Scan(&fd); err != nil {
			return nil, fmt.Errorf("next document number of %s: %w", s.Code, err)
		}
		out = append(out, QR{Shop: s, Text: fmt.Sprintf("t=%s&s=%d.00&fn=%s&i=%d&fp=%d&n=1",
			now.Format("20060102T1504"), 500+i*250, s.FN, fd, 3_000_000_000+fd)})
	}
	return out, nil
}
