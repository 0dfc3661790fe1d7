-- Maker-checker for task rewards (issue 13): approving a report whose
-- reward reaches the limit (TASK_SECOND_APPROVAL_KOPECKS) records a first
-- approval; a different staff member's approval credits it. Auto-approval
-- never credits such a report. The CHECK keeps it true whatever the code.

-- +goose Up
ALTER TABLE task_submissions
    ADD COLUMN needs_second_approval BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN first_approved_by BIGINT,
    ADD COLUMN first_approved_at TIMESTAMPTZ;
ALTER TABLE task_submissions ADD CONSTRAINT task_submissions_second_approver CHECK (
    NOT needs_second_approval OR status <> 'approved'
    OR (first_approved_by IS NOT NULL AND reviewed_by IS NOT NULL AND reviewed_by <> first_approved_by));

-- +goose Down
ALTER TABLE task_submissions DROP CONSTRAINT task_submissions_second_approver;
ALTER TABLE task_submissions DROP COLUMN first_approved_at, DROP COLUMN first_approved_by,
    DROP COLUMN needs_second_approval;
