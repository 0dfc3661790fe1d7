package adminapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// upload posts file as the multipart field "file" as who, checked against
// openapi.yaml.
func (e *opsEnv) upload(path, who, name string, file []byte) result {
	e.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	if file != nil {
		fw, err := w.CreateFormFile("file", name)
		must(e.t, err)
		_, _ = fw.Write(file)
	}
	must(e.t, w.Close())
	req := httptest.NewRequest("POST", path, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(who+":"+staffPassword)))
	resp, err := e.app.Test(req, -1)
	must(e.t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	vreq := httptest.NewRequest("POST", path, nil)
	if err := e.validate(vreq, resp, raw); err != nil {
		e.t.Error(err)
	}
	return result{status: resp.StatusCode, body: out, raw: raw}
}

func TestShopsImportAndEdit(t *testing.T) {
	t.Parallel()
	e := newOpsEnv(t)
	ctx := context.Background()
	imp := "/admin/v1/clients/" + strconv.FormatInt(e.acme, 10) + "/shops/import"
	list := "/admin/v1/clients/" + strconv.FormatInt(e.acme, 10) + "/shops"
	count := func() int {
		var n int
		must(t, e.db.QueryRow(ctx, `SELECT count(*) FROM shops WHERE client_id = $1`, e.acme).Scan(&n))
		return n
	}
	good := "код;название;ИНН;ККТ;ФН;адрес;сеть;регион;дистрибьютор\n" +
		"S-1;Автомир;7707083893;0004567890012345, 0004567890012346;7281440500000101;Москва, Ленина 1;Автомир;Москва;ООО «Дистр»\n" +
		"S-2;Колесо;;;;;Колесо;Тверь;\n"
	bad := "code,name,inn,kkt\n" +
		"S-1,Автомир,7707083894,\n" + // bad checksum
		"S-2,,,\n" + // no name
		"S-3,Колесо,,12345\n" + // short KKT
		"S-4,Ок,,\n" +
		"S-4,Дубль,,\n" // duplicate code
	e.want(e.upload(imp, "boss@rival.test", "s.csv", []byte(good)), 404, "client_not_found")
	e.want(e.upload(imp, "mod@acme.test", "s.csv", []byte(good)), 403, "forbidden")
	e.want(e.upload(imp, "boss@acme.test", "s.csv", nil), 422, "shop_file_missing")
	e.want(e.upload(imp, "boss@acme.test", "s.csv", []byte("адрес;сеть\nx;y\n")), 422, "shop_file_header")
	e.want(e.upload(imp, "boss@acme.test", "s.csv", []byte("код;название\n\xff\xfe;x\n")), 422, "invalid_utf8")
	e.want(e.upload(imp, "boss@acme.test", "s.xlsx", []byte("PK\x03\x04garbage")), 415, "spreadsheet_unreadable")
	r := e.upload(imp, "boss@acme.test", "s.csv", []byte(bad))
	e.want(r, 422, "shop_rows_invalid")
	rows := r.body["rows"].([]any)
	var lines []string
	for _, x := range rows {
		m := x.(map[string]any)
		lines = append(lines, strconv.Itoa(int(m["line"].(float64)))+":"+m["field"].(string))
	}
	if strings.Join(lines, " ") != "2:inn 3:name 4:kkt_reg_numbers 6:code" {
		t.Errorf("row errors %v", lines)
	}
	if count() != 0 {
		t.Fatal("a refused file wrote shops")
	}
	big := append([]byte("код;название\n"), bytes.Repeat([]byte("x;y\n"), 11<<18)...)
	if r := e.upload(imp, "boss@acme.test", "big.csv", big); r.status != 413 {
		t.Errorf("an 11 MB file: %d", r.status)
	}

	r = e.upload(imp, "boss@acme.test", "s.csv", []byte(good))
	e.want(r, 200, "")
	if r.body["created"] != float64(2) || r.body["updated"] != float64(0) {
		t.Fatalf("import %s", r.raw)
	}
	r = e.upload(imp, "op@lj.test", "s.csv", []byte(strings.Replace(good, "Тверь", "Тула", 1)))
	if r.body["created"] != float64(0) || r.body["updated"] != float64(2) {
		t.Fatalf("reimport %s", r.raw)
	}
	// XLSX, numbers stored as numbers.
	f := excelize.NewFile()
	for i, row := range [][]any{{"code", "name", "inn", "fn"}, {"S-3", "Магнит", 7707083893, "7281440500000103"}} {
		for j, v := range row {
			cell, _ := excelize.CoordinatesToCellName(j+1, i+1)
			must(t, f.SetCellValue("Sheet1", cell, v))
		}
	}
	var xb bytes.Buffer
	must(t, f.Write(&xb))
	e.want(e.upload(imp, "boss@acme.test", "s.xlsx", xb.Bytes()), 200, "")
	if count() != 3 {
		t.Fatalf("%d shops", count())
	}

	l := e.call("GET", list, "analyst@acme.test", nil)
	e.want(l, 200, "")
	items := l.body["items"].([]any)
	s1 := items[0].(map[string]any)
	if s1["code"] != "S-1" || len(s1["kkt_reg_numbers"].([]any)) != 2 || s1["distributor"] != "ООО «Дистр»" ||
		items[1].(map[string]any)["region"] != "Тула" || items[2].(map[string]any)["inn"] != "7707083893" {
		t.Errorf("shops %s", l.raw)
	}
	e.want(e.call("GET", list, "boss@rival.test", nil), 404, "client_not_found")

	id := strconv.Itoa(int(s1["id"].(float64)))
	e.want(e.call("PATCH", "/admin/v1/shops/"+id, "boss@rival.test", map[string]any{"name": "x"}), 404, "shop_not_found")
	e.want(e.call("PATCH", "/admin/v1/shops/"+id, "mod@acme.test", map[string]any{"name": "x"}), 403, "forbidden")
	e.want(e.call("PATCH", "/admin/v1/shops/"+id, "boss@acme.test", map[string]any{"fn_numbers": []string{"123"}}), 422, "bad_fiscal_number")
	e.want(e.call("PATCH", "/admin/v1/shops/"+id, "boss@acme.test", map[string]any{"inn": "1234567890"}), 422, "bad_inn")
	e.want(e.call("PATCH", "/admin/v1/shops/999999", "boss@acme.test", map[string]any{"name": "x"}), 404, "shop_not_found")
	p := e.call("PATCH", "/admin/v1/shops/"+id, "boss@acme.test", map[string]any{"fn_numbers": []string{"7281440500000999"}, "chain": "Автомир+"})
	e.want(p, 200, "")
	if p.body["chain"] != "Автомир+" || p.body["name"] != "Автомир" {
		t.Errorf("patched %s", p.raw)
	}
	got := e.auditActions("boss@acme.test", "?action=shop.")
	if strings.Join(got, " ") != "shop.update shop.import shop.import shop.import" {
		t.Errorf("audit %v", got)
	}
	a := e.call("GET", "/admin/v1/audit?action=shop.update", "boss@acme.test", nil)
	en := a.body["items"].([]any)[0].(map[string]any)
	if en["before"].(map[string]any)["chain"] != "Автомир" || en["after"].(map[string]any)["chain"] != "Автомир+" {
		t.Errorf("update entry %v", en)
	}
}
