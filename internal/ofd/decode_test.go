package ofd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// sampleA is fiscal.md §4.6 (a): a proverkacheka data.json (2025, FFD 1.2).
const sampleA = `{
  "messageFiscalSign": 9297127412983450000,
  "code": 3, "fiscalDocumentFormatVer": 4,
  "fiscalDriveNumber": "7380440801185382", "kktRegId": "0008070212010148    ",
  "userInn": "7736207543  ", "fiscalDocumentNumber": 169111,
  "dateTime": "2025-01-04T19:31:00", "fiscalSign": 3769337301,
  "shiftNumber": 199, "requestNumber": 165, "operationType": 1,
  "totalSum": 61900, "internetSign": 1, "appliedTaxationType": 1,
  "cashTotalSum": 0, "ecashTotalSum": 61900, "prepaidSum": 0, "creditSum": 0, "provisionSum": 0,
  "fnsUrl": "www.nalog.gov.ru", "machineNumber": "whitespirit3f",
  "user": "ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ \"ЯНДЕКС\"",
  "retailPlaceAddress": "248926, Россия, Калужская обл., г. Калуга, проезд 1-й Автомобильный, дом 8",
  "retailPlace": "market.yandex.ru",
  "nds18": 0, "nds10": 0, "nds0": 0, "ndsNo": 59900, "nds18118": 333, "nds10110": 0,
  "properties": {"propertyName": "psp_payment_id", "propertyValue": "payment_x|authorization_0000"},
  "items": [
    {"labelCodeProcesMode": 0, "price": 59900, "quantity": 1, "sum": 59900, "nds": 6,
     "name": "Фасовочный пакет/ пакет майка / пакет 100 шт. 42х68 35мкм /...",
     "paymentType": 1, "paymentAgentByProductType": 64, "providerInn": "504100088095",
     "itemsQuantityMeasure": 0, "productType": 1},
    {"labelCodeProcesMode": 0, "price": 2000, "quantity": 1, "sum": 2000, "nds": 3, "ndsSum": 333,
     "name": "Сервисный сбор", "paymentType": 1, "paymentAgentByProductType": 64,
     "providerInn": "9704254424  ", "itemsQuantityMeasure": 0, "productType": 1}
  ],
  "region": "40", "numberKkt": "00000003810518251287", "redefine_mask": 0,
  "metadata": {"id": 5637283473845435000, "ofdId": "ofd8", "receiveDate": "2025-01-04T16:31:12Z",
               "subtype": "receipt", "address": "248926,Россия,Калужская область,..."}
}`

// irkktSample is the irkkt GET /v2/tickets/{id} answer of fiscal.md §3.1.
const irkktSample = `{
  "id": "5f35424ed38b52fdf004dbf3", "status": 2, "kind": "kkt",
  "qr": "t=20200709T2008&s=7273.00&fn=9282440300688488&i=14186&fp=1460060363&n=1",
  "operation": {"date": "2020-07-09T20:08:00+03:00", "type": 1, "sum": 727300},
  "query": {"operationType": 1, "sum": 727300, "documentId": 14186,
            "fsId": "9282440300688488", "fiscalSign": "1460060363", "date": "2020-07-09T20:08"},
  "ticket": {"document": {"receipt": {
    "dateTime": 1594314480,
    "cashTotalSum": 0, "ecashTotalSum": 727300,
    "fiscalDocumentNumber": 14186, "fiscalDriveNumber": "9282440300688488", "fiscalSign": 1460060363,
    "items": [
      {"name": "Пакет ЛЕНТА средний майка 12кг", "price": 699, "quantity": 3, "sum": 2097},
      {"name": "Арбуз ВЕС.", "price": 3999, "quantity": 7.925, "sum": 31692},
      {"name": "Яйцо курин РОСКАР стол Экстра С0 10шт", "price": 6999, "quantity": 1, "sum": 6999}
    ],
    "kktRegId": "0000092968041899    ",
    "nds10": 27094, "nds18": 71548,
    "operationType": 1, "operator": "Яблокова Надежда Николаевна",
    "receiptCode": 3, "requestNumber": 258,
    "retailPlaceAddress": "Россия, 188643,Ленинградская обл., ... д. 6,",
    "shiftNumber": 50, "taxationType": 1, "totalSum": 727300,
    "user": "ООО \"Лента\"", "userInn": "7814148471"
  }}}
}`

