package catalogdb

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/catalog"
)

// Errors of foreign lines.
var (
	ErrLineNameEmpty   = apperr.New(apperr.Invalid, "line_name_empty", "Название строки пустое.")
	ErrForeignNotFound = apperr.New(apperr.NotFound, "foreign_line_not_found", "Такая строка не отмечена как «не наш товар».")
)

// maxForeignNameBytes bounds a marked name (a receipt line is far shorter).
const maxForeignNameBytes = 1000

// MarkForeign records, for clientID, that receipt lines named name (and
// every name that normalises the same) are another manufacturer's goods,
// marked by dashboard user userID. Marking a name again keeps the first
// mark. Returns ErrLineNameEmpty for a name with nothing to match on.
func (s *Store) MarkForeign(ctx context.Context, clientID, userID int64, name string) (catalog.ForeignLine, error) {
	name = strings.TrimSpace(name)
	norm := catalog.Normalize(name)
	if norm == "" || len(name) > maxForeignNameBytes {
		return catalog.ForeignLine{}, ErrLineNameEmpty
	}
	if _, err := s.db.Exec(ctx, `INSERT INTO catalog_foreign_lines (client_id, name_norm, name, dismissed_by)
		VALUES ($1, $2, $3, $4) ON CONFLICT (client_id, name_norm) DO NOTHING`, clientID, norm, name, userID); err != nil {
		return catalog.ForeignLine{}, fmt.Errorf("mark foreign line: %w", err)
	}
	return catalog.ForeignLine{NameNorm: norm, Name: name}, nil
}

// UnmarkForeign takes back the mark of the normalised name norm, so such
// lines are listed as unmatched again. Returns ErrForeignNotFound if
// clientID has no such mark.
func (s *Store) UnmarkForeign(ctx context.Context, clientID int64, norm string) error {
	tag, err := s.db.Exec(ctx, `DELETE FROM catalog_foreign_lines WHERE client_id = $1 AND name_norm = $2`, clientID, norm)
	if err != nil {
		return fmt.Errorf("unmark foreign line: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrForeignNotFound
	}
	return nil
}

// ForeignLines lists clientID's marks, the newest first.
func (s *Store) ForeignLines(ctx context.Context, clientID int64, limit int) ([]catalog.ForeignLine, error) {
	rows, err := s.db.Query(ctx, `SELECT f.name_norm, f.name, COALESCE(NULLIF(u.name, ''), u.email), f.dismissed_at
		FROM catalog_foreign_lines f JOIN dashboard_users u ON u.id = f.dismissed_by
		WHERE f.client_id = $1 ORDER BY f.dismissed_at DESC, f.name_norm LIMIT $2`, clientID, limit)
	if err != nil {
		return nil, fmt.Errorf("foreign lines: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (catalog.ForeignLine, error) {
		var f catalog.ForeignLine
		err := r.Scan(&f.NameNorm, &f.Name, &f.DismissedBy, &f.DismissedAt)
		return f, err
	})
}
