package tenant_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/tenant"
)

func TestClientValidate(t *testing.T) {
	t.Parallel()
	good := func() tenant.Client {
		return tenant.Client{Code: "romashka", Name: "  ООО «Ромашка» ", INN: " 7707083893 ", ContactPhone: "8 (999) 123-45-67",
			ContactEmail: "ivan@romashka.ru"}
	}
	c := good()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Name != "ООО «Ромашка»" || c.INN != "7707083893" || c.ContactPhone != "+79991234567" || c.TimeZone != "Europe/Moscow" {
		t.Errorf("normalised %+v", c)
	}
	for _, tc := range []struct {
		name  string
		tweak func(*tenant.Client)
		code  string
	}{
		{"sole trader INN", func(c *tenant.Client) { c.INN = "500100732259" }, ""},
		{"INN check digit", func(c *tenant.Client) { c.INN = "7707083894" }, "bad_inn"},
		{"INN length", func(c *tenant.Client) { c.INN = "770708389" }, "bad_inn"},
		{"no INN", func(c *tenant.Client) { c.INN = "" }, "bad_inn"},
		{"INN not UTF-8", func(c *tenant.Client) { c.INN = "\xff" }, "invalid_utf8"},
		{"empty name", func(c *tenant.Client) { c.Name = "   " }, "required"},
		{"name not UTF-8", func(c *tenant.Client) { c.Name = "ООО \xc3\x28" }, "invalid_utf8"},
		{"name with NUL", func(c *tenant.Client) { c.Name = "a\x00b" }, "invalid_characters"},
		{"name 500", func(c *tenant.Client) { c.Name = strings.Repeat("я", 500) }, ""},
		{"name 501", func(c *tenant.Client) { c.Name = strings.Repeat("я", 501) }, "too_long"},
		{"code upper", func(c *tenant.Client) { c.Code = "Romashka" }, "bad_client_code"},
		{"code one char", func(c *tenant.Client) { c.Code = "r" }, "bad_client_code"},
		{"email with name", func(c *tenant.Client) { c.ContactEmail = "Иван <ivan@romashka.ru>" }, "invalid_email"},
		{"email no dot", func(c *tenant.Client) { c.ContactEmail = "ivan@localhost" }, "invalid_email"},
		{"phone", func(c *tenant.Client) { c.ContactPhone = "123" }, "invalid_phone"},
		{"zone abbrev", func(c *tenant.Client) { c.TimeZone = "MSK" }, "bad_time_zone"},
		{"zone offset", func(c *tenant.Client) { c.TimeZone = "UTC+3" }, "bad_time_zone"},
		{"zone unknown", func(c *tenant.Client) { c.TimeZone = "Mars/Olympus" }, "bad_time_zone"},
		{"zone Local", func(c *tenant.Client) { c.TimeZone = "Local" }, "bad_time_zone"},
		{"zone ok", func(c *tenant.Client) { c.TimeZone = "Asia/Vladivostok" }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good()
			tc.tweak(&c)
			err := c.Validate()
			if tc.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			e, ok := apperr.As(err)
			if !ok || e.Code != tc.code || e.Kind != apperr.Invalid {
				t.Fatalf("got %v, want %s", err, tc.code)
			}
		})
	}
}

func FuzzClientValidate(f *testing.F) {
	f.Add("romashka", "ООО «Ромашка»", "7707083893", "+79991234567", "a@b.ru", "Europe/Moscow")
	f.Add("x", "\xff", "12", "", "", "UTC")
	f.Fuzz(func(t *testing.T, code, name, inn, phone, email, zone string) {
		c := tenant.Client{Code: code, Name: name, INN: inn, ContactPhone: phone, ContactEmail: email, TimeZone: zone}
		if err := c.Validate(); err != nil {
			if _, ok := apperr.As(err); !ok {
				t.Fatalf("an error without a kind: %v", err)
			}
			return
		}
		// What passes is what the database accepts.
		if !utf8.ValidString(c.Name) || c.Name == "" || utf8.RuneCountInString(c.Name) > tenant.MaxNameRunes ||
			(len(c.INN) != 10 && len(c.INN) != 12) || (c.ContactPhone != "" && c.ContactPhone[0] != '+') ||
			(c.ContactEmail != "" && !strings.Contains(c.ContactEmail, "@")) {
			t.Fatalf("accepted %+v", c)
		}
	})
}

func TestTokens(t *testing.T) {
	t.Parallel()
	a, ha := tenant.NewToken()
	b, _ := tenant.NewToken()
	if a == b || !tenant.ValidTokenShape(a) || string(ha) != string(tenant.HashToken(a)) || len(ha) != 32 {
		t.Fatal("tokens")
	}
	for _, bad := range []string{"", "abc", strings.Repeat("=", 43), a + "x", strings.Repeat("Ж", 22)} {
		if tenant.ValidTokenShape(bad) {
			t.Errorf("%q passes", bad)
		}
	}
	if tenant.CheckPassword("123456789") == nil || tenant.CheckPassword(strings.Repeat("x", 129)) == nil ||
		tenant.CheckPassword("ромашка-2026") != nil || tenant.CheckPassword("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff") == nil {
		t.Error("password rule")
	}
}

// The service's rules before any storage: who may do what.
func TestServiceRefusesBeforeStoring(t *testing.T) {
	t.Parallel()
	svc := tenant.NewService(nil, nil, tenant.Config{}) // a nil store: reaching it would panic
	ctx := context.Background()
	mgr := tenant.StaffCaller(access.Staff{UserID: 7, ClientID: 1, Role: access.ClientManager}, "")
	if _, err := svc.CreateClient(ctx, mgr, tenant.Client{}); !errors.Is(err, access.ErrForbidden) {
		t.Errorf("manager creates a client: %v", err)
	}
	if _, err := svc.Clients(ctx, mgr); !errors.Is(err, access.ErrForbidden) {
		t.Errorf("manager lists clients: %v", err)
	}
	if _, err := svc.Client(ctx, mgr, 2); !errors.Is(err, tenant.ErrClientNotFound) {
		t.Errorf("manager reads another client: %v", err)
	}
	if _, err := svc.UpdateClient(ctx, mgr, 2, tenant.ClientPatch{}); !errors.Is(err, tenant.ErrClientNotFound) {
		t.Errorf("manager edits another client: %v", err)
	}
	if _, err := svc.Invite(ctx, mgr, tenant.InviteRequest{ClientID: 2}); !errors.Is(err, tenant.ErrClientNotFound) {
		t.Errorf("manager invites into another client: %v", err)
	}
	mod := tenant.StaffCaller(access.Staff{UserID: 8, ClientID: 1, Role: access.Moderator}, "")
	if _, err := svc.Invite(ctx, mod, tenant.InviteRequest{ClientID: 1}); !errors.Is(err, access.ErrForbidden) {
		t.Errorf("moderator invites: %v", err)
	}
	if _, err := svc.Audit(ctx, mgr, tenant.AuditQuery{ClientID: 2}); !errors.Is(err, tenant.ErrClientNotFound) {
		t.Errorf("manager reads another client's audit log: %v", err)
	}
	if _, err := svc.Accept(ctx, "not a token", "", "long enough password", ""); !errors.Is(err, tenant.ErrInvitationInvalid) {
		t.Errorf("garbage token: %v", err)
	}
}
