package ofdsim

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
)

//go:embed assortment.csv
var assortmentCSV []byte

// Product is one line of the assortment the generator draws items from.
type Product struct {
	// Kind is the shop kind that sells it: "auto", "grocery" or "general"
	// (sold everywhere).
	Kind string
	// Name as the till prints it.
	Name string
	// PriceKopecks is the unit price (per kg for weighed goods).
	PriceKopecks int64
	// GTIN is the EAN-13, "" when unknown.
	GTIN string
	// Marked goods carry productCodeNew with the GTIN on FFD 1.2 tills.
	Marked bool
	// Weighed goods are sold by kg with a fractional quantity.
	Weighed bool
	// NDS is the VAT rate code (1 = 20 %, 2 = 10 %).
	NDS int
}

// DefaultAssortment returns the embedded assortment: the demo clients'
// SKUs (Ветлуга/ТЕРМОКС/Ясновид, Тётушка Марфа/Краснодолье) in till
// spelling, competitors' goods and unrelated goods.
func DefaultAssortment() []Product {
	p, err := ParseAssortment(bytes.NewReader(assortmentCSV))
	if err != nil {
		panic("ofdsim: embedded assortment: " + err.Error())
	}
	return p
}

// ParseAssortment reads a CSV with the header
// kind,name,price_kopecks,gtin,marked,weight,nds.
func ParseAssortment(r io.Reader) ([]Product, error) {
	cr := csv.NewReader(r)
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) < 2 {
		return nil, fmt.Errorf("assortment: no rows")
	}
	var out []Product
	for i, row := range rows[1:] {
		if len(row) != 7 {
			return nil, fmt.Errorf("assortment line %d: want 7 fields", i+2)
		}
		price, err := strconv.ParseInt(row[2], 10, 64)
		if err != nil || price <= 0 {
			return nil, fmt.Errorf("assortment line %d: bad price %q", i+2, row[2])
		}
		nds, _ := strconv.Atoi(row[6])
		out = append(out, Product{Kind: row[0], Name: row[1], PriceKopecks: price, GTIN: row[3],
			Marked: row[4] == "1", Weighed: row[5] == "1", NDS: nds})
	}
	return out, nil
}
