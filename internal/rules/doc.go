// Package rules turns a verified, matched receipt into points (docs/architecture.md §4).
//
// A program's Rules are data (stored as JSON, versioned and effective-dated
// by the points service): which SKUs earn and how — fixed points per unit or
// a percentage of the line sum, times the SKU's margin weight —, receipt
// bonuses, promo multipliers in date windows, eligibility and caps.
// Evaluate is a pure, deterministic function of its Input (the clock is
// Input.Now): it returns the points of every line and bonus with a reason
// code for each, and every cap that bit, so a participant can be told why a
// line earned nothing. Reason codes are stable; Message gives the Russian
// text.
//
// Arithmetic is integer only: amounts in kopecks, weights and percentages
// in basis points (1/10000). Each line is computed with one division at the
// end and rounded half down (x.5 kopecks → x; anything above half → x+1),
// so rounding never pays more than half a kopeck per line in the
// participant's favour and never depends on the order of factors.
//
// CheckAnomaly decides from activity counters whether a receipt looks wrong
// enough for a moderator instead of paying.
package rules
