-- +goose Up
-- Issue 14: receipt lines a client's manager marked «не наш товар» (another
-- manufacturer's goods). They leave the unmatched-lines list, and so do
-- later lines whose normalised name (catalog.Normalize) is the same.
-- Remembered per client with who and when; deleting the row reverses it.
CREATE TABLE catalog_foreign_lines (
    client_id     BIGINT NOT NULL REFERENCES clients(id),
    name_norm     TEXT NOT NULL CHECK (name_norm <> ''),
    name          TEXT NOT NULL CHECK (name <> ''),  -- the line as it was marked
    dismissed_by  BIGINT NOT NULL REFERENCES dashboard_users(id),
    dismissed_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, name_norm)
);

-- The normalised form of each unmatched line name, filled by the rollup
-- hook and by reportdb.Rebuild (NULL for rows written before this
-- migration until then; those are matched on the exact name).
ALTER TABLE rpt_unmatched ADD COLUMN name_norm TEXT;

-- +goose Down
ALTER TABLE rpt_unmatched DROP COLUMN name_norm;
DROP TABLE catalog_foreign_lines;
