package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/config"
	"github.com/loyaltyjam/loyaltyjam/internal/logging"
	"github.com/loyaltyjam/loyaltyjam/internal/photostore"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb"
	"github.com/loyaltyjam/loyaltyjam/internal/seed"
)

func init() {
	register(command{name: "seed", summary: "load the demo data set; --scale N adds N generated receipts for load tests", run: runSeed})
}

func runSeed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scale := fs.Int("scale", 0, "number of receipts to generate (0: only the demo data set)")
	months := fs.Int("months", 12, "months of history the receipts spread over")
	rnd := fs.Uint64("rand", 1, "random seed of the generator")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *scale < 0 || *months < 1 || *months > 60 {
		return fmt.Errorf("%w: --scale ≥ 0, 1 ≤ --months ≤ 60", errUsage)
	}
	// Like dev: a development tool that needs only DATABASE_URL, so the
	// development defaults fill in the rest.
	cfg, err := config.LoadFrom(func(k string) (string, bool) {
		if v, ok := os.LookupEnv(k); ok && v != "" {
			return v, true
		}
		if k == "REDIS_URL" { // not used by seed
			return "redis://127.0.0.1:6379/0", true
		}
		v, ok := devDefaults[k]
		return v, ok
	})
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	log := logging.New(stderr, cfg.LogLevel, cfg.LogFormat)
	if _, err := postgres.MigrateUp(ctx, cfg.DatabaseURL, log); err != nil {
		return err
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	now := time.Now().UTC()
	// The same call as dev: programs live now, whatever history --scale adds.
	photos, err := photostore.NewDir(cfg.PhotoDir)
	if err != nil {
		return err
	}
	if err := seed.Run(ctx, db, now, photos); err != nil {
		return err
	}
	if *scale == 0 {
		qrs, err := seed.FreshQRs(ctx, db, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "demo data set loaded; every demo login's password is %s\n", seed.DemoPassword)
		printDemoQRs(stdout, qrs)
		return nil
	}
	start := time.Now()
	g := &scaleGen{db: db, now: now, months: *months, rng: mrand.New(mrand.NewPCG(*rnd, 7)), out: stdout}
	if err := g.run(ctx, *scale); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "generated %d receipts, %d items, %d events, %d ledger transactions in %s; rebuilding rollups…\n",
		g.receipts, g.items, g.events, g.txs, time.Since(start).Round(time.Second))
	t := time.Now()
	if err := reportdb.Rebuild(ctx, db); err != nil {
		return err
	}
	if _, err := db.Exec(ctx, `ANALYZE`); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "rollups rebuilt in %s; total %s\n", time.Since(t).Round(time.Second), time.Since(start).Round(time.Second))
	return nil
}

// scaleGen generates a realistic data set straight into the tables with
// COPY: shops and participants per client, receipts with ~4 items (most
// matched to the client's SKUs, some lines of other goods), their events,
// and the ledger (program funding, one credit per credited receipt, some
// redemptions) with account balances equal to the sum of their postings.
type scaleGen struct {
	db     *pgxpool.Pool
	now    time.Time
	months int
	rng    *mrand.Rand
	out    io.Writer

	receipts, items, events, txs int
}

type genClient struct {
	id, program int64
	code        string
	share       float64
	skus        []genSKU
	shops       []int64
	parts       []genPart
	budget      int64 // program budget account id
	funding     int64 // funding account id
	redemption  int64
	credited    int64
	fnPrefix    string
}

type genSKU struct {
	id, weight, price int64
	name              string
}

type genPart struct {
	id, shop, account int64
	until             time.Time // stops uploading after this (churn)
	balance           int64
}

