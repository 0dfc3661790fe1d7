package ofdsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"strconv"
	"strings"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/money"
)

// style selects the provider's flavour of the receipt JSON.
type style int

const (
	// styleProverkacheka: dateTime as local ISO, userInn/kktRegId padded
	// with spaces, aggregator extras (metadata, region, numberKkt).
	styleProverkacheka style = iota
	// styleFNS: dateTime as Unix seconds, as in the FNS JSON format.
	styleFNS
)

// kv is an ordered JSON object, so output looks like the real services'.
type kv []struct {
	k string
	v any
}

func (o *kv) add(k string, v any) {
	*o = append(*o, struct {
		k string
		v any
	}{k, v})
}

func (o kv) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, e := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(e.k)
		b.Write(kb)
		b.WriteByte(':')
		vb, err := marshalNoEscape(e.v)
		if err != nil {
			return nil, err
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func marshalNoEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// quantity renders thousandths as a JSON number: 1000 → 1, 2474 → 2.474.
func quantity(milli int64) json.Number {
	s := strconv.FormatInt(milli/1000, 10)
	if f := milli % 1000; f != 0 {
		s += "." + strings.TrimRight(fmt.Sprintf("%03d", f), "0")
	}
	return json.Number(s)
}

func pad(s string, n int) string {
	if len(s) >= n {
		return s
	}
	return s + strings.Repeat(" ", n-len(s))
}

// receiptJSON renders r as the FNS receipt object.
func receiptJSON(r Receipt, st style) kv {
	var o kv
	o.add("messageFiscalSign", json.Number(strconv.FormatUint(r.MessageFiscalSign, 10)))
	o.add("code", 3)
	o.add("fiscalDocumentFormatVer", 4)
	o.add("fiscalDriveNumber", r.FN)
	inn, kkt := r.Shop.INN, r.Shop.KKTRegID
	if st == styleProverkacheka {
		inn, kkt = pad(inn, 12), pad(kkt, 20)
	}
	o.add("kktRegId", kkt)
	o.add("userInn", inn)
	o.add("fiscalDocumentNumber", r.FD)
	if st == styleProverkacheka {
		o.add("dateTime", r.Time.Format("2006-01-02T15:04:05"))
	} else {
		off := r.Shop.UTCOffsetHours
		if off == 0 {
			off = 3
		}
		o.add("dateTime", r.Time.Add(-time.Duration(off)*time.Hour).Unix())
	}
	o.add("fiscalSign", r.FP)
	o.add("shiftNumber", r.Shift)
	o.add("requestNumber", r.Request)
	o.add("operationType", r.Operation)
	o.add("totalSum", r.Total)
	o.add("cashTotalSum", r.Cash)
	o.add("ecashTotalSum", r.ECash)
	o.add("prepaidSum", 0)
	o.add("creditSum", 0)
	o.add("provisionSum", 0)
	var nds20, nds10, ndsNo int64
	for _, it := range r.Items {
		switch it.NDS {
		case 1:
			nds20 += roundDiv(it.SumKopecks*20, 120)
		case 2:
			nds10 += roundDiv(it.SumKopecks*10, 110)
		case 6:
			ndsNo += it.SumKopecks
		}
	}
	o.add("nds18", nds20)
	o.add("nds10", nds10)
	if ndsNo > 0 {
		o.add("ndsNo", ndsNo)
	}
	o.add("appliedTaxationType", 1)
	o.add("fnsUrl", "www.nalog.gov.ru")
	o.add("operator", "Кассир")
	o.add("user", r.Shop.Name)
	if r.Shop.RetailPlace != "" {
		o.add("retailPlace", r.Shop.RetailPlace)
	}
	o.add("retailPlaceAddress", r.Shop.Address)
	items := make([]kv, 0, len(r.Items))
	for _, it := range r.Items {
		var i kv
		i.add("name", it.Name)
		i.add("price", it.PriceKopecks)
		i.add("quantity", quantity(it.QuantityMilli))
		i.add("sum", it.SumKopecks)
		i.add("nds", it.NDS)
		switch it.NDS {
		case 1:
			i.add("ndsSum", roundDiv(it.SumKopecks*20, 120))
		case 2:
			i.add("ndsSum", roundDiv(it.SumKopecks*10, 110))
		}
		i.add("paymentType", 4)
		i.add("productType", it.ProductType)
		i.add("itemsQuantityMeasure", it.Measure)
		if it.GTIN != "" {
			g14 := strings.Repeat("0", 14-len(it.GTIN)) + it.GTIN
			var code kv
			code.add("gtin", g14)
			code.add("sernum", it.Serial)
			code.add("productIdType", 6)
			code.add("rawProductCode", "01"+g14+"21"+it.Serial)
			var pcn kv
			pcn.add("gs1m", code)
			i.add("productCodeNew", pcn)
			i.add("labelCodeProcesMode", 0)
			i.add("checkingProdInformationResult", 15)
		}
		items = append(items, i)
	}
	o.add("items", items)
	if st == styleProverkacheka {
		o.add("region", "77")
		o.add("numberKkt", fmt.Sprintf("%020s", r.Shop.KKTRegID[len(r.Shop.KKTRegID)/2:]))
		o.add("redefine_mask", 0)
		var md kv
		md.add("id", json.Number(strconv.FormatUint(r.MessageFiscalSign/3, 10)))
		md.add("ofdId", "ofd"+strconv.Itoa(int(r.FD%9)+1))
		md.add("receiveDate", r.Time.Add(-3*time.Hour+17*time.Second).Format("2006-01-02T15:04:05Z"))
		md.add("subtype", "receipt")
		md.add("address", r.Shop.Address)
		o.add("metadata", md)
	}
	return o
}

// receiptHTML is the small table proverkacheka returns next to the JSON.
func receiptHTML(r Receipt) string {
	var b strings.Builder
	b.WriteString(`<table class="b-check_table table"><tbody>`)
	fmt.Fprintf(&b, `<tr><td colspan="4" class="b-check_center">%s</td></tr>`, html.EscapeString(r.Shop.Name))
	fmt.Fprintf(&b, `<tr><td colspan="4" class="b-check_center">ИНН %s</td></tr>`, r.Shop.INN)
	for n, it := range r.Items {
		fmt.Fprintf(&b, `<tr class="b-check_item"><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>`,
			n+1, html.EscapeString(it.Name), money.Kopecks(it.PriceKopecks).String(), quantity(it.QuantityMilli), money.Kopecks(it.SumKopecks).String())
	}
	fmt.Fprintf(&b, `<tr><td colspan="3">ИТОГО:</td><td>%s</td></tr></tbody></table>`, money.Kopecks(r.Total).String())
	return b.String()
}
