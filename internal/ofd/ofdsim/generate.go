package ofdsim

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"time"
)

// Shop is the seller behind one fiscal drive.
type Shop struct {
	Name        string `json:"name"`
	INN         string `json:"inn"`
	RetailPlace string `json:"retail_place,omitempty"`
	Address     string `json:"address"`
	KKTRegID    string `json:"kkt_reg_id"`
	// Kind picks the assortment: "auto", "grocery" or "hyper" (both).
	Kind string `json:"kind,omitempty"`
	// UTCOffsetHours is the shop's zone, used to render epoch dateTime; default 3 (Moscow).
	UTCOffsetHours int `json:"utc_offset_hours,omitempty"`
}

// Item is one receipt line in the simulator's store.
type Item struct {
	Name          string `json:"name"`
	PriceKopecks  int64  `json:"price"`
	QuantityMilli int64  `json:"quantity_milli"`
	SumKopecks    int64  `json:"sum"`
	NDS           int    `json:"nds"`
	ProductType   int    `json:"product_type"`
	Measure       int    `json:"measure"`
	GTIN          string `json:"gtin,omitempty"`
	Serial        string `json:"serial,omitempty"`
}

// Receipt is a receipt in the simulator's store.
type Receipt struct {
	FN        string    `json:"fn"`
	FD        uint64    `json:"fd"`
	FP        uint64    `json:"fp"`
	Operation int       `json:"operation"`
	Time      time.Time `json:"time"` // local wall clock in time.UTC
	Total     int64     `json:"total"`
	Cash      int64     `json:"cash"`
	ECash     int64     `json:"ecash"`
	Shop      Shop      `json:"shop"`
	Items     []Item    `json:"items"`
	Shift     int       `json:"shift"`
	Request   int       `json:"request"`
	// MessageFiscalSign is rendered as a big JSON number.
	MessageFiscalSign uint64 `json:"message_fiscal_sign"`
}

func seed(parts ...string) *rand.Rand {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	s := h.Sum64()
	return rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15))
}

var (
	autoChains    = []string{`ООО "АВТОМИР-ЗАПЧАСТЬ"`, `ИП Гусейнов Р.А.`, `ООО "Колесо и Мотор"`, `ООО "АвтоДок-Регион"`, `ИП Ковалёва Н.С.`}
	autoPlaces    = []string{"Автомагазин", "Магазин автозапчастей", "АвтоМир", "Автокосметика", "Запчасти 24"}
	groceryChains = []string{`ООО "Продторг"`, `АО "ТД Перекрёсток"`, `ООО "Магнит-Юг"`, `ИП Сафронов А.В.`, `ООО "Пятёрочка Плюс"`}
	groceryPlaces = []string{"Продукты", "Магазин у дома", "Супермаркет", "Минимаркет", "Универсам"}
	hyperChains   = []string{`ООО "Лента"`, `ООО "Ашан"`, `ООО "Глобус"`}
	cities        = []struct {
		prefix string
		tz     int
	}{
		{"Россия, 109012, г. Москва, ул. Никольская", 3},
		{"Россия, 190000, г. Санкт-Петербург, Невский пр-кт", 3},
		{"Россия, 603000, Нижегородская обл., г. Нижний Новгород, ул. Большая Покровская", 3},
		{"Россия, 420000, Респ. Татарстан, г. Казань, ул. Баумана", 3},
		{"Россия, 350000, Краснодарский край, г. Краснодар, ул. Красная", 3},
		{"Россия, 620000, Свердловская обл., г. Екатеринбург, ул. Малышева", 5},
		{"Россия, 630000, Новосибирская обл., г. Новосибирск, Красный пр-кт", 7},
		{"Россия, 680000, Хабаровский край, г. Хабаровск, ул. Муравьёва-Амурского", 10},
		{"Россия, 443000, Самарская обл., г. Самара, ул. Куйбышева", 4},
	}
)

// innWithChecksum returns a valid 10-digit legal-entity ИНН.
func innWithChecksum(r *rand.Rand) string {
	d := make([]int, 10)
	d[0], d[1] = 7, 7
	for i := 2; i < 9; i++ {
		d[i] = r.IntN(10)
	}
	w := []int{2, 4, 10, 3, 5, 9, 4, 6, 8}
	s := 0
	for i := 0; i < 9; i++ {
		s += d[i] * w[i]
	}
	d[9] = s % 11 % 10
	var b strings.Builder
	for _, x := range d {
		b.WriteByte(byte('0' + x))
	}
	return b.String()
}

// generateShop derives the seller from fn, so every receipt of one fiscal
// drive comes from the same shop.
func generateShop(fn string) Shop {
	r := seed("shop", fn)
	var s Shop
	switch k := r.IntN(10); {
	case k < 4:
		s.Kind, s.Name, s.RetailPlace = "auto", autoChains[r.IntN(len(autoChains))], autoPlaces[r.IntN(len(autoPlaces))]
	case k < 8:
		s.Kind, s.Name, s.RetailPlace = "grocery", groceryChains[r.IntN(len(groceryChains))], groceryPlaces[r.IntN(len(groceryPlaces))]
	default:
		s.Kind, s.Name, s.RetailPlace = "hyper", hyperChains[r.IntN(len(hyperChains))], "Гипермаркет"
	}
	c := cities[r.IntN(len(cities))]
	s.Address = fmt.Sprintf("%s, д. %d", c.prefix, 1+r.IntN(120))
	s.UTCOffsetHours = c.tz
	s.INN = innWithChecksum(r)
	s.KKTRegID = fmt.Sprintf("%016d", r.Int64N(1e13))
	return s
}