var (
	genChains  = []string{"Магнит", "Пятёрочка", "Перекрёсток", "Лента", "Ашан", "Автомир", "Колесо", "Exist", "Вкусвилл", "Дикси"}
	genRegions = []string{"Москва", "Московская область", "Санкт-Петербург", "Нижегородская область", "Краснодарский край",
		"Свердловская область", "Республика Татарстан", "Новосибирская область", "Ростовская область", "Самарская область",
		"Воронежская область", "Пермский край"}
	genOther = []string{"Пакет-майка", "Хлеб Бородинский 400г", "Вода питьевая 1,5л", "Сигареты", "Жевательная резинка",
		"Батарейки АА 2шт", "Салфетки влажные", "Кофе 3в1", "Энергетик 0,45", "Чипсы 80г", "Шоколад молочный 90г",
		"Перчатки х/б", "Скотч упаковочный", "Зажигалка", "Газета", "Молоко 3,2% 1л", "Ароматизатор Ёлочка",
		"Щётка стеклоочистителя", "Губка автомобильная", "Лампа H7"}
	genNames = []string{"Иван", "Мария", "Алексей", "Ольга", "Дмитрий", "Елена", "Сергей", "Анна", "Павел", "Наталья"}
	genLast  = []string{"Петров", "Соколова", "Смирнов", "Кузнецова", "Волков", "Морозова", "Новиков", "Попова", "Лебедев", "Козлова"}
)

func (g *scaleGen) run(ctx context.Context, n int) error {
	conn, err := g.db.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	// Bulk rows are consistent by construction; skipping per-row triggers
	// (the ledger's deferred balance check) makes the load minutes faster.
	// Needs superuser; without it the triggers just run.
	if _, err := conn.Exec(ctx, `SET session_replication_role = replica`); err != nil {
		fmt.Fprintln(g.out, "note: running with triggers:", err)
	}
	defer func() { _, _ = conn.Exec(context.Background(), `SET session_replication_role = DEFAULT`) }()
	clients, err := g.clients(ctx, conn.Conn())
	if err != nil {
		return err
	}
	for _, c := range clients {
		count := int(float64(n) * c.share)
		if err := g.people(ctx, conn.Conn(), c, count); err != nil {
			return err
		}
		for done := 0; done < count; {
			chunk := min(50000, count-done)
			if err := g.receiptChunk(ctx, conn.Conn(), c, chunk); err != nil {
				return err
			}
			done += chunk
			fmt.Fprintf(g.out, "  %s: %d/%d receipts\n", c.code, done, count)
		}
		if err := g.finishLedger(ctx, conn.Conn(), c); err != nil {
			return err
		}
	}
	return nil
}

