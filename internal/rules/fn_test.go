package rules

import "testing"

// A receipt printed by one of the shop's fiscal drives is the shop's,
// under either seller check, whatever INN and KKT number it carries; a
// drive of no register of the shop proves nothing.
func TestSellerCheckFiscalDrive(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		check    string
		fn       string
		eligible bool
	}{
		{"auto: own drive, other INN and KKT", "", "7281440500000101", true},
		{"kkt: own drive, other KKT", "kkt", "7281440500000101", true},
		{"auto: other drive", "", "7281440500000999", false},
		{"kkt: no drive on the receipt", "kkt", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := baseInput()
			if tc.check != "" {
				in.Rules.SellerCheck = tc.check
			}
			in.Shop.FNNumbers = []string{"7281440500000101", "7281440500000102"}
			in.Receipt.SellerINN, in.Receipt.KKTRegNumber, in.Receipt.FN = "7799999999", "1", tc.fn
			res := Evaluate(in)
			if res.Eligible != tc.eligible || (!tc.eligible && res.Reason != ReasonShopMismatch) {
				t.Errorf("eligible %v (%s), want %v", res.Eligible, res.Reason, tc.eligible)
			}
		})
	}
	// A shop known only by its drives is not matched by address alone.
	in := baseInput()
	in.Shop.INN, in.Shop.KKTRegNumbers, in.Shop.FNNumbers = "", nil, []string{"7281440500000101"}
	in.Receipt.SellerINN, in.Receipt.KKTRegNumber, in.Receipt.FN = "7799999999", "1", "7281440500000555"
	if res := Evaluate(in); res.Eligible {
		t.Error("address alone attributed a receipt to a shop with known drives")
	}
}
