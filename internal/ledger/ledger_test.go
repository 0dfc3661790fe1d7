package ledger

import (
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	const client, program, participant = 7, 3, 42
	budget := BudgetAccount(client, program)
	avail := AvailableAccount(client, program, participant)
	valid := func() Transaction {
		return Transaction{IdempotencyKey: "receipt:r1:v1", Kind: KindReceiptCredit, ClientID: client,
			Postings: []Posting{{budget, -500}, {avail, 500}}}
	}
	with := func(f func(*Transaction)) Transaction { tx := valid(); f(&tx); return tx }
	tests := []struct {
		name       string
		tx         Transaction
		wantErr    string // substring of the error; "" for none
		unbalanced bool   // errors.Is(err, ErrUnbalanced)
	}{
		{name: "valid credit", tx: valid()},
		{name: "valid funding", tx: Fund(client, program, 100_00, "fund:1")},
		{name: "valid pending credit", tx: with(func(tx *Transaction) {
			tx.Postings = Credit(client, program, participant, 500, true)
		})},
		{name: "no key", tx: with(func(tx *Transaction) { tx.IdempotencyKey = "" }), wantErr: "needs an idempotency key"},
		{name: "no kind", tx: with(func(tx *Transaction) { tx.Kind = "" }), wantErr: "needs an idempotency key"},
		{name: "no client", tx: with(func(tx *Transaction) { tx.ClientID = 0 }), wantErr: "needs an idempotency key"},
		{name: "negative client", tx: with(func(tx *Transaction) { tx.ClientID = -1 }), wantErr: "needs an idempotency key"},
		{name: "no postings", tx: with(func(tx *Transaction) { tx.Postings = nil }), wantErr: "has 0 postings"},
		{name: "one posting", tx: with(func(tx *Transaction) { tx.Postings = tx.Postings[:1] }), wantErr: "has 1 postings"},
		{name: "zero posting", tx: with(func(tx *Transaction) {
			tx.Postings = append(tx.Postings, Posting{avail, 0})
		}), wantErr: "has a zero posting"},
		{name: "another client's account", tx: with(func(tx *Transaction) {
			tx.Postings[1].Account = AvailableAccount(client+1, program, participant)
		}), wantErr: "another client's account"},
		{name: "available without participant", tx: with(func(tx *Transaction) {
			tx.Postings[1].Account = AvailableAccount(client, program, 0)
		}), wantErr: "participant_available needs a participant"},
		{name: "pending without participant", tx: with(func(tx *Transaction) {
			tx.Postings[1].Account = PendingAccount(client, program, 0)
		}), wantErr: "participant_pending needs a participant"},
		{name: "budget without program", tx: with(func(tx *Transaction) {
			tx.Postings[0].Account = BudgetAccount(client, 0)
		}), wantErr: "program budget needs a program"},
		{name: "unbalanced", tx: with(func(tx *Transaction) { tx.Postings[1].AmountKopecks = 499 }),
			wantErr: "sums to -1", unbalanced: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.tx.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Validate: %v, want an error containing %q", err, tc.wantErr)
			}
			if got := errors.Is(err, ErrUnbalanced); got != tc.unbalanced {
				t.Errorf("errors.Is(err, ErrUnbalanced) = %v, want %v", got, tc.unbalanced)
			}
		})
	}
}