func (g *scaleGen) clients(ctx context.Context, conn *pgx.Conn) ([]*genClient, error) {
	var out []*genClient
	shares := map[string]float64{"vetluga": 0.6, "krasnodol": 0.4}
	for _, code := range []string{"vetluga", "krasnodol"} {
		c := &genClient{code: code, share: shares[code]}
		if err := conn.QueryRow(ctx, `SELECT c.id, p.id FROM clients c JOIN programs p ON p.client_id = c.id WHERE c.code = $1
			ORDER BY p.id LIMIT 1`, code).Scan(&c.id, &c.program); err != nil {
			return nil, fmt.Errorf("demo client %s: %w", code, err)
		}
		c.fnPrefix = fmt.Sprintf("88%02d", c.id%100)
		rows, err := conn.Query(ctx, `SELECT id, margin_weight_bp, name FROM skus WHERE client_id = $1 ORDER BY id`, c.id)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var s genSKU
			if err := rows.Scan(&s.id, &s.weight, &s.name); err != nil {
				return nil, err
			}
			s.price = 10000 + g.rng.Int64N(150000)
			c.skus = append(c.skus, s)
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		var err2 error
		for _, kind := range []string{"program_budget", "funding", "redemption"} {
			prog := &c.program
			if kind != "program_budget" {
				prog = nil
			}
			var id int64
			err2 = conn.QueryRow(ctx, `INSERT INTO ledger_accounts (kind, client_id, program_id) VALUES ($1, $2, $3)
				ON CONFLICT (kind, client_id, program_id, participant_id) DO UPDATE SET kind = EXCLUDED.kind RETURNING id`,
				kind, c.id, prog).Scan(&id)
			if err2 != nil {
				return nil, err2
			}
			switch kind {
			case "program_budget":
				c.budget = id
			case "funding":
				c.funding = id
			default:
				c.redemption = id
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// people creates shops and participants in proportion to the receipts.
func (g *scaleGen) people(ctx context.Context, conn *pgx.Conn, c *genClient, receipts int) error {
	nShops := max(20, receipts/2000)
	nParts := max(50, receipts/50)
	tag := fmt.Sprintf("%d", time.Now().UnixNano()%1_000_000)
	var shopRows [][]any
	for i := range nShops {
		chain := genChains[g.rng.IntN(len(genChains))]
		region := genRegions[g.rng.IntN(len(genRegions))]
		shopRows = append(shopRows, []any{c.id, fmt.Sprintf("G%s-%05d", tag, i), fmt.Sprintf("%s №%d", chain, i+1), chain,
			fmt.Sprintf("%s, ул. Торговая, %d", region, i+1), region, []string{fmt.Sprintf("%016d", g.rng.Int64N(1e15))}})
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"shops"}, []string{"client_id", "code", "name", "chain", "address", "region", "kkt_reg_numbers"},
		pgx.CopyFromRows(shopRows)); err != nil {
		return fmt.Errorf("copy shops: %w", err)
	}
	rows, err := conn.Query(ctx, `SELECT id FROM shops WHERE client_id = $1 AND code LIKE $2 ORDER BY id`, c.id, "G"+tag+"-%")
	if err != nil {
		return err
	}
	if c.shops, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
		return err
	}
	roles := []string{"seller", "seller", "seller", "sales_rep", "merchandiser", "dealer"}
	base := 9_000_000_000 + c.id*100_000_000 + time.Now().UnixNano()%10_000*10_000
	var partRows [][]any
	for i := range nParts {
		partRows = append(partRows, []any{c.id, fmt.Sprintf("+7%d", base+int64(i)),
			genNames[g.rng.IntN(len(genNames))] + " " + genLast[g.rng.IntN(len(genLast))],
			roles[g.rng.IntN(len(roles))], c.shops[g.rng.IntN(len(c.shops))], "active",
			g.now.AddDate(0, -g.months, -g.rng.IntN(60))})
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"participants"}, []string{"client_id", "phone", "name", "role", "shop_id", "status", "created_at"},
		pgx.CopyFromRows(partRows)); err != nil {
		return fmt.Errorf("copy participants: %w", err)
	}
	rows, err = conn.Query(ctx, `SELECT id, shop_id FROM participants WHERE client_id = $1 AND phone >= $2 AND phone <= $3 ORDER BY id`,
		c.id, fmt.Sprintf("+7%d", base), fmt.Sprintf("+7%d", base+int64(nParts)))
	if err != nil {
		return err
	}
	for rows.Next() {
		var p genPart
		if err := rows.Scan(&p.id, &p.shop); err != nil {
			return err
		}
		p.until = g.now.AddDate(1, 0, 0)
		if g.rng.IntN(100) < 20 { // one in five stops some time during the history
			p.until = g.now.AddDate(0, -g.rng.IntN(g.months), 0)
		}
		c.parts = append(c.parts, p)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	var accRows [][]any
	for _, p := range c.parts {
		accRows = append(accRows, []any{"participant_available", c.id, c.program, p.id})
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"ledger_accounts"}, []string{"kind", "client_id", "program_id", "participant_id"},
		pgx.CopyFromRows(accRows)); err != nil {
		return fmt.Errorf("copy accounts: %w", err)
	}
	accs := map[int64]int64{}
	rows, err = conn.Query(ctx, `SELECT participant_id, id FROM ledger_accounts WHERE client_id = $1 AND kind = 'participant_available'
		AND participant_id = ANY($2)`, c.id, partIDs(c.parts))
	if err != nil {
		return err
	}
	for rows.Next() {
		var pid, aid int64
		if err := rows.Scan(&pid, &aid); err != nil {
			return err
		}
		accs[pid] = aid
	}
	for i := range c.parts {
		c.parts[i].account = accs[c.parts[i].id]
	}
	return rows.Err()
}

func partIDs(ps []genPart) []int64 {
	out := make([]int64, len(ps))
	for i, p := range ps {
		out[i] = p.id
	}
	return out
}

func uuid4(r *mrand.Rand) string {
	var b [16]byte
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// reserveIDs moves an identity sequence n values on and returns the first.
func reserveIDs(ctx context.Context, conn *pgx.Conn, table string, n int) (int64, error) {
	var last int64
	err := conn.QueryRow(ctx, `SELECT setval(pg_get_serial_sequence($1, 'id'),
		GREATEST((SELECT COALESCE(max(id), 0) FROM `+table+`), nextval(pg_get_serial_sequence($1, 'id'))) + $2)`, table, n).Scan(&last)
	return last - int64(n) + 1, err
}

var outcomes = []struct {
	status, reason string
	weight         int
}{
	{"credited", "points_credited", 80}, {"no_eligible_items", "no_eligible_items", 7}, {"rejected", "shop_mismatch", 4},
	{"needs_review", "anomaly_velocity", 2}, {"duplicate", "duplicate_claim", 3}, {"unreadable", "qr_not_found", 2},
	{"pending_ofd", "ofd_not_yet", 2},
}

func pickOutcome(r *mrand.Rand) (string, string) {
	x := r.IntN(100)
	for _, o := range outcomes {
		if x < o.weight {
			return o.status, o.reason
		}
		x -= o.weight
	}
	return "credited", "points_credited"
}

func (g *scaleGen) receiptChunk(ctx context.Context, conn *pgx.Conn, c *genClient, n int) error {
	span := g.now.Sub(g.now.AddDate(0, -g.months, 0))
	var recRows, itemRows, evRows, txRows, postRows [][]any
	firstTx, err := reserveIDs(ctx, conn, "ledger_transactions", n)
	if err != nil {
		return err
	}
	nextTx := firstTx
	for range n {
		id := uuid4(g.rng)
		// Later days are busier: the program grows.
		at := g.now.Add(-time.Duration(float64(span) * (1 - sqrt01(g.rng.Float64()))))
		var p *genPart
		for try := 0; try < 5; try++ {
			// A few participants upload most receipts.
			p = &c.parts[int(float64(len(c.parts))*pow15(g.rng.Float64()))]
			if at.Before(p.until) {
				break
			}
		}
		status, reason := pickOutcome(g.rng)
		created := at.Add(time.Duration(g.rng.IntN(48*3600)) * time.Second)
		purchased := time.Date(at.Year(), at.Month(), at.Day(), 8+g.rng.IntN(14), g.rng.IntN(60), g.rng.IntN(60), 0, time.UTC)
		g.receipts++
		var fn, fd, fp, op, sum, purch any
		if status != "unreadable" && status != "duplicate" {
			fn = fmt.Sprintf("%s%012d", c.fnPrefix, p.shop)
			fd, fp, op, purch = int64(g.receipts)+c.id*1e9, 1+g.rng.Int64N(4e9), 1, purchased
		}
		var items [][]any
		var total, points int64
		hasItems := status == "credited" || status == "no_eligible_items" || status == "rejected" || status == "needs_review"
		if hasItems {
			nItems := 1 + g.rng.IntN(7)
			for line := 1; line <= nItems; line++ {
				qtyM := int64(1+g.rng.IntN(3)) * 1000
				if g.rng.IntN(100) < 75 && status != "no_eligible_items" {
					s := c.skus[g.rng.IntN(len(c.skus))]
					lineSum := s.price * qtyM / 1000
					var pts int64
					var why string
					if status == "credited" {
						pts = qtyM * 10 * s.weight / 10000 // 10 points per unit × margin weight
						why = fmt.Sprintf("10 баллов за единицу × вес %d.%02d", s.weight/10000, s.weight%10000/100)
					}
					how := []string{"gtin", "alias", "name"}[g.rng.IntN(3)]
					items = append(items, []any{id, line, s.name, s.price, qtyM, lineSum, s.id, how, "", pts, why})
					total += lineSum
					points += pts
				} else {
					price := 3000 + g.rng.Int64N(30000)
					items = append(items, []any{id, line, genOther[g.rng.IntN(len(genOther))], price, qtyM, price * qtyM / 1000,
						nil, "none", "", int64(0), ""})
					total += price * qtyM / 1000
				}
			}
		} else {
			total = 5000 + g.rng.Int64N(300000)
		}
		if fn != nil {
			sum = total
		}
		var verified any
		if hasItems {
			verified = created.Add(time.Minute)
		}
		recRows = append(recRows, []any{id, c.id, p.id, c.program, p.shop, status, reason, "qr", fn, fd, fp, op, purch, sum,
			points, verified, created, created.Add(2 * time.Minute)})
		itemRows = append(itemRows, items...)
		g.items += len(items)
		actor := fmt.Sprintf("participant:%d", p.id)
		evRows = append(evRows, []any{id, created, nil, "received", actor, "uploaded_qr", "QR-код чека получен."})
		switch status {
		case "unreadable", "duplicate":
			evRows = append(evRows, []any{id, created.Add(time.Second), "received", status, "worker", reason, ""})
		case "pending_ofd":
			evRows = append(evRows, []any{id, created.Add(time.Second), "received", "queued", "worker", "enqueued", ""},
				[]any{id, created.Add(time.Minute), "queued", "pending_ofd", "worker", reason, ""})
		default:
			evRows = append(evRows, []any{id, created.Add(time.Second), "received", "queued", "worker", "enqueued", ""},
				[]any{id, created.Add(time.Minute), "queued", "verified", "worker", "ofd_verified", ""},
				[]any{id, created.Add(2 * time.Minute), "verified", status, "worker", reason, ""})
		}
		if status == "credited" && points > 0 {
			txID := nextTx
			nextTx++
			txRows = append(txRows, []any{txID, fmt.Sprintf("receipt:%s:v1", id), "receipt_credit", c.id, c.program, p.id, id,
				"", created.Add(2 * time.Minute), purchased})
			postRows = append(postRows, []any{txID, c.budget, -points}, []any{txID, p.account, points})
			p.balance += points
			c.credited += points
			g.txs++
		}
	}
	g.events += len(evRows)
	copies := []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"receipts", []string{"id", "client_id", "participant_id", "program_id", "shop_id", "status", "status_reason", "source",
			"fn", "fd", "fp", "operation", "purchased_at", "sum_kopecks", "points_kopecks", "verified_at", "created_at", "updated_at"}, recRows},
		{"receipt_items", []string{"receipt_id", "line_no", "name", "price_kopecks", "quantity_milli", "sum_kopecks", "sku_id",
			"match_how", "match_reason", "points_kopecks", "points_reason"}, itemRows},
		{"receipt_events", []string{"receipt_id", "at", "from_status", "to_status", "actor", "reason", "message"}, evRows},
	}
	for _, cp := range copies {
		if _, err := conn.CopyFrom(ctx, pgx.Identifier{cp.table}, cp.cols, pgx.CopyFromRows(cp.rows)); err != nil {
			return fmt.Errorf("copy %s: %w", cp.table, err)
		}
	}
	return g.copyLedger(ctx, conn, txRows, postRows)
}