func TestDecodeSampleA(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]string{
		"bare":          sampleA,
		"proverkacheka": `{"code":1,"first":1,"data":{"json":` + sampleA + `,"html":"<table></table>"},"request":{}}`,
		"fns_document":  `{"document":{"receipt":` + sampleA + `}}`,
		"ticket_string": `{"receipt":` + sampleA + `}`,
	} {
		t.Run(name, func(t *testing.T) {
			r, err := DecodeReceipt([]byte(in))
			if err != nil {
				t.Fatal(err)
			}
			want := Receipt{
				FN: "7380440801185382", FD: 169111, FP: 3769337301, Operation: 1,
				Time:         time.Date(2025, 1, 4, 19, 31, 0, 0, time.UTC),
				TotalKopecks: 61900, ECashKopecks: 61900,
				SellerName:        `ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ "ЯНДЕКС"`,
				SellerINN:         "7736207543",
				RetailPlace:       "market.yandex.ru",
				RetailAddress:     "248926, Россия, Калужская обл., г. Калуга, проезд 1-й Автомобильный, дом 8",
				KKTRegID:          "0008070212010148",
				MessageFiscalSign: "9297127412983450000",
				Items: []Item{
					{Name: "Фасовочный пакет/ пакет майка / пакет 100 шт. 42х68 35мкм /...", PriceKopecks: 59900, QuantityMilli: 1000, SumKopecks: 59900, NDS: 6, PaymentType: 1, ProductType: 1, Measure: 0},
					{Name: "Сервисный сбор", PriceKopecks: 2000, QuantityMilli: 1000, SumKopecks: 2000, NDS: 3, PaymentType: 1, ProductType: 1, Measure: 0},
				},
			}
			if diff := cmp.Diff(want, r, cmpopts.IgnoreFields(Receipt{}, "Raw")); diff != "" {
				t.Errorf("receipt (-want +got):\n%s", diff)
			}
			if !strings.Contains(string(r.Raw), `"fiscalDriveNumber"`) {
				t.Errorf("Raw does not hold the receipt object: %.80s", r.Raw)
			}
			q := Query{FN: "7380440801185382", FD: 169111, FP: 3769337301, Operation: 1, Time: time.Date(2025, 1, 4, 19, 31, 0, 0, time.UTC), SumKopecks: 61900}
			if err := CrossCheck(q, r); err != nil {
				t.Errorf("CrossCheck: %v", err)
			}
		})
	}
}

func TestDecodeIrkktEpochAndDecimalQuantity(t *testing.T) {
	t.Parallel()
	r, err := DecodeReceipt([]byte(irkktSample))
	if err != nil {
		t.Fatal(err)
	}
	if !r.TimeFromEpoch || !r.Time.Equal(time.Date(2020, 7, 9, 20, 8, 0, 0, time.UTC)) {
		t.Errorf("time = %v epoch=%v, want 2020-07-09 20:08 MSK wall clock from epoch", r.Time, r.TimeFromEpoch)
	}
	if got := r.Items[1].QuantityMilli; got != 7925 {
		t.Errorf("weighed quantity = %d, want 7925", got)
	}
	if r.Items[0].QuantityMilli != 3000 || r.Items[0].Measure != -1 {
		t.Errorf("item 0 = %+v", r.Items[0])
	}
	q := Query{FN: "9282440300688488", FD: 14186, FP: 1460060363, Operation: 1, Time: time.Date(2020, 7, 9, 20, 8, 0, 0, time.UTC), SumKopecks: 727300}
	// Items of the trimmed sample do not add up; only the identity checks matter here.
	r.Items = []Item{{SumKopecks: 727300}}
	if err := CrossCheck(q, r); err != nil {
		t.Errorf("CrossCheck: %v", err)
	}
}

