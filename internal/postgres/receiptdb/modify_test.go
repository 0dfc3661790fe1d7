package receiptdb_test

import (
	"context"
	"errors"
	"testing"

	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/receiptdb"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
)

// TestDomainErrors: the store reports what the database refused as the
// receipt domain's errors, so its callers (verify, mobile-api) need no
// constraint names.
func TestDomainErrors(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.New(t)
	ctx := context.Background()
	var otherShop int64
	for _, q := range []string{
		`INSERT INTO clients (code, name) VALUES ('acme', 'Acme'), ('other', 'Other')`,
		`INSERT INTO participants (client_id, phone, role) VALUES (1, '+79990000001', 'seller'), (1, '+79990000002', 'seller')`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := pool.QueryRow(ctx, `INSERT INTO shops (client_id, code, name, address) VALUES (2, 's', 'S', 'a') RETURNING id`).Scan(&otherShop); err != nil {
		t.Fatal(err)
	}
	store := receiptdb.New(pool)

	holder := newReceipt(1, 501, "")
	if _, err := store.Create(ctx, holder); err != nil {
		t.Fatal(err)
	}
	r := newReceipt(2, 502, "")
	if _, err := store.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	// Claiming a fiscal identity another receipt holds.
	err := store.Modify(ctx, r.ID, func(ctx context.Context, x *receipt.Receipt) error {
		if _, ok := postgres.TxFromContext(ctx); !ok {
			t.Error("Modify's fn got no transaction in its context")
		}
		x.FD = holder.FD
		return nil
	})
	if !errors.Is(err, receipt.ErrDuplicate) {
		t.Fatalf("Modify to a held identity: %v, want receipt.ErrDuplicate", err)
	}
	// The holder, inside and outside a Modify.
	err = store.Modify(ctx, r.ID, func(ctx context.Context, _ *receipt.Receipt) error {
		id, err := store.Holder(ctx, holder.FN, holder.FD, holder.FP)
		if err != nil || id != holder.ID {
			t.Errorf("Holder in Modify = %q, %v; want %s", id, err, holder.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if id, err := store.Holder(ctx, holder.FN, 999, holder.FP); err != nil || id != "" {
		t.Fatalf("Holder of a free identity = %q, %v; want none", id, err)
	}
	if err := store.Modify(ctx, "00000000-0000-0000-0000-000000000000", func(context.Context, *receipt.Receipt) error {
		return nil
	}); !errors.Is(err, receipt.ErrNotFound) {
		t.Fatalf("Modify of an unknown receipt: %v, want receipt.ErrNotFound", err)
	}
	// A shop of another client.
	foreign := newReceipt(1, 503, "")
	foreign.ShopID = &otherShop
	if _, err := store.Create(ctx, foreign); !errors.Is(err, receipt.ErrUnknownShop) {
		t.Fatalf("Create with another client's shop: %v, want receipt.ErrUnknownShop", err)
	}
}
