package dashboard

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/tenant"
)

// shopsPage lists a client's shops with the import form and one edit
// form per shop.
func (s *Server) shopsPage(c *fiber.Ctx) error {
	return s.showShops(c, fiber.StatusOK, "", nil)
}

func (s *Server) showShops(c *fiber.Ctx, status int, msg string, rows []tenant.RowError) error {
	if s.o.Tenant == nil {
		return s.fail(c, errNoTenant)
	}
	id, ok := pathInt(c, "cid")
	if !ok {
		return s.fail(c, tenant.ErrClientNotFound)
	}
	ctx, by := c.UserContext(), s.caller(c)
	cl, err := s.o.Tenant.Client(ctx, by, id)
	if err != nil {
		return s.fail(c, err)
	}
	shops, err := s.o.Tenant.Shops(ctx, by, id)
	if err != nil {
		return s.fail(c, err)
	}
	st := staff(c)
	c.Status(status)
	return s.render(c, "shops", map[string]any{"Client": cl, "Shops": shops, "Error": msg, "Rows": rows,
		"Flash": c.Query("done"), "Created": c.Query("created"), "Updated": c.Query("updated"), "Admin": "staff",
		"CanManage": st.CheckClient(id, access.ClientManager) == nil && st.Role != access.Analyst})
}

func (s *Server) importShops(c *fiber.Ctx) error {
	if s.o.Tenant == nil {
		return s.fail(c, errNoTenant)
	}
	id, ok := pathInt(c, "cid")
	if !ok {
		return s.fail(c, tenant.ErrClientNotFound)
	}
	fh, err := c.FormFile("file")
	if err != nil {
		return s.showShops(c, fiber.StatusUnprocessableEntity, "Приложите файл магазинов (CSV или XLSX).", nil)
	}
	if fh.Size > tenant.MaxShopFileBytes {
		return s.showShops(c, fiber.StatusRequestEntityTooLarge, tenant.ErrShopFileTooLarge.Message, nil)
	}
	f, err := fh.Open()
	if err != nil {
		return s.fail(c, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, tenant.MaxShopFileBytes+1))
	if err != nil {
		return s.fail(c, err)
	}
	res, err := s.o.Tenant.ImportShops(c.UserContext(), s.caller(c), id, data)
	var rows *tenant.ShopRowsError
	if errors.As(err, &rows) {
		return s.showShops(c, fiber.StatusUnprocessableEntity, tenant.ErrShopRows.Message, rows.Rows)
	}
	if e, ok := apperr.As(err); ok && (e.Kind == apperr.Invalid || e.Kind == apperr.TooLarge || e.Kind == apperr.Unsupported) {
		return s.showShops(c, fiber.StatusUnprocessableEntity, e.Message, nil)
	}
	if err != nil {
		return s.fail(c, err)
	}
	return c.Redirect(fmt.Sprintf("%s/admin/clients/%d/shops?done=imported&created=%d&updated=%d", Prefix, id, res.Created, res.Updated),
		fiber.StatusSeeOther)
}

func (s *Server) updateShop(c *fiber.Ctx) error {
	if s.o.Tenant == nil {
		return s.fail(c, errNoTenant)
	}
	id, ok := pathInt(c, "sid")
	if !ok {
		return s.fail(c, tenant.ErrShopNotFound)
	}
	field := func(k string) *string { v := c.FormValue(k); return &v }
	list := func(k string) *[]string {
		v := strings.FieldsFunc(c.FormValue(k), func(r rune) bool { return r == ',' || r == ' ' })
		return &v
	}
	p := tenant.ShopPatch{Name: field("name"), INN: field("inn"), KKT: list("kkt"), FN: list("fn"), Address: field("address"),
		Chain: field("chain"), Region: field("region"), Distributor: field("distributor")}
	sh, err := s.o.Tenant.UpdateShop(c.UserContext(), s.caller(c), id, p)
	if err != nil {
		return s.fail(c, err)
	}
	return c.Redirect(fmt.Sprintf("%s/admin/clients/%d/shops?done=updated#shop-%d", Prefix, sh.ClientID, sh.ID), fiber.StatusSeeOther)
}
