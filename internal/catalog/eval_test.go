package catalog

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"testing"
)

// sharedSKU is the labelled data set kept next to the repository
// (../shared/testdata/sku relative to the repo root).
var sharedSKU = filepath.Join("..", "..", "..", "shared", "testdata", "sku")

func loadShared(t *testing.T) *Matcher {
	t.Helper()
	f, err := os.Open(filepath.Join(sharedSKU, "catalog.csv"))
	if os.IsNotExist(err) {
		t.Skipf("labelled SKU data not found at %s (it lives outside the repository, in ../shared); skipping the scored evaluation", sharedSKU)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	skus, rowErrs, err := ParseCSV(f)
	if err != nil {
		t.Fatalf("parse shared catalog: %v %v", err, rowErrs)
	}
	return NewMatcher(skus)
}

// score is the README's scoring: a wrong SKU counts as FP and FN.
type score struct{ TP, FP, FN int }

func (s *score) add(got, want string) {
	switch {
	case got != "" && got == want:
		s.TP++
	case got != "":
		s.FP++
		if want != "" {
			s.FN++
		}
	case want != "":
		s.FN++
	}
}

func (s score) precision() float64 {
	if s.TP+s.FP == 0 {
		return 1
	}
	return float64(s.TP) / float64(s.TP+s.FP)
}

func (s score) recall() float64 {
	if s.TP+s.FN == 0 {
		return 1
	}
	return float64(s.TP) / float64(s.TP+s.FN)
}

func readLabelled(t *testing.T, name string) []map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(sharedSKU, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		row := map[string]string{}
		for i, h := range recs[0] {
			row[h] = r[i]
		}
		out = append(out, row)
	}
	return out
}

func TestScoreLabelledSets(t *testing.T) {
	m := loadShared(t)
	for _, file := range []string{"lines.csv", "gtin_lines.csv"} {
		t.Run(file, func(t *testing.T) {
			var sc score
			how := map[string]int{}
			for _, row := range readLabelled(t, file) {
				res := m.Match(row["line"], row["gtin"])
				sc.add(res.SKUID, row["expected_sku_id"])
				how[res.String()]++
				if res.SKUID != row["expected_sku_id"] {
					t.Logf("MISS %-60q want %-8s got %-8s %s", row["line"], row["expected_sku_id"], res.SKUID, res)
				}
			}
			t.Logf("%s: TP=%d FP=%d FN=%d precision=%.4f recall=%.4f by method %v",
				file, sc.TP, sc.FP, sc.FN, sc.precision(), sc.recall(), how)
			if sc.precision() < 0.995 {
				t.Errorf("precision %.4f < 0.995", sc.precision())
			}
			if sc.recall() < 0.97 {
				t.Errorf("recall %.4f < 0.97", sc.recall())
			}
		})
	}
}

