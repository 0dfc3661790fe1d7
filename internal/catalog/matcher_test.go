package catalog

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// smallMatcher builds a matcher from testdata/catalog_small.csv, 38 rows
// copied from shared/testdata/sku/catalog.csv (see testdata/README.md).
func smallMatcher(t testing.TB) *Matcher {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "catalog_small.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	skus, rowErrs, err := ParseCSV(f)
	if err != nil {
		t.Fatalf("parse fixture: %v %v", err, rowErrs)
	}
	return NewMatcher(skus)
}

type matchCase struct {
	line, gtin string
	want       string // SKU id, or "none:<reason>" / "none" for any reason
}

func checkMatch(t *testing.T, m *Matcher, cases []matchCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.line, func(t *testing.T) {
			got := m.Match(tc.line, tc.gtin)
			switch {
			case tc.want == "none":
				if got.SKUID != "" {
					t.Errorf("Match(%q) = %s (%s), want no match", tc.line, got.SKUID, got)
				}
			case len(tc.want) > 5 && tc.want[:5] == "none:":
				if got.SKUID != "" || got.String() != tc.want {
					t.Errorf("Match(%q) = %q %s, want %s", tc.line, got.SKUID, got, tc.want)
				}
			default:
				if got.SKUID != tc.want {
					t.Errorf("Match(%q) = %q (%s), want %s", tc.line, got.SKUID, got, tc.want)
				}
			}
		})
	}
}

