package dashboard

import (
	"context"
	"fmt"
	"net/url"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/catalog"
)

// foreignLines are the client's lines marked «не наш товар», newest first.
func (s *Server) foreignLines(ctx context.Context, clientID int64) ([]catalog.ForeignLine, error) {
	return s.o.Foreign.ForeignLines(ctx, clientID, 200)
}

// markForeign marks an unmatched line «не наш товар» for the program's
// client: it leaves the unmatched list, with every line that normalises
// the same, now and in later receipts.
func (s *Server) markForeign(c *fiber.Ctx) error {
	p, st := program(c), staff(c)
	if err := st.CheckClient(p.ClientID, access.ClientManager); err != nil {
		return s.fail(c, err)
	}
	if _, err := s.o.Foreign.MarkForeign(c.UserContext(), p.ClientID, st.UserID, c.FormValue("name")); err != nil {
		return s.fail(c, err)
	}
	return c.Redirect(fmt.Sprintf("%s/p/%d/unmatched?%s", Prefix, p.ID, url.Values{"done": {"foreign"}}.Encode()), fiber.StatusSeeOther)
}

// unmarkForeign takes a «не наш товар» mark back: such lines are listed
// as unmatched again.
func (s *Server) unmarkForeign(c *fiber.Ctx) error {
	p := program(c)
	if err := staff(c).CheckClient(p.ClientID, access.ClientManager); err != nil {
		return s.fail(c, err)
	}
	if err := s.o.Foreign.UnmarkForeign(c.UserContext(), p.ClientID, c.FormValue("norm")); err != nil {
		return s.fail(c, err)
	}
	return c.Redirect(fmt.Sprintf("%s/p/%d/unmatched?%s", Prefix, p.ID, url.Values{"done": {"restored"}}.Encode()), fiber.StatusSeeOther)
}