func TestDecodeVariants(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		in    string
		check func(t *testing.T, r Receipt)
	}{
		{"epoch as string, padded strings, fiscalSign as string",
			`{"fiscalDriveNumber":" 9282440300688488 ","fiscalDocumentNumber":"14186","fiscalSign":"1460060363","dateTime":"1594314480","totalSum":100,"userInn":"7814148471    ","kktRegId":"0000092968041899   ","items":[]}`,
			func(t *testing.T, r Receipt) {
				if r.FN != "9282440300688488" || r.FP != 1460060363 || r.FD != 14186 || r.SellerINN != "7814148471" || r.KKTRegID != "0000092968041899" {
					t.Errorf("got %+v", r)
				}
				if !r.TimeFromEpoch || r.Time.Hour() != 20 {
					t.Errorf("time %v", r.Time)
				}
			}},
		{"ISO without seconds",
			`{"fiscalDriveNumber":"1","dateTime":"2024-09-17T18:01","totalSum":0,"items":[]}`,
			func(t *testing.T, r Receipt) {
				if !r.Time.Equal(time.Date(2024, 9, 17, 18, 1, 0, 0, time.UTC)) || r.TimeFromEpoch {
					t.Errorf("time %v", r.Time)
				}
			}},
		{"messageFiscalSign as json.Number keeps every digit",
			`{"fiscalDriveNumber":"1","messageFiscalSign":9297127412983451234,"totalSum":0,"items":[]}`,
			func(t *testing.T, r Receipt) {
				if r.MessageFiscalSign != "9297127412983451234" {
					t.Errorf("messageFiscalSign %q", r.MessageFiscalSign)
				}
			}},
		{"decimal quantities to thousandths",
			`{"fiscalDriveNumber":"1","totalSum":0,"items":[{"name":"a","quantity":2.474},{"name":"b","quantity":"0.458"},{"name":"c","quantity":1.0005},{"name":"d","quantity":0.3333},{"name":"e","quantity":1e0}]}`,
			func(t *testing.T, r Receipt) {
				var got []int64
				for _, it := range r.Items {
					got = append(got, it.QuantityMilli)
				}
				if diff := cmp.Diff([]int64{2474, 458, 1001, 333, 1000}, got); diff != "" {
					t.Errorf("quantities (-want +got):\n%s", diff)
				}
			}},
		{"alternative names and lower-cased keys",
			`{"fiscaldrivenumber":"7281440500751551","fiscaldocumentnumber":30526,"fiscalsign":1168453787,"totalsum":24738,"prepaymentSum":5,"postpaymentSum":6,"counterSubmissionSum":7,"retailAddress":"Хабаровск","items":[{"name":"*Тыква 1кг","price":9999,"quantity":2.474,"sum":24738,"ndsRate":2,"calculationTypeSign":4,"calculationSubjectSign":1,"itemsQuantityMeasure":11}]}`,
			func(t *testing.T, r Receipt) {
				want := Item{Name: "*Тыква 1кг", PriceKopecks: 9999, QuantityMilli: 2474, SumKopecks: 24738, NDS: 2, PaymentType: 4, ProductType: 1, Measure: 11}
				if diff := cmp.Diff(want, r.Items[0]); diff != "" {
					t.Errorf("item (-want +got):\n%s", diff)
				}
				if r.PrepaidKopecks != 5 || r.CreditKopecks != 6 || r.ProvisionKopecks != 7 || r.RetailAddress != "Хабаровск" || r.TotalKopecks != 24738 {
					t.Errorf("receipt %+v", r)
				}
			}},
		{"marking codes give EAN-13",
			`{"fiscalDriveNumber":"1","totalSum":0,"items":[
			  {"name":"Вода","productType":33,"productCodeNew":{"gs1m":{"gtin":"04605035006964","sernum":"5OoyE8qxeIOn>","productIdType":6,"rawProductCode":"0104605035006964215OoyE8qxeIOn>"}}},
			  {"name":"Пиво","productCodeNew":{"itf14":{"rawProductCode":"04627083415024","productIdType":5,"gtin":"04627083415024","sernum":""}}},
			  {"name":"raw only","productCodeNew":{"undefined":{"rawProductCode":"0104609871012578215abc"}}},
			  {"name":"garbage","productCodeNew":{"gs1m":{"gtin":"xyz"}}}]}`,
			func(t *testing.T, r Receipt) {
				var got []string
				for _, it := range r.Items {
					got = append(got, it.GTIN)
				}
				if diff := cmp.Diff([]string{"4605035006964", "4627083415024", "4609871012578", ""}, got); diff != "" {
					t.Errorf("GTINs (-want +got):\n%s", diff)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := DecodeReceipt([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, r)
		})
	}
}

// Every marking-code form a receipt export uses gives the line's GTIN
// (testdata/README.md says where each fixture comes from).
func TestDecodeMarkingCodeForms(t *testing.T) {
	t.Parallel()
	for file, want := range map[string][]string{
		"fns_app_productcodedata.json": {"", "4606419014681", "5060608748358"},
		"tag1162_forms.json":           {"4606419014681", "4606419014681", "4607036340658", "46070363", "", "5060608748358"},
	} {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(filepath.Join("testdata", file))
			if err != nil {
				t.Fatal(err)
			}
			r, err := DecodeReceipt(data)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, it := range r.Items {
				got = append(got, it.GTIN)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("GTINs (-want +got):\n%s", diff)
			}
		})
	}
	// Inline variants of the same forms.
	for name, tc := range map[string]struct{ item, want string }{
		"productCodeData gtin as string":   {`"productCodeData":{"gtin":"04606419014681"}`, "4606419014681"},
		"productCodeData gtin in exponent": {`"productCodeData":{"gtin":4.606419014681e12}`, "4606419014681"},
		"productCodeData raw only":         {`"productCodeData":{"rawProductCode":"0104606419014681215*ttfD"}`, "4606419014681"},
		"productCodeData keyed by kind":    {`"productCodeData":{"gs1m":{"gtin":"04606419014681"}}`, "4606419014681"},
		"1162 hex without spaces":          {`"nomenclatureCode":"444D043083F81419352A74746644"`, "4606419014681"},
		"1162 base64 unpadded":             {`"nomenclatureCode":"RE0EMIP4FBk1KnR0ZkQ"`, "4606419014681"},
		"1162 parsed object":               {`"nomenclatureCode":{"gtin":"04606419014681","sernum":"5*ttfD"}`, "4606419014681"},
		"productCode bare EAN-13":          {`"productCode":"4607036340658"`, "4607036340658"},
		"productCodeNew wins":              {`"productCodeNew":{"ean13":{"gtin":"4607036340658"}},"productCodeData":{"gtin":4606419014681}`, "4607036340658"},
		"short 1162":                       {`"productCode":"44 4D 04"`, ""},
		"text that is no code":             {`"productCode":"ABC-123"`, ""},
	} {
		r, err := DecodeReceipt([]byte(`{"fiscalDriveNumber":"1","totalSum":1,"items":[{"name":"x","sum":1,` + tc.item + `}]}`))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := r.Items[0].GTIN; got != tc.want {
			t.Errorf("%s: GTIN %q, want %q", name, got, tc.want)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]string{
		"not json":         `<html>502</html>`,
		"no receipt":       `{"code":2,"data":"Данные чека пока не получены"}`,
		"fractional money": `{"fiscalDriveNumber":"1","totalSum":619.5,"items":[]}`,
		"bad date":         `{"fiscalDriveNumber":"1","totalSum":1,"dateTime":"yesterday","items":[]}`,
		"items not array":  `{"fiscalDriveNumber":"1","totalSum":1,"items":{}}`,
		"truncated":        `{"code":1,"data":{"json":{"fiscalDriveNumber":"1","to`,
		"no fn":            `{"totalSum":1,"items":[]}`,
		"negative fd":      `{"fiscalDriveNumber":"1","fiscalDocumentNumber":-5,"totalSum":1,"items":[]}`,
	} {
		if _, err := DecodeReceipt([]byte(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzDecodeReceipt(f *testing.F) {
	f.Add([]byte(sampleA))
	f.Add([]byte(irkktSample))
	f.Add([]byte(`{"receipt":{"fiscalDriveNumber":"1","items":[{"quantity":"1e400","productCodeNew":{"gs1m":{"rawProductCode":"01"}}}]}}`))
	f.Add([]byte(`{"data":{"json":"{\"items\":[]}"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeReceipt(data)
		if err == nil && r.FN == "" {
			t.Errorf("decoded a receipt without fn")
		}
	})
}
