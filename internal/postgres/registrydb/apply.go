package registrydb

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/notify"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/notifydb"
	"github.com/loyaltyjam/loyaltyjam/internal/registry"
)

// Ledger transaction kinds of registries.
const (
	KindRegistryCredit = ledger.KindRegistryCredit // budget → participant
	KindRegistryDebit  = ledger.KindRegistryDebit  // participant → budget, a corrected registry
)

// ApplyParticipants applies a participant upload in one transaction: it
// creates the shops the client chose to create, inserts new participants,
// updates changed ones (empty cells keep stored values), queues invitations
// of the new ones and marks the upload applied. Applying an applied upload
// returns its result; a participant that appeared since validation is
// updated instead of created.
func (s *Store) ApplyParticipants(ctx context.Context, id int64) (registry.Result, error) {
	var res registry.Result
	err := postgres.WithTx(ctx, s.db, func(tx pgx.Tx) error {
		res = registry.Result{}
		u, err := lockUploadTx(ctx, tx, id)
		if err != nil {
			return err
		}
		if u.Status == registry.StatusApplied && u.Result != nil {
			res = *u.Result
			return nil
		}
		if u.Status != registry.StatusProcessing || u.Kind != registry.KindParticipants {
			return fmt.Errorf("%w: upload %d is %s %s", registry.ErrPermanent, id, u.Kind, u.Status)
		}
		rows, err := tx.Query(ctx, `SELECT line, phone, name, email, role, region, COALESCE(shop_id, 0),
			shop_code, shop_inn, shop_address, shop_name FROM registry_participant_rows WHERE upload_id = $1 ORDER BY line`, id)
		if err != nil {
			return err
		}
		prs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (registry.ParticipantRow, error) {
			var p registry.ParticipantRow
			return p, r.Scan(&p.Line, &p.Phone, &p.Name, &p.Email, &p.Role, &p.Region, &p.ShopID,
				&p.ShopCode, &p.ShopINN, &p.ShopAddress, &p.ShopName)
		})
		if err != nil {
			return err
		}
		// Shops to create, once per code.
		shopIDs := map[string]int64{}
		for _, p := range prs {
			if p.ShopID != 0 || p.ShopCode == "" {
				continue
			}
			if _, ok := shopIDs[p.ShopCode]; ok {
				continue
			}
			name := p.ShopName
			if name == "" {
				name = p.ShopAddress
			}
			if name == "" {
				name = p.ShopCode
			}
			var sid int64
			err := tx.QueryRow(ctx, `INSERT INTO shops (client_id, code, name, inn, address, region)
				VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (client_id, code) DO NOTHING RETURNING id`,
				u.ClientID, p.ShopCode, name, nullText(p.ShopINN), p.ShopAddress, p.Region).Scan(&sid)
			if errors.Is(err, pgx.ErrNoRows) {
				err = tx.QueryRow(ctx, `SELECT id FROM shops WHERE client_id = $1 AND code = $2`, u.ClientID, p.ShopCode).Scan(&sid)
			} else if err == nil {
				res.ShopsAdded++
			}
			if err != nil {
				return fmt.Errorf("registrydb: shop %d: %w", p.Line, err)
			}
			shopIDs[p.ShopCode] = sid
		}
		b := &pgx.Batch{}
		for _, p := range prs {
			shop := p.ShopID
			if shop == 0 && p.ShopCode != "" {
				shop = shopIDs[p.ShopCode]
			}
			// xmax = 0 tells an inserted row from an updated one; the WHERE
			// makes an identical row a no-op that returns nothing.
			b.Queue(`INSERT INTO participants AS p (client_id, phone, name, email, role, region, shop_id)
				VALUES ($1, $2, $3, $4, $5, $6, $7)
				ON CONFLICT (client_id, phone) DO UPDATE SET
				    name = EXCLUDED.name, role = EXCLUDED.role,
				    email = COALESCE(EXCLUDED.email, p.email),
				    region = CASE WHEN EXCLUDED.region = '' THEN p.region ELSE EXCLUDED.region END,
				    shop_id = COALESCE(EXCLUDED.shop_id, p.shop_id)
				WHERE (p.name, p.role, p.email, p.region, p.shop_id) IS DISTINCT FROM
				      (EXCLUDED.name, EXCLUDED.role, COALESCE(EXCLUDED.email, p.email),
				       CASE WHEN EXCLUDED.region = '' THEN p.region ELSE EXCLUDED.region END,
				       COALESCE(EXCLUDED.shop_id, p.shop_id))
				RETURNING id, (xmax = 0)`,
				u.ClientID, p.Phone, p.Name, nullText(p.Email), p.Role, p.Region, nullID(shop))
		}
		br := tx.SendBatch(ctx, b)
		ids := make([]int64, len(prs))
		created := make([]bool, len(prs))
		for i := range prs {
			err := br.QueryRow().Scan(&ids[i], &created[i])
			switch {
			case errors.Is(err, pgx.ErrNoRows):
				res.Unchanged++
			case err != nil:
				br.Close()
				return fmt.Errorf("registrydb: participant on line %d: %w", prs[i].Line, err)
			case created[i]:
				res.Created++
			default:
				res.Updated++
			}
		}
		if err := br.Close(); err != nil {
			return err
		}
		// Unchanged rows returned nothing; look their ids up for the report.
		var newIDs, newHasEmail []int64
		var lines []int32
		var rowIDs []int64
		for i, p := range prs {
			if ids[i] == 0 {
				if err := tx.QueryRow(ctx, `SELECT id FROM participants WHERE client_id = $1 AND phone = $2`,
					u.ClientID, p.Phone).Scan(&ids[i]); err != nil {
					return err
				}
			}
			lines, rowIDs = append(lines, int32(p.Line)), append(rowIDs, ids[i])
			if created[i] {
				newIDs = append(newIDs, ids[i])
				if p.Email != "" {
					newHasEmail = append(newHasEmail, ids[i])
				}
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE registry_participant_rows r SET participant_id = u.pid
			FROM unnest($2::int[], $3::bigint[]) AS u(line, pid) WHERE r.upload_id = $1 AND r.line = u.line`,
			id, lines, rowIDs); err != nil {
			return err
		}
		for _, ch := range u.Options.Invite {
			targets := newIDs
			if ch == registry.ChannelEmail {
				targets = newHasEmail
			}
			tag, err := tx.Exec(ctx, `INSERT INTO registry_invitations (upload_id, participant_id, channel, method)
				SELECT $1, pid, $2, $3 FROM unnest($4::bigint[]) AS pid
				ON CONFLICT ON CONSTRAINT registry_invitations_round_key DO NOTHING`,
				id, ch, u.Options.InviteMethod, targets)
			if err != nil {
				return fmt.Errorf("registrydb: invitations: %w", err)
			}
			res.Invitations += int(tag.RowsAffected())
		}
		return finish(ctx, tx, id, res, len(prs))
	})
	return res, err
}

type target struct {
	participantID int64
	amount        int64 // what the participant gets for the period
	credited      int64 // what registries paid so far
	version       int
	comment       string
}

// ApplyPoints posts a points upload in one transaction. It locks the
// program budget (serialising every credit of the program, so the check
// below stays true while it runs), reads what earlier registries of the
// period paid, and computes per participant the difference to post — a
// participant paid before and absent now goes to zero. Debits that would
// overdraw a participant (the points were spent) are left out and
// reported. If the remaining credits exceed the budget it returns
// registry.ErrBudget before posting anything. Otherwise it posts debits,
// then credits, each as its own ledger transaction under
// registry.LineKey, updates the period balances and marks the upload
// applied; progress is published every BatchSize lines. Maker-checker is
// decided again here, under the client's credits lock and the budget lock
// (see needsSecondPerson): an upload that needs a second person and was
// confirmed by its uploader goes back to validated and
// registry.ErrAwaitsSecondApproval is returned, nothing posted.
func (s *Store) ApplyPoints(ctx context.Context, id int64) (registry.Result, error) {
	var (
		res    registry.Result
		awaits bool
	)
	progress := s.startProgress(context.WithoutCancel(ctx), id)
	defer progress.stop()
	err := postgres.WithTx(ctx, s.db, func(tx pgx.Tx) error {
		res, awaits = registry.Result{}, false
		u, err := lockUploadTx(ctx, tx, id)
		if err != nil {
			return err
		}
		if u.Status == registry.StatusApplied && u.Result != nil {
			res = *u.Result
			return nil
		}
		if u.Status != registry.StatusProcessing || u.Kind != registry.KindPoints {
			return fmt.Errorf("%w: upload %d is %s %s", registry.ErrPermanent, id, u.Kind, u.Status)
		}
		occurred, err := registry.ParsePeriod(u.Period)
		if err != nil {
			return fmt.Errorf("%w: upload %d period %q", registry.ErrPermanent, id, u.Period)
		}
		var crediting string
		if err := tx.QueryRow(ctx, `SELECT crediting FROM programs WHERE id = $1`, u.ProgramID).Scan(&crediting); err != nil {
			return err
		}
		pending := crediting == "period_close"
		// Before the budget lock, in the order every registry takes them.
		if err := lockClientCreditsTx(ctx, tx, u.ClientID); err != nil {
			return err
		}
		budget, err := ledgerdb.LockBudget(ctx, tx, u.ClientID, u.ProgramID)
		if err != nil {
			return err
		}
		// Targets: this file's lines plus everyone paid in the period.
		byID := map[int64]*target{}
		rows, err := tx.Query(ctx, `SELECT participant_id, credited_kopecks, version FROM registry_balances
			WHERE program_id = $1 AND period = $2 FOR UPDATE`, u.ProgramID, u.Period)
		if err != nil {
			return err
		}
		var t target
		if _, err := pgx.ForEachRow(rows, []any{&t.participantID, &t.credited, &t.version}, func() error {
			c := t
			byID[t.participantID] = &c
			return nil
		}); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT participant_id, amount_kopecks, comment FROM registry_point_lines WHERE upload_id = $1`, id)
		if err != nil {
			return err
		}
		var pid, amount int64
		var comment string
		if _, err := pgx.ForEachRow(rows, []any{&pid, &amount, &comment}, func() error {
			if byID[pid] == nil {
				byID[pid] = &target{participantID: pid}
			}
			byID[pid].amount, byID[pid].comment = amount, comment
			return nil
		}); err != nil {
			return err
		}
		targets := make([]*target, 0, len(byID))
		var debitIDs []int64
		for _, t := range byID {
			targets = append(targets, t)
			if t.amount < t.credited {
				debitIDs = append(debitIDs, t.participantID)
			}
		}
		sort.Slice(targets, func(i, j int) bool { return targets[i].participantID < targets[j].participantID })
		// Balances of participants to debit, to refuse overdrafts up front.
		kind := ledger.ParticipantAvailable
		if pending {
			kind = ledger.ParticipantPending
		}
		bal := map[int64]int64{}
		// Locked: a concurrent redemption cannot spend them between the
		// check and the debit.
		rows, err = tx.Query(ctx, `SELECT participant_id, balance_kopecks FROM ledger_accounts
			WHERE kind = $1 AND client_id = $2 AND program_id = $3 AND participant_id = ANY($4)
			ORDER BY id FOR UPDATE`,
			string(kind), u.ClientID, u.ProgramID, debitIDs)
		if err != nil {
			return err
		}
		var b int64
		if _, err := pgx.ForEachRow(rows, []any{&pid, &b}, func() error { bal[pid] = b; return nil }); err != nil {
			return err
		}
		creditMap := map[int64]int64{}
		for _, t := range targets {
			if d := t.amount - t.credited; d > 0 {
				creditMap[t.participantID] = d
			}
		}
		switch need, err := s.needsSecondPerson(ctx, tx, u, creditMap); {
		case err != nil:
			return err
		case need:
			awaits = true
			return returnForApproval(ctx, tx, id)
		}
		var credits, debits []*target
		for _, t := range targets {
			d := t.amount - t.credited
			switch {
			case d > 0:
				credits = append(credits, t)
				res.CreditKopecks += d
			case d < 0 && bal[t.participantID] < -d:
				res.DebitsRefused = append(res.DebitsRefused, registry.RefusedDebit{
					ParticipantID: t.participantID, WantKopecks: -d, BalanceKopecks: bal[t.participantID]})
			case d < 0:
				debits = append(debits, t)
				res.DebitKopecks -= d
			default:
				res.Skipped++
			}
		}
		if res.CreditKopecks > budget+res.DebitKopecks {
			return registry.ErrBudget
		}
		period := registry.PeriodName(u.Period)
		memo := "за " + period // the kind says what it is (ledger.Reason)
		var programName string
		if err := tx.QueryRow(ctx, `SELECT name FROM programs WHERE id = $1`, u.ProgramID).Scan(&programName); err != nil {
			return fmt.Errorf("registrydb: program name: %w", err)
		}
		done := 0
		var (
			outIDs     []int64
			outcomes   []string
			postedAmts []int64
		)
		record := func(t *target, outcome string, posted int64) {
			outIDs, outcomes, postedAmts = append(outIDs, t.participantID), append(outcomes, outcome), append(postedAmts, posted)
		}
		for _, t := range res.DebitsRefused {
			record(byID[t.ParticipantID], "debit_refused", 0)
		}
		batch := max(s.BatchSize, 1)
		for _, group := range [][]*target{debits, credits} {
			for lo := 0; lo < len(group); lo += batch {
				part := group[lo:min(lo+batch, len(group))]
				es := make([]entry, len(part))
				for i, t := range part {
					d := t.amount - t.credited
					es[i] = entry{key: registry.LineKey(u.ProgramID, u.Period, t.participantID, t.version+1),
						participantID: t.participantID, d: d, kind: KindRegistryCredit, memo: memo}
					if t.comment != "" {
						es[i].memo = memo + ": " + t.comment
					}
					if d < 0 {
						es[i].kind, es[i].memo = KindRegistryDebit, "Исправление реестра за "+period
					}
				}
				// Keys already in the ledger were posted by a run whose
				// balance rows were lost: the ledger is the truth, so they
				// count as done like the others.
				if _, err := postBatch(ctx, tx, u.ClientID, u.ProgramID, kind, occurred, es); err != nil {
					return err
				}
				for _, t := range part {
					d := t.amount - t.credited
					t.version++
					t.credited = t.amount
					res.Posted++
					record(t, "posted", d)
					if d > 0 {
						// Tell the participant, in this transaction: the
						// outbox delivers it once the points are there.
						if _, _, err := notifydb.Enqueue(ctx, tx, notify.Intent{ParticipantID: t.participantID,
							Type: notify.RegistryCredited, DedupKey: registry.LineKey(u.ProgramID, u.Period, t.participantID, t.version),
							Data: notify.Data{ProgramName: programName, PointsKopecks: d, Pending: pending, Title: period}}); err != nil {
							return fmt.Errorf("registrydb: notify: %w", err)
						}
					}
				}
				done += len(part)
				progress.report(done)
			}
		}
		// Period balances: every posted change.
		var bIDs, bAmt []int64
		var bVer []int32
		for _, t := range targets {
			if t.version > 0 {
				bIDs, bAmt, bVer = append(bIDs, t.participantID), append(bAmt, t.credited), append(bVer, int32(t.version))
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO registry_balances (program_id, period, participant_id, credited_kopecks, version, upload_id)
			SELECT $1, $2, u.pid, u.amt, u.ver, $3 FROM unnest($4::bigint[], $5::bigint[], $6::int[]) AS u(pid, amt, ver)
			ON CONFLICT (program_id, period, participant_id) DO UPDATE SET
			    credited_kopecks = EXCLUDED.credited_kopecks, version = EXCLUDED.version,
			    upload_id = EXCLUDED.upload_id, updated_at = now()
			WHERE registry_balances.version <> EXCLUDED.version`,
			u.ProgramID, u.Period, id, bIDs, bAmt, bVer); err != nil {
			return fmt.Errorf("registrydb: period balances: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE registry_point_lines l SET outcome = u.o, posted_kopecks = u.k
			FROM unnest($2::bigint[], $3::text[], $4::bigint[]) AS u(pid, o, k)
			WHERE l.upload_id = $1 AND l.participant_id = u.pid`, id, outIDs, outcomes, postedAmts); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE registry_point_lines SET outcome = 'unchanged', posted_kopecks = 0
			WHERE upload_id = $1 AND outcome IS NULL`, id); err != nil {
			return err
		}
		return finish(ctx, tx, id, res, len(targets))
	})
	if err == nil && awaits {
		return registry.Result{}, registry.ErrAwaitsSecondApproval
	}
	return res, err
}
