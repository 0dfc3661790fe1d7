package adminapi

import (
	"strconv"

	"github.com/loyaltyjam/loyaltyjam/internal/task"
	"github.com/loyaltyjam/loyaltyjam/internal/task/taskjson"
)

// submissionView renders a report for moderators: with its integrity flags
// and photo links, which the participant's view (mobile-api) leaves out.
func submissionView(s task.Submission) taskjson.Submission {
	return taskjson.Staff(s, func(id int64, index int) string {
		return "/admin/v1/tasks/submissions/" + strconv.FormatInt(id, 10) + "/photos/" + strconv.Itoa(index)
	})
}