// copyLedger writes transactions with reserved ids (identity columns take
// explicit values only through INSERT … OVERRIDING SYSTEM VALUE) and their
// postings.
func (g *scaleGen) copyLedger(ctx context.Context, conn *pgx.Conn, txRows, postRows [][]any) error {
	if len(txRows) == 0 {
		return nil
	}
	if _, err := conn.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS seed_tx (LIKE ledger_transactions) ON COMMIT PRESERVE ROWS;
		TRUNCATE seed_tx`); err != nil {
		return err
	}
	cols := []string{"id", "idempotency_key", "kind", "client_id", "program_id", "participant_id", "receipt_id", "memo", "created_at", "occurred_on"}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"seed_tx"}, cols, pgx.CopyFromRows(txRows)); err != nil {
		return fmt.Errorf("copy transactions: %w", err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO ledger_transactions (id, idempotency_key, kind, client_id, program_id, participant_id,
		receipt_id, memo, created_at, occurred_on) OVERRIDING SYSTEM VALUE
		SELECT id, idempotency_key, kind, client_id, program_id, participant_id, receipt_id, memo, created_at, occurred_on FROM seed_tx`); err != nil {
		return fmt.Errorf("insert transactions: %w", err)
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"ledger_postings"}, []string{"transaction_id", "account_id", "amount_kopecks"},
		pgx.CopyFromRows(postRows)); err != nil {
		return fmt.Errorf("copy postings: %w", err)
	}
	return nil
}

