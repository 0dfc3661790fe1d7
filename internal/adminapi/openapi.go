package adminapi

import (
	_ "embed"

	"github.com/gofiber/fiber/v2"
)

// OpenAPI is the staff API's contract, served at /admin/v1/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte

func serveOpenAPI(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "application/yaml")
	return c.Send(OpenAPI)
}
