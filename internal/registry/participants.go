package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/loyaltyjam/loyaltyjam/internal/phone"
	"net/mail"
	"strings"
)

// Participant roles (participants.role).
var roleAliases = map[string]string{
	"seller": "seller", "продавец": "seller", "продавец-консультант": "seller", "продавец консультант": "seller",
	"sales_rep": "sales_rep", "sales rep": "sales_rep", "торговый представитель": "sales_rep", "тп": "sales_rep",
	"merchandiser": "merchandiser", "мерчендайзер": "merchandiser", "мерчандайзер": "merchandiser",
	"dealer": "dealer", "дилер": "dealer",
	"manager": "manager", "менеджер": "manager", "руководитель": "manager",
}

var participantColumns = map[string][]string{
	"phone":        {"телефон", "номер телефона", "мобильный телефон", "phone number", "мобильный"},
	"name":         {"фио", "имя", "ф и о", "участник", "full name"},
	"email":        {"e mail", "эл почта", "электронная почта", "почта", "mail"},
	"role":         {"роль", "должность"},
	"shop_code":    {"код точки", "код магазина", "код тт", "shop", "точка"},
	"shop_inn":     {"инн", "инн точки", "инн магазина", "inn"},
	"shop_address": {"адрес", "адрес точки", "адрес магазина", "address"},
	"shop_name":    {"название точки", "магазин", "название магазина", "торговая точка"},
	"region":       {"регион", "область", "город"},
}

// Action is what applying a participant row does.
type Action string

// Actions of participant rows.
const (
	ActionCreate    Action = "create"
	ActionUpdate    Action = "update"
	ActionUnchanged Action = "unchanged"
)

// ExistingParticipant is what validation needs about a participant already
// registered for the client.
type ExistingParticipant struct {
	ID     int64
	Phone  string
	Name   string
	Email  string
	Role   string
	Region string
	ShopID int64
	Status string
}

// Shop is a client's shop, for matching registry rows.
type Shop struct {
	ID      int64
	Code    string
	INN     string
	Address string
}

// ParticipantRow is one valid row of a participant registry.
type ParticipantRow struct {
	Line   int    `json:"line"`
	Phone  string `json:"phone"`
	Name   string `json:"name"`
	Email  string `json:"email,omitempty"`
	Role   string `json:"role"`
	Region string `json:"region,omitempty"`
	// ShopID is the matched shop; 0 with ShopCode set means a shop to
	// create (UnknownShops = create); 0 without ShopCode means no shop.
	ShopID      int64  `json:"shop_id,omitempty"`
	ShopCode    string `json:"shop_code,omitempty"`
	ShopINN     string `json:"shop_inn,omitempty"`
	ShopAddress string `json:"shop_address,omitempty"`
	ShopName    string `json:"shop_name,omitempty"`
	Action      Action `json:"action"`
	// ParticipantID is the existing participant for updates.
	ParticipantID int64 `json:"participant_id,omitempty"`
}

// Unknown-shop policies (the client's choice per upload).
const (
	UnknownShopsReport = "report" // a row with an unknown shop is an error
	UnknownShopsCreate = "create" // the shop is created with the registry
)

// ParticipantPreview summarises what applying a participant registry does.
type ParticipantPreview struct {
	Rows        int `json:"rows"`
	New         int `json:"new"`
	Updated     int `json:"updated"`
	Unchanged   int `json:"unchanged"`
	NewShops    int `json:"new_shops"`
	Invitations int `json:"invitations"`
}

// NormalizeAddress folds an address for matching shops by ИНН + address:
// case, ё/е, punctuation and the usual abbreviations' dots are ignored.
func NormalizeAddress(a string) string {
	a = strings.ToLower(strings.ReplaceAll(strings.ReplaceAll(a, "ё", "е"), "Ё", "Е"))
	return strings.Join(strings.FieldsFunc(a, func(r rune) bool {
		return r == ' ' || r == ',' || r == '.' || r == '\u00a0' || r == ';' || r == '"' || r == '«' || r == '»'
	}), " ")
}

// ShopCodeFor is the code of a shop created from a row that names it by
// ИНН + address only: stable, so the same file creates the same shop once.
func ShopCodeFor(inn, address string) string {
	h := sha256.Sum256([]byte(NormalizeAddress(address)))
	return "inn" + inn + "-" + hex.EncodeToString(h[:4])
}

func validINN(s string) bool { return (len(s) == 10 || len(s) == 12) && digitsOnly(s) }

