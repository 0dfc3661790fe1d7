package points

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/catalog"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/rules"
)

// benchCatalog is the full shared catalog when present, else the small
// fixture of internal/catalog.
func benchCatalog(b *testing.B) catalog.Active {
	b.Helper()
	path := "../../../shared/testdata/sku/catalog.csv"
	if _, err := os.Stat(path); err != nil {
		path = "../catalog/testdata/catalog_small.csv"
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	skus, _, err := catalog.ParseCSV(f)
	if err != nil {
		b.Fatal(err)
	}
	c := catalog.Active{Version: 1, SKUs: skus, IDs: map[string]int64{}}
	for i, k := range skus {
		c.IDs[k.ID] = int64(i + 1)
	}
	b.Logf("catalog %s: %d SKUs", path, len(skus))
	return c
}

func benchItems() []receipt.Item {
	names := []struct{ name, gtin string }{
		{"ОМЫВАЙКА ЯСНОВИД -20 4Л", ""},
		{"Щётка стеклоочист. Ясновид бескаркасная 50см", ""},
		{"Масло Лукойл Авангард 15W-40 дизель 5л", ""},
		{"Антифриз ТЕРМОКС G11 зелёный -40 1 кг", ""},
		{"ТОВАР", "4609871012196"},
		{"Кетчуп Тётушка Марфа Томатный 300г д/п", ""},
		{"Хлеб белый нарезной 400г", ""},
		{"Пакет-майка", ""},
		{"Тормозная жидк. Ветлуга DOT-4 455г", ""},
		{"Фасоль красная Краснодолье в с/с 400г", ""},
	}
	items := make([]receipt.Item, len(names))
	for i, n := range names {
		items[i] = receipt.Item{LineNo: i + 1, Name: n.name, GTIN: n.gtin, PriceKopecks: 35000, QuantityMilli: 1000, SumKopecks: 35000}
	}
	return items
}

func benchInput(r rules.Rules, lines []rules.Line) rules.Input {
	now := time.Date(2025, 3, 20, 12, 0, 0, 0, time.UTC)
	return rules.Input{
		Now: now, Rules: r,
		Program:     rules.Program{Status: "live", StartsOn: now.AddDate(-1, 0, 0), EndsOn: now.AddDate(1, 0, 0), MaxReceiptAgeDays: 30},
		Participant: rules.Participant{Role: "seller", Status: "active"},
		Shop:        &rules.Shop{INN: "7701234567", KKTRegNumbers: []string{"1"}},
		Receipt:     rules.Receipt{Operation: 1, PurchasedAt: now.Add(-time.Hour), UploadedAt: now, KKTRegNumber: "1"},
		Lines:       lines, BudgetKopecks: 1 << 40,
	}
}

func benchRules() rules.Rules {
	return rules.Rules{
		Earn: []rules.Earn{
			{Selector: rules.Selector{Categories: []string{"Антифриз", "Моторное масло"}}, FixedPerUnitKopecks: 5000},
			{Selector: rules.Selector{Brands: []string{"Тётушка Марфа", "Краснодолье"}}, PercentBP: 300},
			{PercentBP: 100},
		},
		Bonuses: []rules.Bonus{{Name: "3", MinDistinctSKUs: 3, Kopecks: 1000}, {Name: "5", MinDistinctSKUs: 5, Kopecks: 3000}},
		Promos: []rules.Promo{{Name: "март", From: rules.MustDate("2025-03-01"), To: rules.MustDate("2025-03-31"),
			MultiplierBP: 15000, Selector: rules.Selector{Brands: []string{"Ясновид"}}}},
		Caps: rules.Caps{PerReceipt: 100000, ParticipantDay: 300000, ShopDay: 1000000},
	}
}

// BenchmarkEvaluate: rules only, 10 matched lines.
func BenchmarkEvaluate(b *testing.B) {
	c := newClientCatalog(benchCatalog(b))
	items := benchItems()
	in := benchInput(benchRules(), c.match(items))
	b.ReportAllocs()
	for b.Loop() {
		rules.Evaluate(in)
	}
}

// BenchmarkMatchAndEvaluate is what Process spends in Go per 10-line
// receipt: matching every line with the cached matcher, then the rules.
func BenchmarkMatchAndEvaluate(b *testing.B) {
	c := newClientCatalog(benchCatalog(b))
	r := benchRules()
	items := benchItems()
	b.ReportAllocs()
	for b.Loop() {
		rules.Evaluate(benchInput(r, c.match(items)))
	}
}

// BenchmarkBaselineNoCache is the same receipt without the caches: the
// matcher built and the stored rules JSON parsed for every receipt.
func BenchmarkBaselineNoCache(b *testing.B) {
	cat := benchCatalog(b)
	body, err := json.Marshal(benchRules())
	if err != nil {
		b.Fatal(err)
	}
	items := benchItems()
	b.ReportAllocs()
	for b.Loop() {
		c := newClientCatalog(cat)
		r, err := rules.Parse(body)
		if err != nil {
			b.Fatal(err)
		}
		rules.Evaluate(benchInput(r, c.match(items)))
	}
}
