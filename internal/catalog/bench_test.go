package catalog

import (
	"strings"
	"testing"
)

// benchReceipt is a ten-line receipt of the usual mix: a few of ours, a
// competitor's look-alike, groceries, a bag and a discount. The lines are
// written for the benchmark, not taken from the labelled sets.
var benchReceipt = []string{
	"*2 Кетчуп Т.Марфа томатный 500г д/п",
	"Горошек зеленый Краснодолье 400г ж/б",
	"Майонез Махеевъ Провансаль 67% 380г",
	"Хлеб Дарницкий 700г",
	"Антифриз ТЕРМОКС G12+ красный 5кг АКЦИЯ",
	"Масло моторное Лукойл Люкс 5W-40 4л",
	"Фасоль белая Краснодолье т/с 400г",
	"Молоко 3,2% 1л",
	"Пакет майка",
	"Скидка по карте",
}

func BenchmarkMatchReceipt(b *testing.B) {
	m := smallMatcher(b)
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range benchReceipt {
			m.Match(l, "")
		}
	}
}

// naiveMatcher is the baseline the benchmark compares with: for every SKU, a
// linear scan asking whether the lower-cased line contains the brand and the
// product's first word. It is neither safe nor right (sizes and variants are
// ignored); it only shows what the simplest scan costs.
type naiveMatcher struct {
	brand, head, id []string
}

func newNaive(skus []SKU) *naiveMatcher {
	n := &naiveMatcher{}
	for _, s := range skus {
		n.brand = append(n.brand, strings.ToLower(s.Brand))
		n.head = append(n.head, strings.ToLower(strings.Fields(s.Name)[0]))
		n.id = append(n.id, s.ID)
	}
	return n
}

func (n *naiveMatcher) match(line string) string {
	l := strings.ToLower(line)
	for i := range n.id {
		if strings.Contains(l, n.brand[i]) && strings.Contains(l, n.head[i]) {
			return n.id[i]
		}
	}
	return ""
}

func BenchmarkNaiveReceipt(b *testing.B) {
	m := smallMatcher(b)
	n := newNaive(m.src)
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range benchReceipt {
			n.match(l)
		}
	}
}
