package provider_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/loyaltyjam/loyaltyjam/internal/reward/giftery"
	"github.com/loyaltyjam/loyaltyjam/internal/reward/provider"
	"github.com/loyaltyjam/loyaltyjam/internal/reward/qiwi"
)

func TestRegistry(t *testing.T) {
	t.Parallel()
	g, err := giftery.New(giftery.Options{ClientID: "1", Secret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	q, err := qiwi.New(qiwi.Options{TerminalID: "1", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := provider.NewRegistry(q, g)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Names(); !slices.Equal(got, []string{"giftery", "qiwi"}) {
		t.Fatalf("Names = %v", got)
	}
	if p, err := r.Get("qiwi"); err != nil || p != provider.Provider(q) {
		t.Fatalf("Get(qiwi) = %v, %v", p, err)
	}
	if _, err := r.Get("ozon"); !errors.Is(err, provider.ErrUnknownProvider) {
		t.Fatalf("Get(ozon) = %v", err)
	}
	if _, err := provider.NewRegistry(g, g); err == nil {
		t.Fatal("two providers of one name accepted")
	}
	if _, err := provider.NewRegistry(nil); err == nil {
		t.Fatal("a nil provider accepted")
	}
	var none *provider.Registry
	if _, err := none.Get("giftery"); !errors.Is(err, provider.ErrUnknownProvider) {
		t.Fatal("nil registry")
	}
}
