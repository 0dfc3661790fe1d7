// Package archtest holds no code, only the test that keeps the layout's
// import rules (docs: README "Code layout"): domain packages import no
// database, HTTP, queue, Redis or Firebase driver, directly or through
// another package, and the dashboard (transport) no database driver.
package archtest