// finishLedger funds the program with its spend plus a reserve, lets some
// participants redeem part of their points, and stores every balance.
func (g *scaleGen) finishLedger(ctx context.Context, conn *pgx.Conn, c *genClient) error {
	budget := c.credited + c.credited/4 + 100_000_00
	var txRows, postRows [][]any
	n := 1
	for i := range c.parts {
		if c.parts[i].balance > 0 && g.rng.IntN(100) < 40 {
			n++
		}
	}
	first, err := reserveIDs(ctx, conn, "ledger_transactions", n)
	if err != nil {
		return err
	}
	txRows = append(txRows, []any{first, fmt.Sprintf("seed:funding:%d:%d", c.program, first), "program_funding", c.id, c.program, nil, nil,
		"Пополнение бюджета программы", g.now.AddDate(0, -g.months, 0), nil})
	postRows = append(postRows, []any{first, c.funding, -budget}, []any{first, c.budget, budget})
	next := first + 1
	var redeemed int64
	for i := range c.parts {
		p := &c.parts[i]
		if p.balance <= 0 || next >= first+int64(n) {
			continue
		}
		amount := p.balance / 2
		if amount == 0 {
			continue
		}
		txRows = append(txRows, []any{next, fmt.Sprintf("seed:redeem:%d", next), "redemption", c.id, c.program, p.id, nil,
			"Обмен баллов на приз", g.now.Add(-time.Duration(g.rng.IntN(30*24)) * time.Hour), nil})
		postRows = append(postRows, []any{next, p.account, -amount}, []any{next, c.redemption, amount})
		p.balance -= amount
		redeemed += amount
		next++
		g.txs++
	}
	if err := g.copyLedger(ctx, conn, txRows, postRows); err != nil {
		return err
	}
	batch := &pgx.Batch{}
	batch.Queue(`UPDATE programs SET budget_kopecks = $2 WHERE id = $1`, c.program, budget)
	batch.Queue(`UPDATE ledger_accounts SET balance_kopecks = balance_kopecks + $2 WHERE id = $1`, c.budget, budget-c.credited)
	batch.Queue(`UPDATE ledger_accounts SET balance_kopecks = balance_kopecks - $2 WHERE id = $1`, c.funding, budget)
	batch.Queue(`UPDATE ledger_accounts SET balance_kopecks = balance_kopecks + $2 WHERE id = $1`, c.redemption, redeemed)
	ids, bals := make([]int64, 0, len(c.parts)), make([]int64, 0, len(c.parts))
	for _, p := range c.parts {
		ids, bals = append(ids, p.account), append(bals, p.balance)
	}
	batch.Queue(`UPDATE ledger_accounts a SET balance_kopecks = a.balance_kopecks + u.b FROM unnest($1::bigint[], $2::bigint[]) u(id, b) WHERE a.id = u.id`, ids, bals)
	return conn.SendBatch(ctx, batch).Close()
}

func sqrt01(x float64) float64 { return math.Sqrt(x) }

func pow15(x float64) float64 { return x * math.Sqrt(x) }