// TestMatchTraps covers every size and variant trap of the data set's README
// with lines written for this test in several till styles.
func TestMatchTraps(t *testing.T) {
	t.Parallel()
	m := smallMatcher(t)
	checkMatch(t, m, []matchCase{
		// ketchup sizes: 300 / 500 д/п vs 320 glass; 0,3кг = 300 г
		{"Кетчуп Тётушка Марфа Томатный 300 г", "", "KD-1001"},
		{"КЕТЧУП Т.МАРФА ТОМАТН. 0,3КГ", "", "KD-1001"},
		{"Кетчуп Тет.Марфа томатный 500гр д/п", "", "KD-1002"},
		{"Кетчуп Тетушка Марфа Томатный 320г ст/б", "", "KD-1004"},
		{"Кетчуп Тётушка Марфа Томатный 800г", "", "none:size_mismatch"},
		{"Кетчуп Тётушка Марфа Томатный 350г", "", "none:size_mismatch"},
		// flavours and ketchup vs sauce
		{"Кетчуп Т.Марфа шашлычный 300г", "", "KD-1005"},
		{"Кетчуп Тетушка Марфа чесночн. 300г", "", "KD-1008"},
		{"Соус Тетушка Марфа чесночный 200г", "", "KD-1301"},
		{"Соус Тетушка Марфа чесночный 300г", "", "none:size_mismatch"},
		{"Кетчуп Тётушка Марфа Барбекю 300г", "", "KD-1009"},
		{"Соус Тётушка Марфа Барбекю 300г", "", "KD-1304"},
		{"Барбекю Тётушка Марфа 300г", "", "none:ambiguous"},
		{"Соус томатный Тетушка Марфа Краснодарский 300г", "", "KD-1305"},
		{"Кетчуп Тётушка Марфа 300г", "", "none:ambiguous"},
		// mayonnaise fat %
		{"Майонез Т.Марфа Провансаль 67% 380г", "", "KD-1101"},
		{"Майонез Т.Марфа Провансаль 50,5% 380г", "", "KD-1103"},
		{"Майонез Т.Марфа Провансаль 50.5 % 380 г", "", "KD-1103"},
		{"Майонез Т.Марфа Провансаль 380г", "", "none:ambiguous"},
		{"Майонез Т.Марфа Провансаль 30% 380г", "", "none:variant_mismatch"},
		// beans colour × filling; tins by capacity
		{"Фасоль красная Краснодолье с/с 400г", "", "KD-2105"},
		{"Фасоль красн. Краснодолье в томатном соусе 425мл", "", "KD-2106"},
		{"Фасоль белая Краснодолье в собств. соку 400 г", "", "KD-2107"},
		{"ФАСОЛЬ БЕЛ. КРАСНОДОЛЬЕ Т/С 425МЛ Ж/Б", "", "KD-2108"},
		{"Фасоль Краснодолье красная 400г", "", "none:ambiguous"},
		// peas sizes
		{"Горошек зел. Краснодолье 425 мл", "", "KD-2101"},
		{"Горошек зеленый Краснодолье 0,68кг", "", "KD-2102"},
		{"Горошек зеленый Краснодолье 200г", "", "none:size_mismatch"},
		{"Икра баклажанная Краснодолье 480г", "", "none"},
		{"Икра из кабачков Краснодолье 480 г", "", "KD-2301"},
		// antifreeze G-class, colour, kg printed as л
		{"Антифриз ТЕРМОКС G11 зел. 5кг", "", "VT-1002"},
		{"Антифриз TEPMOKC G11 зеленый 5 л", "", "VT-1002"},
		{"Антифриз ТЕРМОКС G11 синий 5кг", "", "VT-1004"},
		{"Антифриз ТЕРМОКС G11 5кг", "", "none:ambiguous"},
		{"Антифриз ТЕРМОКС G11 красный 5кг", "", "none:variant_mismatch"},
		{"Антифриз ТЕРМОКС G-12 красный -40С 5 кг", "", "VT-1006"},
		{"Антифриз ТЕРМОКС G12 PLUS 5кг", "", "VT-1008"},
		{"Антифриз ТЕРМОКС G12++ 5кг", "", "none:variant_mismatch"},
		{"Антифриз ТЕРМОКС красный 5кг", "", "none:ambiguous"},
		{"Антифриз ТЕРМОКС G11 зеленый -30 5кг", "", "none:variant_mismatch"},
		{"Тосол ТЕРМОКС А-40М 5кг", "", "VT-1011"},
		{"Тосол ТЕРМОКС А-65 5кг", "", "none:variant_mismatch"},
		{"Тосол ТЕРМОКС 5л", "", "VT-1011"},
		// oil viscosity and size
		{"Масло мот. ВЕТЛУГА 5W40 синт 1л", "", "VT-2006"},
		{"Масло Ветлуга Мотор 5W-40 4 L", "", "VT-2007"},
		{"Масло Ветлуга 10W-40 п/синт 4л", "", "VT-2002"},
		{"Масло Ветлуга 10W-40 п/синт 5л", "", "none:size_mismatch"},
		{"Масло Ветлуга 5W-30 4л", "", "none"},
		{"Масло ВЕТЛУГА 10W-40 розлив 1л", "", "none:excluded_offer"},
		// DOT class
		{"Тормозная жидкость ВЕТЛ. ДОТ-4 455г", "", "VT-3001"},
		{"Торм.жидк. Ветлуга DOT 3 0,455кг", "", "VT-3003"},
		{"Тормозная жидкость Ветлуга 455г", "", "none:ambiguous"},
		// washer fluid temperature / summer
		{"Омывайка Ясновид -20 4л", "", "VT-4001"},
		{"Незамерзайка ЯСНОВИД -30С 4 л", "", "VT-4002"},
		{"Жидкость стеклоомыв. Ясновид летняя 4л", "", "VT-4004"},
		{"Жидкость стеклоомыв. Ясновид 4л", "", "none:ambiguous"},
		// framed vs frameless wipers; 50 см = 500 мм
		{"Щетка с/о Ясновид бескаркасная 50см", "", "VT-5003"},
		{"Щетка с/о Ясновид каркасная 500мм", "", "VT-5005"},
		{"Щетка с/о Ясновид каркасная 400мм", "", "none:size_mismatch"},
		{"ЯС-500К щетка 500 мм", "", "VT-5005"},
		// shampoo kind
		{"Автошампунь Ветлуга для ручной мойки 1л", "", "VT-6001"},
		{"Автошамп. ВЕТЛУГА активн. пена б/к 1 л", "", "VT-6002"},
		// filters by article, brandless only with our code
		{"Фильтр масл. ВФМ-205", "", "VT-7002"},
		{"Фильтр масляный Ветлуга ВФМ-101 ВАЗ", "", "VT-7001"},
		{"Фильтр масляный Ветлуга ВФМ-312", "", "none:code_not_ours"},
		{"Фильтр масляный ВАЗ 2107", "", "none:no_brand"},
		// markers do not change the product
		{"*2 1004512 [М] Кетчуп Тетушка Марфа Томатный 300г д/п АКЦИЯ x24", "", "KD-1001"},
		{"% ВЫГОДНО Горошек зеленый \"Краснодолье\" 400г ж/б", "", "KD-2101"},
		// competitors and look-alike brands never match
		{"Кетчуп Бабушка Марфа томатный 300г", "", "none:no_brand"},
		{"Кетчуп Тётушкин Рецепт томатный 300г", "", "none:no_brand"},
		{"Антифриз ТЕРМОКАР G11 зеленый 5кг", "", "none:no_brand"},
		{"Кетчуп Heinz томатный 300г", "", "none:no_brand"},
		{"Антифриз G12 красный 5кг", "", "none:no_brand"},
		// GTIN decides: catalog GTIN, foreign valid GTIN, damaged GTIN, GTIN-14
		{"[М] Консервы овощные", "4609534212260", "KD-2106"},
		{"[М] Кетчуп Тётушка Марфа Томатный 300г", "4601234567893", "none:gtin_not_ours"},
		{"[М] Кетчуп Тётушка Марфа Томатный 300г", "4609534100131", "KD-1001"},
		{"[М] Антифриз", "04609871001121", "VT-1001"},
		// our brand, not our product
		{"Герметик радиатора ТЕРМОКС 300мл", "", "none"},
		{"Герметик радиатора ТЕРМОКС", "", "none:no_candidate"},
		{"Набор Тётушка Марфа кетчуп томатный 300г", "", "none:excluded_offer"},
		{"", "", "none:empty"},
	})
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"Кетчуп \"Тётушка Марфа\" Томатный 0,3кг", "кетчуп тетушка марфа томатный 300г"},
		{"КЕТЧУП ТЕТУШКА МАРФА ТОМАТНЫЙ 300 ГР", "кетчуп тетушка марфа томатный 300г"},
		{"*2 1004512 Антифриз TEPMOKC G-12 PLUS 5000мл АКЦИЯ", "антифриз термокс g12+ 5л"},
		{"[М] Щётка 50см", "щетка 500мм"},
		{"ТОРМ.ЖИДК. ДОТ-4 455Г x24", "торм жидк dot4 455г"},
		{"Антифриз -40°C 1 kg", "антифриз t40 1кг"},
		{"Майонез 50.5 % 0,38 кг", "майонез 50.5% 380г"},
		{"ТЕРМ0КС", "термокс"},
		{"Масло п/синт 4 L", "масло п/синт 4л"},
		{"", ""},
	} {
		if got := Normalize(tc.in); got != tc.want {
			t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestWithAlias(t *testing.T) {
	t.Parallel()
	m := smallMatcher(t)
	const line = "КЕТЧ ТМ ТОМ 300"
	if got := m.Match(line, ""); got.SKUID != "" {
		t.Fatalf("before the alias: %v", got)
	}
	m2, err := m.WithAlias("KD-1001", line)
	if err != nil {
		t.Fatal(err)
	}
	// the alias applies to the normalised line, markers and case aside
	if got := m2.Match("*3 кетч тм том 300 АКЦИЯ", ""); got.SKUID != "KD-1001" || got.How != HowAlias {
		t.Errorf("after the alias: %+v", got)
	}
	if got := m.Match(line, ""); got.SKUID != "" {
		t.Errorf("the original matcher changed: %v", got)
	}
	if _, err := m2.WithAlias("KD-1002", line); err == nil {
		t.Error("an alias held by another SKU was accepted")
	}
	if _, err := m.WithAlias("XX-1", line); err == nil {
		t.Error("an unknown SKU was accepted")
	}
	if _, err := m.WithAlias("KD-1001", "*2 АКЦИЯ"); err == nil {
		t.Error("an empty alias was accepted")
	}
}

func TestMatcherConcurrent(t *testing.T) {
	t.Parallel()
	m := smallMatcher(t)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				line := fmt.Sprintf("Кетчуп Т.Марфа томатный %dг", []int{300, 500, 800}[(g+i)%3])
				got := m.Match(line, "")
				want := map[int]string{300: "KD-1001", 500: "KD-1002", 800: ""}[[]int{300, 500, 800}[(g+i)%3]]
				if got.SKUID != want {
					t.Errorf("%s: got %q want %q", line, got.SKUID, want)
					return
				}
			}
		}(g)
	}
	wg.Wait()
}

// FuzzMatch: receipt lines come from outside; no line or GTIN may panic the
// matcher, and Normalize is idempotent.
func FuzzMatch(f *testing.F) {
	m := smallMatcher(f)
	for _, s := range []string{"*2 1004512 Антифриз TEPMOKC G-12 PLUS 5000мл", "Т.МАРФА 0,3кг -20%", "x24 -40°C ст/б п/синт", "G 12+", "ВФМ101"} {
		f.Add(s, "")
	}
	f.Add("[М] Консервы", "04609534212260")
	f.Add("A.0", "") // a dotted letter before a number: was "а 0", then "a0"
	f.Fuzz(func(t *testing.T, line, gtin string) {
		res := m.Match(line, gtin)
		if (res.SKUID == "") != (res.How == HowNone) {
			t.Fatalf("inconsistent result %+v", res)
		}
		n := Normalize(line)
		if n2 := Normalize(n); n2 != n {
			t.Fatalf("Normalize not idempotent: %q → %q → %q", line, n, n2)
		}
	})
}