// ParseParticipants validates a participant registry against the client's
// participants (by phone) and shops. Required: phone, name, role; a shop is
// optional and matched by code, else by ИНН + address. It returns the valid
// rows with their action, a preview, and every row error; the registry may
// be applied only when there are none.
func ParseParticipants(t Table, existing map[string]ExistingParticipant, shops []Shop, unknownShops string, inviteChannels int) ([]ParticipantRow, ParticipantPreview, []RowError) {
	col, errs := columns(t.Header, participantColumns)
	errs = append(errs, missingColumns(t, col, "phone", "name", "role")...)
	if len(errs) > 0 {
		return nil, ParticipantPreview{}, errs
	}
	byCode := map[string]Shop{}
	byAddr := map[string]Shop{}
	for _, s := range shops {
		byCode[strings.ToLower(s.Code)] = s
		if s.INN != "" {
			byAddr[s.INN+"|"+NormalizeAddress(s.Address)] = s
		}
	}
	var (
		out      []ParticipantRow
		p        ParticipantPreview
		seen     = map[string]int{}
		newShops = map[string]bool{}
	)
	for _, r := range t.Rows {
		bad := func(column, code, format string, args ...any) {
			errs = append(errs, RowError{Line: r.Line, Column: column, Code: code, Reason: fmt.Sprintf(format, args...)})
		}
		nerr := len(errs)
		var row ParticipantRow
		row.Line = r.Line
		rawPhone, _ := cell(r, col, "phone")
		switch phone, err := phone.Normalize(rawPhone); {
		case rawPhone == "":
			bad("phone", "required", "не указан телефон")
		case err != nil:
			bad("phone", "bad_phone", "%q не похож на номер телефона (пример: +7 999 123-45-67)", rawPhone)
		default:
			if first, dup := seen[phone]; dup {
				bad("phone", "duplicate_in_file", "этот телефон уже есть в строке %d", first)
			} else {
				seen[phone] = r.Line
			}
			row.Phone = phone
		}
		row.Name, _ = cell(r, col, "name")
		if row.Name == "" {
			bad("name", "required", "не указаны ФИО")
		} else if len([]rune(row.Name)) > 200 {
			bad("name", "too_long", "ФИО длиннее 200 символов")
		}
		if e, _ := cell(r, col, "email"); e != "" {
			a, err := mail.ParseAddress(e)
			if err != nil || a.Address != e || !strings.Contains(e[strings.LastIndex(e, "@")+1:], ".") {
				bad("email", "bad_email", "%q не похож на адрес e-mail", e)
			} else {
				row.Email = strings.ToLower(e)
			}
		}
		rawRole, _ := cell(r, col, "role")
		if rawRole == "" {
			bad("role", "required", "не указана роль (продавец, торговый представитель, мерчендайзер, дилер, менеджер)")
		} else if role, ok := roleAliases[strings.ToLower(normHeader(rawRole))]; ok {
			row.Role = role
		} else if role, ok := roleAliases[strings.ToLower(rawRole)]; ok {
			row.Role = role
		} else {
			bad("role", "bad_role", "неизвестная роль %q (продавец, торговый представитель, мерчендайзер, дилер, менеджер)", rawRole)
		}
		row.Region, _ = cell(r, col, "region")
		code, _ := cell(r, col, "shop_code")
		inn, _ := cell(r, col, "shop_inn")
		addr, _ := cell(r, col, "shop_address")
		row.ShopName, _ = cell(r, col, "shop_name")
		if inn != "" && !validINN(inn) {
			bad("shop_inn", "bad_inn", "ИНН %q должен состоять из 10 или 12 цифр", inn)
		}
		switch {
		case code != "":
			if s, ok := byCode[strings.ToLower(code)]; ok {
				row.ShopID = s.ID
			} else if unknownShops == UnknownShopsCreate {
				row.ShopCode, row.ShopINN, row.ShopAddress = code, inn, addr
			} else {
				bad("shop_code", "unknown_shop", "точка с кодом %q не найдена", code)
			}
		case inn != "" && addr != "":
			if s, ok := byAddr[inn+"|"+NormalizeAddress(addr)]; ok {
				row.ShopID = s.ID
			} else if unknownShops == UnknownShopsCreate {
				row.ShopCode, row.ShopINN, row.ShopAddress = ShopCodeFor(inn, addr), inn, addr
			} else {
				bad("shop_address", "unknown_shop", "точка с ИНН %s и адресом %q не найдена", inn, addr)
			}
		case inn != "" || addr != "":
			bad("shop_address", "incomplete_shop", "для поиска точки нужны и ИНН, и адрес (или код точки)")
		}
		if len(errs) > nerr {
			continue
		}
		if row.ShopID == 0 && row.ShopCode != "" && !newShops[strings.ToLower(row.ShopCode)] {
			newShops[strings.ToLower(row.ShopCode)] = true
			p.NewShops++
		}
		if ex, ok := existing[row.Phone]; ok {
			row.ParticipantID = ex.ID
			if participantChanged(ex, row) {
				row.Action = ActionUpdate
				p.Updated++
			} else {
				row.Action = ActionUnchanged
				p.Unchanged++
			}
		} else {
			row.Action = ActionCreate
			p.New++
			if inviteChannels > 0 {
				p.Invitations++
			}
		}
		out = append(out, row)
	}
	p.Rows = len(t.Rows)
	if len(errs) > 0 {
		return nil, p, errs
	}
	return out, p, nil
}

// participantChanged reports whether applying row changes ex. Empty
// optional cells keep what is stored: a registry without an e-mail column
// does not erase e-mails.
func participantChanged(ex ExistingParticipant, row ParticipantRow) bool {
	return ex.Name != row.Name || ex.Role != row.Role ||
		(row.Email != "" && ex.Email != row.Email) ||
		(row.Region != "" && ex.Region != row.Region) ||
		(row.ShopCode != "") || (row.ShopID != 0 && ex.ShopID != row.ShopID)
}
