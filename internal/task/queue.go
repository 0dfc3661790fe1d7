package task

// QueueFilter selects the moderation queue.
type QueueFilter struct {
	ClientID int64
	// Status is submitted or in_review; "" for both.
	Status SubmissionStatus
	TaskID int64 // 0: every task
	Limit  int
	Offset int
}
