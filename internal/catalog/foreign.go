package catalog

import "time"

// ForeignLine is a receipt line name a client marked «не наш товар»:
// another manufacturer's goods, not to be matched or listed as unmatched.
type ForeignLine struct {
	NameNorm    string // catalog.Normalize of Name: the key
	Name        string // as it was marked
	DismissedBy string // the dashboard user's name or e-mail
	DismissedAt time.Time
}
