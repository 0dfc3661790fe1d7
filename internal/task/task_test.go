package task_test

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/task"
)

func ptr[T any](v T) *T { return &v }

var t0 = time.Date(2025, 3, 3, 9, 0, 0, 0, task.Moscow) // a Monday

func base() task.Task {
	return task.Task{
		ProgramID: 1, Title: "Выкладка", RewardKopecks: 50000,
		StartsAt: t0, DueAt: t0.AddDate(0, 3, 0),
	}
}

func code(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := apperr.As(err); ok {
		return e.Code
	}
	return "not-apperr: " + err.Error()
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		edit      func(*task.Task)
		wantField string
	}{
		{"ok", func(*task.Task) {}, ""},
		{"no title", func(x *task.Task) { x.Title = "  " }, "title"},
		{"zero reward", func(x *task.Task) { x.RewardKopecks = 0 }, "reward_kopecks"},
		{"huge reward", func(x *task.Task) { x.RewardKopecks = math.MaxInt64 }, "reward_kopecks"},
		{"due before start", func(x *task.Task) { x.DueAt = x.StartsAt }, "due_at"},
		{"bad recurrence", func(x *task.Task) { x.Recurrence = "hourly" }, "recurrence"},
		{"negative shop limit", func(x *task.Task) { x.PerShop = -1 }, "per_shop"},
		{"bad role", func(x *task.Task) { x.Eligibility.Roles = []string{"boss"} }, "eligibility.roles"},
		{"bad shop id", func(x *task.Task) { x.Eligibility.ShopIDs = []int64{0} }, "eligibility.shop_ids"},
		{"too many photos", func(x *task.Task) { x.Evidence.MinPhotos = 11 }, "evidence.min_photos"},
		{"max below min", func(x *task.Task) { x.Evidence.MinPhotos, x.Evidence.MaxPhotos = 3, 2 }, "evidence.max_photos"},
		{"bad checklist key", func(x *task.Task) {
			x.Evidence.Checklist = []task.ChecklistItem{{Key: "Ключ", Question: "?", Kind: task.YesNo}}
		}, "evidence.checklist[0].key"},
		{"duplicate checklist key", func(x *task.Task) {
			x.Evidence.Checklist = []task.ChecklistItem{{Key: "a", Question: "?", Kind: task.YesNo}, {Key: "a", Question: "?", Kind: task.Number}}
		}, "evidence.checklist[1].key"},
		{"bad kind", func(x *task.Task) {
			x.Evidence.Checklist = []task.ChecklistItem{{Key: "a", Question: "?", Kind: "text"}}
		}, "evidence.checklist[0].kind"},
		{"min over max", func(x *task.Task) {
			x.Evidence.Checklist = []task.ChecklistItem{{Key: "a", Question: "?", Kind: task.Number, Min: ptr(5.0), Max: ptr(1.0)}}
		}, "evidence.checklist[0].max"},
		{"geofence too big", func(x *task.Task) { x.GeofenceMeters = 1e6 }, "geofence_meters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			x := base()
			tc.edit(&x)
			err := x.Normalize()
			var field string
			if e, ok := apperr.As(err); ok {
				field = e.Field
				if e.Kind != apperr.Invalid || e.Message == "" {
					t.Errorf("err = %v, want Invalid with a message", err)
				}
			} else if err != nil {
				t.Fatalf("err = %v, want an apperr", err)
			}
			if field != tc.wantField {
				t.Errorf("field = %q, want %q (err %v)", field, tc.wantField, err)
			}
		})
	}
	x := base()
	x.AutoApprove.Enabled = true
	if err := x.Normalize(); err != nil {
		t.Fatal(err)
	}
	if x.PerParticipant != 1 || x.Recurrence != task.Once || x.AutoApprove.MinApproved != 3 || x.Evidence.MaxPhotos != 2 {
		t.Errorf("defaults not filled: %+v", x)
	}
}

