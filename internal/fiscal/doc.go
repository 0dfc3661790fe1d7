// Package fiscal parses and validates the payload of the QR code printed on
// Russian fiscal receipts (54-ФЗ), for example
//
//	t=20200709T2008&s=7273.00&fn=9282440300688488&i=14186&fp=1460060363&n=1
//
// Parse accepts the variants seen in the wild (any key order, time with or
// without seconds, either case of the date/time separator, sums with or
// without kopecks, URL-encoded strings, "&amp;", stray whitespace and a BOM,
// unknown extra keys, "fd" as an alias of "i") and rejects everything else
// with an *Error that names the field and carries a stable reason code
// (Code* constants) and a Russian message for the user.
//
// FromFields validates manually entered fields (the receipt's printed
// requisites) the same way.
//
// Time convention: the payload's time is the shop's local wall-clock time and
// carries no zone. Payload.Time holds that wall-clock reading in time.UTC as a
// "no zone" marker; never convert it to another zone. Store it as a
// timestamp without time zone.
//
// The package is pure: no I/O, no clock, no globals with mutable state.
package fiscal
