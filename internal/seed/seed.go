// Package seed loads the demo data set that `loyaltyjam dev` (make run) and
// `loyaltyjam seed` start with: two manufacturers, a live program each with
// a budget, shops with the fiscal details the OFD simulator knows,
// participants and dashboard users with known passwords, the SKU catalogs
// (Demo), and a month of activity made through the product's own pipeline
// (Activity). Seeding is idempotent: running it again changes nothing.
package seed

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/catalog"
	"github.com/loyaltyjam/loyaltyjam/internal/password"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/catalogdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pointsdb"
	"github.com/loyaltyjam/loyaltyjam/internal/rules"
)

//go:embed demo/catalog.csv
var catalogCSV []byte

// DemoPassword is the password of every demo participant and dashboard user.
const DemoPassword = "demo12345"

// Client is a demo manufacturer.
type Client struct {
	Code, Name, INN          string
	ProgramCode, ProgramName string
	BudgetKopecks            int64
}

// Shop is a demo shop. FN is the fiscal drive of its cash register: receipts
// with this fn come, in the OFD simulator, from this shop.
type Shop struct {
	Client, Code, Name, Chain, INN, Address, Region, KKT, FN, Kind string
	Lat, Lon                                                       float64
}

// Participant is a demo participant; Login signs in with DemoPassword.
type Participant struct {
	Client, Phone, Login, Name, Role, Shop string
}

// User is a demo dashboard user.
type User struct {
	Client, Email, Name, Role string
}

// The demo data set.
var (
	Clients = []Client{
		{Code: "vetluga", Name: "ООО «Ветлужский завод автохимии»", INN: "5258012345",
			ProgramCode: "zima-2026", ProgramName: "Зимний сезон автохимии 2026", BudgetKopecks: 50_000_000},
		{Code: "krasnodol", Name: "АО «Краснодольский консервный комбинат»", INN: "2310054321",
			ProgramCode: "osen-2026", ProgramName: "Осенний урожай Краснодолья", BudgetKopecks: 30_000_000},
	}
	Shops = []Shop{
		{Client: "vetluga", Code: "AUTO-001", Name: "Автомир на Ленина", Chain: "Автомир", INN: "5260123456",
			Address: "603000, Нижний Новгород, ул. Ленина, 12", Region: "Нижегородская область",
			KKT: "0004567890012345", FN: "7281440500000101", Kind: "auto", Lat: 56.3269, Lon: 44.0059},
		{Client: "vetluga", Code: "AUTO-002", Name: "Колесо на Московском", Chain: "Колесо", INN: "5260987654",
			Address: "603116, Нижний Новгород, Московское ш., 52", Region: "Нижегородская область",
			KKT: "0004567890054321", FN: "7281440500000102", Kind: "auto", Lat: 56.3217, Lon: 43.9456},
		{Client: "krasnodol", Code: "GROC-001", Name: "Магнит у дома", Chain: "Магнит", INN: "2309085638",
			Address: "350000, Краснодар, ул. Красная, 101", Region: "Краснодарский край",
			KKT: "0003210987012345", FN: "7281440500000201", Kind: "grocery", Lat: 45.0355, Lon: 38.9753},
		{Client: "krasnodol", Code: "GROC-002", Name: "Пятёрочка на Северной", Chain: "Пятёрочка", INN: "7825706086",
			Address: "350063, Краснодар, ул. Северная, 320", Region: "Краснодарский край",
			KKT: "0003210987054321", FN: "7281440500000202", Kind: "grocery", Lat: 45.0448, Lon: 38.9760},
	}
	Participants = []Participant{
		{Client: "vetluga", Phone: "+79990000001", Login: "seller1", Name: "Иван Петров", Role: "seller", Shop: "AUTO-001"},
		{Client: "vetluga", Phone: "+79990000002", Login: "seller2", Name: "Мария Соколова", Role: "seller", Shop: "AUTO-002"},
		{Client: "vetluga", Phone: "+79990000003", Login: "merch1", Name: "Алексей Смирнов", Role: "merchandiser", Shop: "AUTO-001"},
		{Client: "krasnodol", Phone: "+79990000011", Login: "seller11", Name: "Ольга Кузнецова", Role: "seller", Shop: "GROC-001"},
		{Client: "krasnodol", Phone: "+79990000012", Login: "seller12", Name: "Дмитрий Волков", Role: "seller", Shop: "GROC-002"},
		{Client: "krasnodol", Phone: "+79990000013", Login: "rep11", Name: "Елена Морозова", Role: "sales_rep", Shop: "GROC-001"},
	}
	Users = []User{
		{Client: "vetluga", Email: "manager@vetluga.demo", Name: "Менеджер Ветлуги", Role: "client_manager"},
		{Client: "vetluga", Email: "moderator@vetluga.demo", Name: "Модератор Ветлуги", Role: "moderator"},
		{Client: "krasnodol", Email: "manager@krasnodol.demo", Name: "Менеджер Краснодолья", Role: "client_manager"},
		{Client: "", Email: "operator@loyaltyjam.demo", Name: "Оператор платформы", Role: "operator"},
	}
)

// DemoRules are the rules of every demo program: 5 % of each program SKU's
// line sum times its margin weight, 50 points for three distinct program
// SKUs in one receipt, at most 500 points a receipt and 2 000 a day.
var DemoRules = rules.Rules{
	Earn:    []rules.Earn{{PercentBP: 500}},
	Bonuses: []rules.Bonus{{Name: "Три разных товара программы в одном чеке", MinDistinctSKUs: 3, Kopecks: 5_000}},
	Caps:    rules.Caps{PerReceipt: 50_000, ParticipantDay: 200_000},
}

