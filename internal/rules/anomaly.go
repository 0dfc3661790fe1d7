package rules

// Thresholds configure CheckAnomaly. The zero value of a field means its
// default (DefaultThresholds).
type Thresholds struct {
	// HourMax is the most receipts a participant may upload in an hour.
	HourMax int
	// DayFloor is the most receipts a participant may upload in a day
	// whatever the shop's norm.
	DayFloor int
	// DayFactorBP: a day above this multiple of the shop's median daily
	// receipts per participant is anomalous (5× = 50000), if also above
	// DayFloor.
	DayFactorBP int64
	// KKTDayMax is the most receipts one participant may claim from one
	// KKT with purchases on one day.
	KKTDayMax int
}

// DefaultThresholds are sensible for shop sellers: a busy seller scans a
// few receipts an hour, not dozens.
func DefaultThresholds() Thresholds {
	return Thresholds{HourMax: 12, DayFloor: 30, DayFactorBP: 50_000, KKTDayMax: 20}
}

func (t Thresholds) withDefaults() Thresholds {
	d := DefaultThresholds()
	if t.HourMax <= 0 {
		t.HourMax = d.HourMax
	}
	if t.DayFloor <= 0 {
		t.DayFloor = d.DayFloor
	}
	if t.DayFactorBP <= 0 {
		t.DayFactorBP = d.DayFactorBP
	}
	if t.KKTDayMax <= 0 {
		t.KKTDayMax = d.KKTDayMax
	}
	return t
}

// Activity counts a participant's recent receipts, this one included.
type Activity struct {
	// UploadsLastHour and UploadsLastDay count the participant's receipts
	// uploaded in the hour and the day up to this one's upload.
	UploadsLastHour int
	UploadsLastDay  int
	// ShopMedianDailyMilli is the median over the shop's participants of
	// their receipts per day over recent weeks, in thousandths.
	ShopMedianDailyMilli int64
	// SameKKTSameDay counts the participant's receipts from this receipt's
	// KKT purchased on its day.
	SameKKTSameDay int
}

// Anomaly reasons.
const (
	AnomalyVelocity = "anomaly_velocity"
	AnomalyKKT      = "anomaly_kkt"
)

// CheckAnomaly returns the reason a receipt should go to a moderator
// instead of paying, or "".
func CheckAnomaly(a Activity, t Thresholds) string {
	t = t.withDefaults()
	if a.UploadsLastHour > t.HourMax {
		return AnomalyVelocity
	}
	// limit = max(DayFloor, ceil(factor × median)).
	limitMilli := max(int64(t.DayFloor)*1000, (a.ShopMedianDailyMilli*t.DayFactorBP+basisPoints-1)/basisPoints)
	if int64(a.UploadsLastDay)*1000 > limitMilli {
		return AnomalyVelocity
	}
	if a.SameKKTSameDay > t.KKTDayMax {
		return AnomalyKKT
	}
	return ""
}
