package adminapi

// The shop routes: a client's shops imported from CSV/XLSX (all or
// nothing, with row errors) and edited one by one.

import (
	"context"
	"errors"
	"io"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
	"github.com/loyaltyjam/loyaltyjam/internal/tenant"
)

// Shops is what the shop routes need (*tenant.Service).
type Shops interface {
	ImportShops(ctx context.Context, by tenant.Caller, clientID int64, data []byte) (tenant.ImportResult, error)
	Shops(ctx context.Context, by tenant.Caller, clientID int64) ([]tenant.Shop, error)
	UpdateShop(ctx context.Context, by tenant.Caller, id int64, p tenant.ShopPatch) (tenant.Shop, error)
}

var _ Shops = (*tenant.Service)(nil)

var errShopNoFile = &apperr.Error{Kind: apperr.Invalid, Code: "shop_file_missing", Field: "file",
	Message: "Приложите файл магазинов (CSV или XLSX) в поле file."}

func (a *API) registerShops(r fiber.Router) {
	r.Get("/admin/v1/clients/:id/shops", a.listShops)
	r.Post("/admin/v1/clients/:id/shops/import", a.importShops)
	r.Patch("/admin/v1/shops/:id", a.patchShop)
}

func (a *API) listShops(c *fiber.Ctx) error {
	by, err := a.caller(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c, "id", tenant.ErrClientNotFound)
	if err != nil {
		return err
	}
	list, err := a.shops.Shops(c.UserContext(), by, id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": list})
}

func (a *API) importShops(c *fiber.Ctx) error {
	by, err := a.caller(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c, "id", tenant.ErrClientNotFound)
	if err != nil {
		return err
	}
	fh, err := c.FormFile("file")
	if err != nil {
		return errShopNoFile
	}
	if fh.Size > tenant.MaxShopFileBytes {
		return tenant.ErrShopFileTooLarge
	}
	f, err := fh.Open()
	if err != nil {
		return errShopNoFile
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, tenant.MaxShopFileBytes+1))
	if err != nil {
		return errShopNoFile
	}
	res, err := a.shops.ImportShops(c.UserContext(), by, id, data)
	var rows *tenant.ShopRowsError
	if errors.As(err, &rows) {
		return c.Status(fiber.StatusUnprocessableEntity).JSON(fiber.Map{"code": tenant.ErrShopRows.Code,
			"message": tenant.ErrShopRows.Message, "rows": rows.Rows})
	}
	if err != nil {
		return err
	}
	return c.JSON(res)
}

func (a *API) patchShop(c *fiber.Ctx) error {
	by, err := a.caller(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c, "id", tenant.ErrShopNotFound)
	if err != nil {
		return err
	}
	var p tenant.ShopPatch
	if err := decodeJSON(c, &p); err != nil {
		return err
	}
	sh, err := a.shops.UpdateShop(c.UserContext(), by, id, p)
	if err != nil {
		return err
	}
	return c.JSON(sh)
}
