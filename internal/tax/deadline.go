package tax

import "time"

// PaymentDeadline is the last day to pay tax withheld on day (a date in
// the agent's calendar), by ст. 226 п. 6 in the wording of 263-ФЗ of
// 14.07.2022: tax withheld from the 1st to the 22nd is paid by the 28th of
// the same month, from the 23rd to the month's end by the 28th of the
// next; tax withheld from 23 to 31 December by the last working day of the
// year. A deadline on a Saturday or Sunday moves to the next Monday
// (ст. 6.1 п. 7); public holidays are not known here and the accountant
// checks the production calendar (the export says so).
func PaymentDeadline(day time.Time) time.Time {
	y, m, d := day.Date()
	loc := day.Location()
	if m == time.December && d >= 23 {
		last := time.Date(y, time.December, 31, 0, 0, 0, 0, loc)
		for last.Weekday() == time.Saturday || last.Weekday() == time.Sunday {
			last = last.AddDate(0, 0, -1)
		}
		return last
	}
	due := time.Date(y, m, 28, 0, 0, 0, 0, loc)
	if d >= 23 {
		due = time.Date(y, m+1, 28, 0, 0, 0, 0, loc)
	}
	return nextWorkingDay(due)
}

// NoticeDeadline is the last day to send the notice of computed tax (the
// «уведомление об исчисленных суммах») for tax withheld on day: the 25th
// of the month the tax is paid in (ст. 58 п. 9), moved off a weekend.
// For tax withheld 23–31 December it is the same last working day as the
// payment (the notice for that period is filed with the payment).
func NoticeDeadline(day time.Time) time.Time {
	if day.Month() == time.December && day.Day() >= 23 {
		return PaymentDeadline(day)
	}
	// The month of the statutory payment day, before a weekend moves it:
	// tax of 1–22 February is due on 28 February even when that is a
	// Saturday and the payment may wait until Monday 2 March.
	y, m, d := day.Date()
	if d >= 23 {
		m++
	}
	return nextWorkingDay(time.Date(y, m, 25, 0, 0, 0, 0, day.Location()))
}

// NotWithheldDeadline is the last day to inform the participant and the
// tax office of tax that could not be withheld in year (ст. 226 п. 5):
// 25 February of the next year, moved off a weekend.
func NotWithheldDeadline(year int, loc *time.Location) time.Time {
	return nextWorkingDay(time.Date(year+1, time.February, 25, 0, 0, 0, 0, loc))
}

func nextWorkingDay(t time.Time) time.Time {
	for t.Weekday() == time.Saturday || t.Weekday() == time.Sunday {
		t = t.AddDate(0, 0, 1)
	}
	return t
}

// Half is a withholding period of the monthly run: the days the same
// payment deadline applies to.
type Half int

// The two withholding periods of a month.
const (
	FirstHalf  Half = 1 // days 1–22
	SecondHalf Half = 2 // days 23–end
)

// HalfOf returns the withholding period of day.
func HalfOf(day time.Time) Half {
	if day.Day() >= 23 {
		return SecondHalf
	}
	return FirstHalf
}