func pool(all []Product, kind string) []Product {
	var out []Product
	for _, p := range all {
		if p.Kind == "general" || kind == "hyper" || p.Kind == kind {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return all
	}
	return out
}

func roundDiv(a, b int64) int64 { return (a + b/2) / b }

func serial(r *rand.Rand) string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789"
	b := make([]byte, 13)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

func makeItem(r *rand.Rand, p Product) Item {
	it := Item{Name: p.Name, PriceKopecks: p.PriceKopecks, NDS: p.NDS, ProductType: 1, Measure: 0, QuantityMilli: 1000}
	switch {
	case p.Weighed:
		it.QuantityMilli = int64(150 + r.IntN(2400))
		it.Measure = 11
	case r.IntN(5) == 0:
		it.QuantityMilli = int64(2+r.IntN(2)) * 1000
	}
	if p.Marked && p.GTIN != "" && r.IntN(3) > 0 {
		it.GTIN, it.Serial, it.ProductType = p.GTIN, serial(r), 33
	}
	it.SumKopecks = roundDiv(it.PriceKopecks*it.QuantityMilli, 1000)
	return it
}

// generateItems draws items for shop kind and makes them add up to total
// exactly (total < 0: any total). Surplus items are dropped; a small
// remainder becomes a bag or a price correction of the last piece item, a
// larger one one more item priced to fit.
func generateItems(r *rand.Rand, products []Product, kind string, total int64) []Item {
	pl := pool(products, kind)
	n := 1 + r.IntN(6)
	var items []Item
	var sum int64
	for i := 0; i < n; i++ {
		it := makeItem(r, pl[r.IntN(len(pl))])
		items = append(items, it)
		sum += it.SumKopecks
	}
	if total < 0 {
		return items
	}
	for sum > total && len(items) > 0 {
		sum -= items[len(items)-1].SumKopecks
		items = items[:len(items)-1]
	}
	rest := total - sum
	switch {
	case rest == 0:
	case rest < 300 && len(items) > 0 && items[len(items)-1].QuantityMilli == 1000:
		last := &items[len(items)-1]
		last.PriceKopecks += rest
		last.SumKopecks += rest
	case rest <= 1500:
		items = append(items, Item{Name: "Пакет-майка ПНД 30х55", PriceKopecks: rest, QuantityMilli: 1000, SumKopecks: rest, NDS: 1, ProductType: 1})
	default:
		// The product whose price is nearest below the remainder, priced to fit.
		best := pl[0]
		for _, p := range pl {
			if !p.Weighed && p.PriceKopecks <= rest && (best.PriceKopecks > rest || p.PriceKopecks > best.PriceKopecks) {
				best = p
			}
		}
		it := makeItem(r, best)
		it.QuantityMilli, it.Measure = 1000, 0
		it.PriceKopecks, it.SumKopecks = rest, rest
		items = append(items, it)
	}
	if total == 0 {
		return nil
	}
	return items
}

// q is a query as the simulator understood it.
type q struct {
	FN        string
	FD, FP    uint64
	Operation int
	Time      time.Time // zero if absent
	Sum       int64     // -1 if absent
	HasSum    bool
}

// generateReceipt builds the receipt a query asks for, deterministically
// from its fiscal identity.
func generateReceipt(products []Product, shop Shop, qr q, now time.Time) Receipt {
	r := seed("receipt", qr.FN, fmt.Sprint(qr.FD))
	t := qr.Time
	if t.IsZero() {
		t = wallNow(now, shop.UTCOffsetHours)
	}
	if t.Second() == 0 {
		t = t.Add(time.Duration(r.IntN(60)) * time.Second)
	}
	total := int64(-1)
	if qr.HasSum {
		total = qr.Sum
	}
	op := qr.Operation
	if op == 0 {
		op = 1
	}
	items := generateItems(r, products, shop.Kind, total)
	var sum int64
	for _, it := range items {
		sum += it.SumKopecks
	}
	rc := Receipt{FN: qr.FN, FD: qr.FD, FP: qr.FP, Operation: op, Time: t, Total: sum, Shop: shop, Items: items,
		Shift: 1 + int(qr.FD/300), Request: 1 + int(qr.FD%300), MessageFiscalSign: 9_000_000_000_000_000_000 + r.Uint64N(400_000_000_000_000_000)}
	if r.IntN(10) < 7 {
		rc.ECash = sum
	} else {
		rc.Cash = sum
	}
	return rc
}

func wallNow(now time.Time, offset int) time.Time {
	if offset == 0 {
		offset = 3
	}
	t := now.In(time.FixedZone("", offset*3600))
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
}
