// Package migrations holds the numbered SQL migrations of the database
// schema. They are embedded in the binary and applied by `loyaltyjam migrate`,
// by `loyaltyjam dev` and by the test helpers, so production and tests run the
// very same files. A migration is never edited once it has been applied
// anywhere; a change is a new file.
package migrations

import "embed"

// FS holds every *.sql migration of this directory.
//
//go:embed *.sql
var FS embed.FS