// TestMatchStyles runs lines written for this test in till styles that
// lines.csv does not use, against the full shared catalog.
func TestMatchStyles(t *testing.T) {
	m := loadShared(t)
	checkMatch(t, m, []matchCase{
		{"ТЕРМОКС АНТИФРИЗ G11 ЗЕЛ 5КГ", "", "VT-1002"},
		{"Антифриз Термокс G 12+ 1 кг", "", "VT-1007"},
		{"Антифриз ТЕРМОКС Г12 красный 1кг", "", "VT-1005"},
		{"ОЖ ТЕРМОКС G12+ 10КГ", "", "VT-1009"},
		{"Антифриз Termoks G11 зеленый 1кг", "", "VT-1001"},
		{"TEPMOKC G11 зеленый 10 кг антифриз", "", "VT-1003"},
		{"Антифриз ТЕРМОКС зеленый G11 -40°C 1кг", "", "VT-1001"},
		{"Антифриз ТЕРМОКС G13 5 л", "", "VT-1010"},
		{"Антифриз ТЕРМОКС G12 5кг", "", "VT-1006"},
		{"Антифриз ТЕРМОКС G12 красный 5кг концентрат", "", "none"},
		{"Т/Ж ВЕТЛУГА DOT4 0,455КГ", "", "VT-3001"},
		{"Тормозная ж-ть Ветлуга ДОТ 4 910гр", "", "VT-3002"},
		{"Жидк. тормозная Ветлуга Dot-3 0.455 кг", "", "VT-3003"},
		{"Масло ВЕТЛУГА Мотор 5W40 4L", "", "VT-2007"},
		{"Масло моторн. Ветлуга 5w-40 синт. 1 л.", "", "VT-2006"},
		{"ВЕТЛ. Масло мотор. 10W40 п/синт 5 л", "", "VT-2003"},
		{"Масло Ветлуга Дизель 15W-40 мин 5л", "", "VT-2009"},
		{"Масло трансмис. ВЕТЛУГА ТМ5 75W90 1Л", "", "VT-2010"},
		{"Масло Ветлуга 5W-40 20л", "", "none"},
		{"Стеклоомыватель Ясновид -30 4л", "", "VT-4002"},
		{"Жидкость омывателя Ясновид зимняя -20С 4л", "", "VT-4001"},
		{"Омывайка Ясновид летняя 4 л", "", "VT-4004"},
		{"Омыв. жидкость Ясновид -30 5 л", "", "VT-4003"},
		{"Стекл.жидк. Ясновид зим. -20 4л", "", "VT-4001"},
		{"Щетка стеклоочист. Ясновид 45см бескарк.", "", "VT-5002"},
		{"Щётка с/о Ясновид каркас. 500 мм", "", "VT-5005"},
		{"Дворник Ясновид ЯС-600Б", "", "VT-5004"},
		{"ЯС-400Б щетка бескаркасная 400мм", "", "VT-5001"},
		{"Щетка Ясновид 60 см бескаркасная", "", "VT-5004"},
		{"Щетка стеклоочистителя ALCA 45см", "", "none"},
		{"Автошампунь Ветлуга ручная мойка 1л", "", "VT-6001"},
		{"Активная пена Ветлуга 5 л", "", "VT-6003"},
		{"Шампунь Ветлуга б/к мойки 1л", "", "VT-6002"},
		{"ФИЛЬТР ВФМ-205 ВЕТЛУГА", "", "VT-7002"},
		{"Фильтр салонный ВФС-190У уголь", "", "VT-7006"},
		{"Фильтр возд ВФВ190", "", "VT-7004"},
		{"Ветлуга фильтр маслян. ВФМ101", "", "VT-7001"},
		{"Фильтр масляный ВФМ-999", "", "none"},
		{"Кетчуп Т. Марфа Томатный 300 г", "", "KD-1001"},
		{"КЕТЧУП ТЁТ МАРФА ШАШЛЫЧНЫЙ 500Г Д/П", "", "KD-1006"},
		{"Кетчуп Тетушка Марфа Томат 800г", "", "KD-1003"},
		{"Кетчуп Тётушка Марфа томатный ст.б 320г", "", "KD-1004"},
		{"КЕТЧУП ТЕТУШКА МАРФА 300Г ТОМАТ.", "", "KD-1001"},
		{"Кетчуп Тётушка Марфа ТОМАТНЫЙ 300 Г ДОЙ-ПАК", "", "KD-1001"},
		{"Майонез Т.Марфа Провансаль 67% 0,77кг", "", "KD-1102"},
		{"Майонез Тетушка Марфа Оливк. 67% 380г", "", "KD-1105"},
		{"Тетушка Марфа майонез 67% 380", "", "none"},
		{"Горчица Т.Марфа Русская 140г дой-пак", "", "KD-1201"},
		{"Горчица Тетушка Марфа Дижонская 170г", "", "KD-1203"},
		{"Соус Т.Марфа сырный 200г", "", "KD-1302"},
		{"Соус Т.Марфа чесночный 200г", "", "KD-1301"},
		{"Паста томат. Краснодолье 25% 0,5кг ст/б", "", "KD-2004"},
		{"Горошек зел. Краснодолье 425мл", "", "KD-2101"},
		{"Кукуруза Краснодолье 212мл", "", "KD-2104"},
		{"Кукуруза сах. Краснодолье 340 гр ж/б", "", "KD-2103"},
		{"Фасоль бел. Краснодолье т/с 425 мл", "", "KD-2108"},
		{"Фасоль Краснодолье красная с/с 400 г", "", "KD-2105"},
		{"Фасоль белая в томате Краснодолье 400г", "", "KD-2108"},
		{"Икра из кабачков Краснодолье 480г", "", "KD-2301"},
		{"Лечо Краснодолье 0,68 кг", "", "KD-2302"},
		{"Аджика домашняя КРАСНОДОЛЬЕ 200 г", "", "KD-2202"},
		{"KRASNODOLYE Аджика Кавказская 200г", "", "KD-2201"},
		{"Горошек Краснодолье 680", "", "none"},
		{"Кетчуп Бабушка Марфа томатный 300г", "", "none"},
		{"Набор Тётушка Марфа кетчуп+майонез", "", "none"},
		{"Кетчуп Т.Марфа Томатный 300г x 24", "", "KD-1001"},
		{"Краснодольe горошек 400г", "", "KD-2101"},
		{"Кетчуп Тетушка Марфа Томатный 300г дой-пак 1/24", "", "KD-1001"},
	})
}
