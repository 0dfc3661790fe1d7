package ofd

import (
	"fmt"
	"time"
)

// Tolerances of CrossCheck.
const (
	// TimeTolerance is the allowed drift between the QR time and dateTime
	// (ФФД: document time within 5 minutes of exact time).
	TimeTolerance = 5 * time.Minute
	// ItemsSumTolerance is the allowed difference between Σ items[].sum and
	// totalSum (ФФД: tag 1020 equals the sum of 1043 within one rouble).
	ItemsSumTolerance int64 = 100
)

// CheckOperation rejects operation types the platform never accepts:
// 3 (расход) and 4 (возврат расхода) are purchases by the seller. It returns
// nil for 1, 2 and unknown (0) types.
func CheckOperation(provider string, op int) error {
	switch op {
	case 3:
		return &RejectedError{Provider: provider, Reason: ReasonOperationExpense, Message: "operation type 3 (расход) is not a sale"}
	case 4:
		return &RejectedError{Provider: provider, Reason: ReasonOperationExpRet, Message: "operation type 4 (возврат расхода) is not a sale"}
	}
	return nil
}

// CrossCheck verifies that a fetched receipt is the one the QR describes
// (fiscal.md §4.5): fn, fd, fp, operation type and sum equal, time within
// TimeTolerance, items sum to the total within ItemsSumTolerance, and the
// operation type is a sale or a sale return. It returns a *RejectedError
// with a Reason* code naming the first failed check.
//
// When the receipt's dateTime came as Unix seconds (TimeFromEpoch) the
// shop's zone is unknown, so a difference of a whole number of hours (up to
// ±12 h) plus TimeTolerance is accepted.
func CrossCheck(q Query, r Receipt) error {
	p := r.Provider
	rej := func(reason, format string, args ...any) error {
		return &RejectedError{Provider: p, Reason: reason, Message: fmt.Sprintf(format, args...)}
	}
	if err := CheckOperation(p, r.Operation); err != nil {
		return err
	}
	if r.FN != q.FN {
		return rej(ReasonMismatchFN, "fiscalDriveNumber %s, QR fn %s", r.FN, q.FN)
	}
	if r.FD != q.FD {
		return rej(ReasonMismatchFD, "fiscalDocumentNumber %d, QR i %d", r.FD, q.FD)
	}
	if r.FP != q.FP {
		return rej(ReasonMismatchFP, "fiscalSign %d, QR fp %d", r.FP, q.FP)
	}
	if q.Operation != 0 && r.Operation != q.Operation {
		return rej(ReasonMismatchOp, "operationType %d, QR n %d", r.Operation, q.Operation)
	}
	if r.TotalKopecks != q.SumKopecks {
		return rej(ReasonMismatchSum, "totalSum %d kopecks, QR s %d kopecks", r.TotalKopecks, q.SumKopecks)
	}
	if !q.Time.IsZero() {
		if r.Time.IsZero() {
			return rej(ReasonMismatchTime, "receipt has no dateTime")
		}
		if !timesAgree(q.Time, r.Time, r.TimeFromEpoch) {
			return rej(ReasonMismatchTime, "dateTime %s, QR t %s", r.Time.Format("2006-01-02T15:04:05"), q.Time.Format("2006-01-02T15:04:05"))
		}
	}
	var items int64
	for _, it := range r.Items {
		items += it.SumKopecks
	}
	if d := items - r.TotalKopecks; d > ItemsSumTolerance || d < -ItemsSumTolerance {
		return rej(ReasonItemsSum, "items sum to %d kopecks, totalSum %d", items, r.TotalKopecks)
	}
	return nil
}

func timesAgree(q, r time.Time, epoch bool) bool {
	d := r.Sub(q)
	if !epoch {
		return d <= TimeTolerance && d >= -TimeTolerance
	}
	for h := -12; h <= 12; h++ {
		dd := d - time.Duration(h)*time.Hour
		if dd <= TimeTolerance && dd >= -TimeTolerance {
			return true
		}
	}
	return false
}