// ProgramDates are the dates of the demo programs seeded at now: from the
// first day of the previous month (so a month of history fits inside) to
// the last day of the twelve months starting with now's, so a program
// seeded today is live today and for the next eleven months at least.
func ProgramDates(now time.Time) (start, end time.Time) {
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	return first.AddDate(0, -1, 0), first.AddDate(1, 0, -1)
}

// Demo loads the demo data set into db; `seed` and `dev` both call it with
// the current time. now sets the program dates (ProgramDates); a demo
// program that has ended by now (a database seeded long ago) gets its end
// moved to ProgramDates's, so the demo keeps accepting receipts.
func Demo(ctx context.Context, db *pgxpool.Pool, now time.Time) error {
	skus, rowErrs, err := catalog.ParseCSV(bytes.NewReader(catalogCSV))
	if err != nil {
		return fmt.Errorf("demo catalog: %v %v", err, rowErrs)
	}
	hash, err := password.Hash(DemoPassword)
	if err != nil {
		return err
	}
	start, end := ProgramDates(now)
	err = postgres.WithTx(ctx, db, func(tx pgx.Tx) error {
		for _, c := range Clients {
			if _, err := tx.Exec(ctx, `INSERT INTO clients (code, name, inn) VALUES ($1, $2, $3)
				ON CONFLICT (code) DO NOTHING`, c.Code, c.Name, c.INN); err != nil {
				return fmt.Errorf("client %s: %w", c.Code, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO programs (client_id, code, name, status, starts_on, ends_on, budget_kopecks)
				SELECT id, $2, $3, 'live', $4, $5, $6 FROM clients WHERE code = $1
				ON CONFLICT (client_id, code) DO UPDATE SET ends_on = EXCLUDED.ends_on
				WHERE programs.ends_on < $7::date AND programs.status = 'live'`,
				c.Code, c.ProgramCode, c.ProgramName, start, end, c.BudgetKopecks, now); err != nil {
				return fmt.Errorf("program %s: %w", c.ProgramCode, err)
			}
		}
		for _, s := range Shops {
			if _, err := tx.Exec(ctx, `INSERT INTO shops (client_id, code, name, chain, inn, address, region, kkt_reg_numbers, lat, lon)
				SELECT id, $2, $3, $4, $5, $6, $7, ARRAY[$8], $9, $10 FROM clients WHERE code = $1
				ON CONFLICT (client_id, code) DO NOTHING`,
				s.Client, s.Code, s.Name, s.Chain, s.INN, s.Address, s.Region, s.KKT, s.Lat, s.Lon); err != nil {
				return fmt.Errorf("shop %s: %w", s.Code, err)
			}
		}
		for _, p := range Participants {
			if _, err := tx.Exec(ctx, `INSERT INTO participants (client_id, phone, login, name, role, shop_id, status, password_hash)
				SELECT c.id, $2, $3, $4, $5, s.id, 'active', $7 FROM clients c JOIN shops s ON s.client_id = c.id AND s.code = $6
				WHERE c.code = $1 ON CONFLICT (client_id, phone) DO NOTHING`,
				p.Client, p.Phone, p.Login, p.Name, p.Role, p.Shop, hash); err != nil {
				return fmt.Errorf("participant %s: %w", p.Login, err)
			}
		}
		for _, u := range Users {
			if _, err := tx.Exec(ctx, `INSERT INTO dashboard_users (client_id, email, name, role, password_hash)
				SELECT (SELECT id FROM clients WHERE code = $1), $2, $3, $4, $5
				WHERE NOT EXISTS (SELECT 1 FROM dashboard_users WHERE lower(email) = lower($2))`,
				u.Client, u.Email, u.Name, u.Role, hash); err != nil {
				return fmt.Errorf("user %s: %w", u.Email, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	cat := catalogdb.New(db)
	for _, c := range Clients {
		var own []catalog.SKU
		for _, s := range skus {
			if s.Client == c.Code {
				own = append(own, s)
			}
		}
		if _, err := cat.Import(ctx, c.Code, own); err != nil {
			return fmt.Errorf("catalog %s: %w", c.Code, err)
		}
	}
	// Rules and budgets: a program gets the demo rules once, and its budget
	// account is funded up to programs.budget_kopecks.
	return postgres.WithTx(ctx, db, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT p.id, NOT EXISTS (SELECT 1 FROM program_rules r WHERE r.program_id = p.id)
			FROM programs p JOIN clients c ON c.id = p.client_id WHERE c.code = ANY($1)`, clientCodes())
		if err != nil {
			return err
		}
		type prog struct {
			ID      int64
			NoRules bool
		}
		progs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (prog, error) {
			var p prog
			err := row.Scan(&p.ID, &p.NoRules)
			return p, err
		})
		if err != nil {
			return err
		}
		for _, p := range progs {
			if p.NoRules {
				if _, err := pointsdb.SaveRules(ctx, tx, p.ID, start, DemoRules); err != nil {
					return fmt.Errorf("program %d rules: %w", p.ID, err)
				}
			}
			if _, err := ledgerdb.SyncBudget(ctx, tx, p.ID); err != nil {
				return fmt.Errorf("program %d budget: %w", p.ID, err)
			}
		}
		return nil
	})
}

func clientCodes() []string {
	codes := make([]string, len(Clients))
	for i, c := range Clients {
		codes[i] = c.Code
	}
	return codes
}
