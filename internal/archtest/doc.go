// Package archtest checks the import rule of docs/architecture.md
// ("Import rule"): a domain package under internal/ reaches no database,
// HTTP framework, queue, Redis or Firebase driver, directly or through
// another package. It holds no code, only the test that keeps the rule.
package archtest
