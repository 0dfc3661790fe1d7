package taskjson_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/loyaltyjam/loyaltyjam/internal/task"
	"github.com/loyaltyjam/loyaltyjam/internal/task/taskjson"
)

// TestParticipantViewHidesIntegrityChecks: a participant's report shows
// neither the flags that fired nor the staff's photo links (they would tell
// how cheating is detected); the moderators' view of the same report has
// both.
func TestParticipantViewHidesIntegrityChecks(t *testing.T) {
	s := task.Submission{ID: 42, Photos: []task.Photo{{Index: 0, Key: "secret-key", SHA256: "ab", Width: 4, Height: 3}},
		Flags: []task.Flag{task.NewFlag(task.FlagSimilarPhoto)}}
	mine, err := json.Marshal(taskjson.SubmissionOf(s))
	if err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{`"flags"`, `"url"`, "secret-key", string(task.FlagSimilarPhoto)} {
		if strings.Contains(string(mine), leak) {
			t.Errorf("participant view holds %s: %s", leak, mine)
		}
	}
	staff := taskjson.Staff(s, func(id int64, i int) string { return "/p/" + string(rune('0'+id%10)) + "/" + string(rune('0'+i)) })
	if len(staff.Flags) != 1 || staff.Flags[0].Code != task.FlagSimilarPhoto {
		t.Errorf("staff flags = %+v", staff.Flags)
	}
	if staff.Photos[0].URL != "/p/2/0" {
		t.Errorf("staff photo URL = %q, want /p/2/0", staff.Photos[0].URL)
	}
	if got, _ := json.Marshal(taskjson.SubmissionOf(task.Submission{})); !strings.Contains(string(got), `"answers":{}`) || !strings.Contains(string(got), `"photos":[]`) {
		t.Errorf("empty report: answers and photos must be {} and [], not null: %s", got)
	}
}

// TestInputRoundTrip: the body of POST /admin/v1/tasks and the task the
// APIs show carry the same fields.
func TestInputRoundTrip(t *testing.T) {
	in := taskjson.Input{ProgramID: 7, Title: "Выкладка", Instructions: "фото полки", RewardKopecks: 30000,
		PerParticipant: 1, PerShop: 2, GeofenceMeters: 150}
	tk := in.Task()
	tk.ID, tk.ClientID = 1, 2
	out := taskjson.TaskOf(tk)
	if !reflect.DeepEqual(out.Input, in) {
		t.Errorf("TaskOf(in.Task()).Input = %+v, want %+v", out.Input, in)
	}
	if out.RewardPoints != "300.00" {
		t.Errorf("RewardPoints = %q, want 300.00", out.RewardPoints)
	}
}