func TestSlots(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		rec       task.Recurrence
		due       time.Time
		now       time.Time
		want      task.Slot
		wantError string
	}{
		{"before start", task.Weekly, t0.AddDate(0, 1, 0), t0.Add(-time.Second), task.Slot{}, "task_not_started"},
		{"at due", task.Weekly, t0.AddDate(0, 1, 0), t0.AddDate(0, 1, 0), task.Slot{}, "task_finished"},
		{"once", task.Once, t0.AddDate(0, 0, 10), t0.AddDate(0, 0, 9), task.Slot{0, t0, t0.AddDate(0, 0, 10)}, ""},
		{"weekly first", task.Weekly, t0.AddDate(0, 1, 0), t0, task.Slot{0, t0, t0.AddDate(0, 0, 7)}, ""},
		{"weekly boundary", task.Weekly, t0.AddDate(0, 1, 0), t0.AddDate(0, 0, 7), task.Slot{1, t0.AddDate(0, 0, 7), t0.AddDate(0, 0, 14)}, ""},
		{"weekly last clipped", task.Weekly, t0.AddDate(0, 0, 10), t0.AddDate(0, 0, 8), task.Slot{1, t0.AddDate(0, 0, 7), t0.AddDate(0, 0, 10)}, ""},
		{"daily", task.Daily, t0.AddDate(0, 1, 0), t0.AddDate(0, 0, 2).Add(-time.Nanosecond), task.Slot{1, t0.AddDate(0, 0, 1), t0.AddDate(0, 0, 2)}, ""},
		{"monthly", task.Monthly, t0.AddDate(1, 0, 0), t0.AddDate(0, 2, 5), task.Slot{2, t0.AddDate(0, 2, 0), t0.AddDate(0, 3, 0)}, ""},
		{"monthly just before", task.Monthly, t0.AddDate(1, 0, 0), t0.AddDate(0, 2, 0).Add(-time.Second), task.Slot{1, t0.AddDate(0, 1, 0), t0.AddDate(0, 2, 0)}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			x := base()
			x.Recurrence, x.DueAt = tc.rec, tc.due
			got, err := x.SlotAt(tc.now)
			if code(err) != tc.wantError {
				t.Fatalf("err = %v, want %q", err, tc.wantError)
			}
			if err == nil && (got.N != tc.want.N || !got.Start.Equal(tc.want.Start) || !got.End.Equal(tc.want.End)) {
				t.Errorf("slot = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestDistance(t *testing.T) {
	t.Parallel()
	// Red Square to the Bolshoi Theatre, about 600 m; Moscow–St Petersburg 634 km.
	tests := []struct {
		name                   string
		lat1, lon1, lat2, lon2 float64
		want, tol              float64
	}{
		{"same point", 55.7539, 37.6208, 55.7539, 37.6208, 0, 0.001},
		{"one degree of latitude", 0, 0, 1, 0, 111195, 1},
		{"Moscow to St Petersburg", 55.7558, 37.6173, 59.9343, 30.3351, 634_400, 2000},
		{"across the antimeridian", 0, 179.9999, 0, -179.9999, 22.24, 0.1},
	}
	for _, tc := range tests {
		if got := task.Distance(tc.lat1, tc.lon1, tc.lat2, tc.lon2); math.Abs(got-tc.want) > tc.tol {
			t.Errorf("%s: %.2f m, want %.2f±%.2f", tc.name, got, tc.want, tc.tol)
		}
	}
}

func TestParseAnswers(t *testing.T) {
	t.Parallel()
	cl := []task.ChecklistItem{
		{Key: "placed", Question: "Материал размещён?", Kind: task.YesNo, Required: true},
		{Key: "facings", Question: "Сколько фейсингов?", Kind: task.Number, Min: ptr(0.0), Max: ptr(100.0)},
	}
	tests := []struct {
		name, raw string
		want      task.Answers
		wantField string
	}{
		{"ok", `{"placed": true, "facings": 12}`, task.Answers{"placed": true, "facings": 12.0}, ""},
		{"optional missing", `{"placed": false}`, task.Answers{"placed": false}, ""},
		{"required missing", `{"facings": 1}`, nil, "answers.placed"},
		{"empty", ``, nil, "answers.placed"},
		{"not json", `{placed}`, nil, "answers"},
		{"array", `[1]`, nil, "answers"},
		{"unknown key", `{"placed": true, "x": 1}`, nil, "answers.x"},
		{"unknown odd key", `{"placed": true, "<script>": 1}`, nil, "answers.?"},
		{"wrong type", `{"placed": "да"}`, nil, "answers.placed"},
		{"number as string", `{"placed": true, "facings": "3"}`, nil, "answers.facings"},
		{"out of range", `{"placed": true, "facings": 101}`, nil, "answers.facings"},
		{"null is no answer", `{"placed": true, "facings": null}`, task.Answers{"placed": true}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := task.ParseAnswers([]byte(tc.raw), cl)
			var field string
			if e, ok := apperr.As(err); ok {
				field = e.Field
			} else if err != nil {
				t.Fatalf("not an apperr: %v", err)
			}
			if field != tc.wantField {
				t.Fatalf("field = %q, want %q (%v)", field, tc.wantField, err)
			}
			if err == nil {
				if d := cmp.Diff(tc.want, got); d != "" {
					t.Errorf("answers (-want +got):\n%s", d)
				}
			}
		})
	}
}

func FuzzParseAnswers(f *testing.F) {
	cl := []task.ChecklistItem{
		{Key: "a", Question: "?", Kind: task.YesNo, Required: true},
		{Key: "n", Question: "?", Kind: task.Number, Min: ptr(-1.0)},
	}
	for _, s := range []string{`{"a":true}`, `{"a":true,"n":1e308}`, `{"n":-2}`, `[]`, `null`, `{"a":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := task.ParseAnswers(raw, cl)
		if err != nil {
			if e, ok := apperr.As(err); !ok || e.Kind != apperr.Invalid {
				t.Fatalf("error %v is not Invalid", err)
			}
			return
		}
		if _, ok := got["a"].(bool); !ok {
			t.Fatalf("accepted %q without the required answer", raw)
		}
	})
}

func TestCheckReport(t *testing.T) {
	t.Parallel()
	x := base()
	x.GeofenceMeters = 200
	x.Evidence = task.Evidence{MinPhotos: 2, MaxPhotos: 3, CommentRequired: true,
		Checklist: []task.ChecklistItem{{Key: "placed", Question: "?", Kind: task.YesNo, Expect: ptr(true)}}}
	if err := x.Normalize(); err != nil {
		t.Fatal(err)
	}
	slot := x.SlotN(0)
	now := t0.Add(48 * time.Hour)
	shop := task.Shop{ID: 1, Lat: ptr(55.7539), Lon: ptr(37.6208)}
	good := task.Report{Photos: 2, Comment: "готово", Lat: ptr(55.7545), Lon: ptr(37.6210), CapturedAt: now.Add(-time.Hour),
		Answers: task.Answers{"placed": true}}
	tests := []struct {
		name      string
		edit      func(*task.Report)
		shop      task.Shop
		wantCode  string
		wantFlags []task.FlagCode
	}{
		{"clean", func(*task.Report) {}, shop, "", nil},
		{"too few photos", func(r *task.Report) { r.Photos = 1 }, shop, "task_too_few_photos", nil},
		{"too many photos", func(r *task.Report) { r.Photos = 4 }, shop, "task_too_many_photos", nil},
		{"no comment", func(r *task.Report) { r.Comment = " " }, shop, "task_comment_required", nil},
		{"half a location", func(r *task.Report) { r.Lon = nil }, shop, "task_bad_location", nil},
		{"location out of range", func(r *task.Report) { r.Lat = ptr(91.0) }, shop, "task_bad_location", nil},
		{"NaN location", func(r *task.Report) { r.Lat = ptr(math.NaN()) }, shop, "task_bad_location", nil},
		{"outside geofence", func(r *task.Report) { r.Lat = ptr(55.7600) }, shop, "", []task.FlagCode{task.FlagOutsideGeofence}},
		{"no location", func(r *task.Report) { r.Lat, r.Lon = nil, nil }, shop, "", []task.FlagCode{task.FlagNoLocation}},
		{"shop without coordinates", func(*task.Report) {}, task.Shop{ID: 1}, "", []task.FlagCode{task.FlagShopNoCoords}},
		{"captured before the window", func(r *task.Report) { r.CapturedAt = t0.Add(-time.Minute) }, shop, "", []task.FlagCode{task.FlagCaptureOutside}},
		{"captured in the future", func(r *task.Report) { r.CapturedAt = now.Add(time.Hour) }, shop, "", []task.FlagCode{task.FlagCaptureFuture}},
		{"small clock skew is fine", func(r *task.Report) { r.CapturedAt = now.Add(time.Minute) }, shop, "", nil},
		{"no capture time", func(r *task.Report) { r.CapturedAt = time.Time{} }, shop, "", []task.FlagCode{task.FlagNoCaptureTime}},
		{"unexpected answer", func(r *task.Report) { r.Answers = task.Answers{"placed": false} }, shop, "", []task.FlagCode{task.FlagUnexpectedAnswer}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := good
			tc.edit(&r)
			flags, err := x.CheckReport(r, slot, tc.shop, now)
			if code(err) != tc.wantCode {
				t.Fatalf("err = %v, want %q", err, tc.wantCode)
			}
			var got []task.FlagCode
			for _, f := range flags {
				got = append(got, f.Code)
				if f.Message == "" {
					t.Errorf("flag %s has no message", f.Code)
				}
			}
			if d := cmp.Diff(tc.wantFlags, got); d != "" {
				t.Errorf("flags (-want +got):\n%s", d)
			}
		})
	}
}

func TestTransition(t *testing.T) {
	t.Parallel()
	tests := []struct {
		from     task.SubmissionStatus
		act      task.Action
		want     task.SubmissionStatus
		wantCode string
	}{
		{task.Taken, task.ActSubmit, task.Submitted, ""},
		{task.ReworkRequested, task.ActSubmit, task.Submitted, ""},
		{task.Submitted, task.ActSubmit, task.Submitted, "task_submission_bad_status"},
		{task.Submitted, task.ActClaim, task.InReview, ""},
		{task.InReview, task.ActApprove, task.Approved, ""},
		{task.Submitted, task.ActReject, task.Rejected, ""},
		{task.InReview, task.ActRework, task.ReworkRequested, ""},
		{task.Approved, task.ActApprove, task.Approved, "task_submission_already_reviewed"},
		{task.Rejected, task.ActApprove, task.Rejected, "task_submission_already_reviewed"},
		{task.Taken, task.ActApprove, task.Taken, "task_submission_bad_status"},
		{task.Taken, task.ActExpire, task.Expired, ""},
		{task.Submitted, task.ActExpire, task.Submitted, "task_submission_bad_status"},
	}
	for _, tc := range tests {
		got, err := task.Transition(tc.from, tc.act)
		if got != tc.want || code(err) != tc.wantCode {
			t.Errorf("%s + %s = %s, %v; want %s, %q", tc.from, tc.act, got, err, tc.want, tc.wantCode)
		}
	}
}

func TestReviewValidateAndAutoApprove(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		r         task.Review
		wantField string
	}{
		{task.Review{Action: task.ActApprove}, ""},
		{task.Review{Action: task.ActReject, ReasonCode: "not_done"}, ""},
		{task.Review{Action: task.ActReject, ReasonCode: "bogus"}, "reason_code"},
		{task.Review{Action: task.ActReject, ReasonCode: "other"}, "comment"},
		{task.Review{Action: task.ActRework}, "comment"},
		{task.Review{Action: task.ActRework, Comment: "Переснимите полку целиком"}, ""},
		{task.Review{Action: "delete"}, "action"},
	} {
		err := tc.r.Validate()
		var field string
		if e, ok := apperr.As(err); ok {
			field = e.Field
		}
		if field != tc.wantField {
			t.Errorf("%+v: field %q, want %q (%v)", tc.r, field, tc.wantField, err)
		}
	}
	x := base()
	x.AutoApprove = task.AutoApprove{Enabled: true, MinApproved: 2}
	for _, tc := range []struct {
		flags []task.Flag
		h     task.History
		want  bool
	}{
		{nil, task.History{Approved: 2}, true},
		{nil, task.History{Approved: 1}, false},
		{nil, task.History{Approved: 5, Rejected: 1}, false},
		{[]task.Flag{task.NewFlag(task.FlagNoLocation)}, task.History{Approved: 5}, false},
	} {
		if got := x.AutoApprovable(tc.flags, tc.h); got != tc.want {
			t.Errorf("AutoApprovable(%v, %+v) = %v", tc.flags, tc.h, got)
		}
	}
	if got := task.RewardKey(42); got != "task_submission:42" {
		t.Errorf("RewardKey = %q", got)
	}
}

func TestEligibility(t *testing.T) {
	t.Parallel()
	x := base()
	x.Eligibility = task.Eligibility{Roles: []string{"merchandiser"}, Regions: []string{"Москва"}, Chains: []string{"Пятёрочка"}}
	if !x.RoleAllowed("merchandiser") || x.RoleAllowed("seller") {
		t.Error("roles not applied")
	}
	if !x.ShopAllowed(task.Shop{ID: 1, Region: "Москва", Chain: "Пятёрочка"}) {
		t.Error("matching shop refused")
	}
	if x.ShopAllowed(task.Shop{ID: 1, Region: "Тверь", Chain: "Пятёрочка"}) || x.ShopAllowed(task.Shop{ID: 1, Region: "Москва", Chain: "Магнит"}) {
		t.Error("shop outside region/chain allowed")
	}
	x.Eligibility = task.Eligibility{ShopIDs: []int64{5}}
	if x.ShopAllowed(task.Shop{ID: 6}) || !x.ShopAllowed(task.Shop{ID: 5}) || !x.RestrictsShops() {
		t.Error("shop ids not applied")
	}
}

func TestParseStatus(t *testing.T) {
	t.Parallel()
	for _, s := range task.Statuses {
		if got, ok := task.ParseStatus(string(s)); !ok || got != s {
			t.Errorf("ParseStatus(%q) = %q, %v", s, got, ok)
		}
	}
	if got, ok := task.ParseStatus(""); !ok || got != "" {
		t.Errorf(`ParseStatus("") = %q, %v: want no filter`, got, ok)
	}
	for _, v := range []string{"approved ", "APPROVED", "done", "\xff"} {
		if _, ok := task.ParseStatus(v); ok {
			t.Errorf("ParseStatus(%q) accepted", v)
		}
	}
}
