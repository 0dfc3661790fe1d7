// Package catalog holds a client's SKU catalog and matches receipt line items
// to it.
//
// A SKU carries the client's article id, brand, name, category, pack size,
// GTINs, learned name aliases and the client's margin weight. Catalogs come in
// and go out as CSV (the column layout of shared/testdata/sku/catalog.csv) or
// XLSX; imports are all-or-nothing and report every bad row with its line,
// column and reason.
//
// The Matcher maps one printed receipt line (and, for marked goods, the GTIN
// from the marking code) to at most one SKU, in the order of docs/architecture.md §4: GTIN,
// then an exact learned alias, then the normalised name. Name matching is built
// from the catalog itself — the words, variant codes (G12+, 5W-40, DOT-4, 67%)
// and pack sizes that tell SKUs of one brand apart — plus a small lexicon of
// receipt abbreviations in lexicon.go. A wrong match pays points for a sale
// that did not happen, so whenever a line fits no SKU or more than one, the
// matcher answers "none" with a reason instead of guessing. docs/matching.md
// describes the rules and their measured precision and recall.
//
// The package is pure: no database, no I/O beyond the readers and writers it is
// handed.
package catalog
