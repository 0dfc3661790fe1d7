package registrydb

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/registry"
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
		run := &participantsRun{tx: tx, id: id}
		err := run.apply(ctx)
		res = run.res
		return err
	})
	return res, err
}

// participantsRun is one attempt of ApplyParticipants, inside its
// transaction.
type participantsRun struct {
	tx  pgx.Tx
	id  int64
	u   registry.Upload
	prs []registry.ParticipantRow
	res registry.Result

	shopIDs map[string]int64 // shops by code, for rows naming a shop to create
	ids     []int64          // participant id per row
	created []bool           // per row: the participant is new
}

// apply runs the steps of ApplyParticipants in their order.
func (r *participantsRun) apply(ctx context.Context) error {
	done, err := r.load(ctx)
	if err != nil || done {
		return err
	}
	if err := r.createShops(ctx); err != nil {
		return err
	}
	if err := r.upsertParticipants(ctx); err != nil {
		return err
	}
	newIDs, newHasEmail, err := r.recordRows(ctx)
	if err != nil {
		return err
	}
	if err := r.invite(ctx, newIDs, newHasEmail); err != nil {
		return err
	}
	return finish(ctx, r.tx, r.id, r.res, len(r.prs))
}

// load locks the upload and reads its rows. It reports done when the
// upload was applied already (r.res is its result).
func (r *participantsRun) load(ctx context.Context) (bool, error) {
	u, err := lockUploadTx(ctx, r.tx, r.id)
	if err != nil {
		return false, err
	}
	if u.Status == registry.StatusApplied && u.Result != nil {
		r.res = *u.Result
		return true, nil
	}
	if u.Status != registry.StatusProcessing || u.Kind != registry.KindParticipants {
		return false, fmt.Errorf("%w: upload %d is %s %s", registry.ErrPermanent, r.id, u.Kind, u.Status)
	}
	r.u = u
	rows, err := r.tx.Query(ctx, `SELECT line, phone, name, email, role, region, COALESCE(shop_id, 0),
		shop_code, shop_inn, shop_address, shop_name FROM registry_participant_rows WHERE upload_id = $1 ORDER BY line`, r.id)
	if err != nil {
		return false, err
	}
	r.prs, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (registry.ParticipantRow, error) {
		var p registry.ParticipantRow
		return p, row.Scan(&p.Line, &p.Phone, &p.Name, &p.Email, &p.Role, &p.Region, &p.ShopID,
			&p.ShopCode, &p.ShopINN, &p.ShopAddress, &p.ShopName)
	})
	return false, err
}

// createShops creates the shops the rows name by a code without an id,
// once per code (a shop created meanwhile is looked up).
func (r *participantsRun) createShops(ctx context.Context) error {
	r.shopIDs = map[string]int64{}
	for _, p := range r.prs {
		if p.ShopID != 0 || p.ShopCode == "" {
			continue
		}
		if _, ok := r.shopIDs[p.ShopCode]; ok {
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
		err := r.tx.QueryRow(ctx, `INSERT INTO shops (client_id, code, name, inn, address, region)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (client_id, code) DO NOTHING RETURNING id`,
			r.u.ClientID, p.ShopCode, name, nullText(p.ShopINN), p.ShopAddress, p.Region).Scan(&sid)
		if errors.Is(err, pgx.ErrNoRows) {
			err = r.tx.QueryRow(ctx, `SELECT id FROM shops WHERE client_id = $1 AND code = $2`, r.u.ClientID, p.ShopCode).Scan(&sid)
		} else if err == nil {
			r.res.ShopsAdded++
		}
		if err != nil {
			return fmt.Errorf("registrydb: shop %d: %w", p.Line, err)
		}
		r.shopIDs[p.ShopCode] = sid
	}
	return nil
}

// upsertParticipants inserts new participants and updates changed ones in
// one batch, counting created, updated and unchanged rows; r.ids holds the
// id of every inserted or updated row (0 for unchanged ones).
func (r *participantsRun) upsertParticipants(ctx context.Context) error {
	b := &pgx.Batch{}
	for _, p := range r.prs {
		shop := p.ShopID
		if shop == 0 && p.ShopCode != "" {
			shop = r.shopIDs[p.ShopCode]
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
			r.u.ClientID, p.Phone, p.Name, nullText(p.Email), p.Role, p.Region, nullID(shop))
	}
	br := r.tx.SendBatch(ctx, b)
	r.ids = make([]int64, len(r.prs))
	r.created = make([]bool, len(r.prs))
	for i := range r.prs {
		err := br.QueryRow().Scan(&r.ids[i], &r.created[i])
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			r.res.Unchanged++
		case err != nil:
			br.Close()
			return fmt.Errorf("registrydb: participant on line %d: %w", r.prs[i].Line, err)
		case r.created[i]:
			r.res.Created++
		default:
			r.res.Updated++
		}
	}
	return br.Close()
}

// recordRows writes every row's participant id onto the upload's rows
// (looking up those of unchanged rows, which returned nothing) and returns
// the new participants, and those of them with an e-mail.
func (r *participantsRun) recordRows(ctx context.Context) (newIDs, newHasEmail []int64, err error) {
	var lines []int32
	var rowIDs []int64
	for i, p := range r.prs {
		if r.ids[i] == 0 {
			if err := r.tx.QueryRow(ctx, `SELECT id FROM participants WHERE client_id = $1 AND phone = $2`,
				r.u.ClientID, p.Phone).Scan(&r.ids[i]); err != nil {
				return nil, nil, err
			}
		}
		lines, rowIDs = append(lines, int32(p.Line)), append(rowIDs, r.ids[i])
		if r.created[i] {
			newIDs = append(newIDs, r.ids[i])
			if p.Email != "" {
				newHasEmail = append(newHasEmail, r.ids[i])
			}
		}
	}
	if _, err := r.tx.Exec(ctx, `UPDATE registry_participant_rows r SET participant_id = u.pid
		FROM unnest($2::int[], $3::bigint[]) AS u(line, pid) WHERE r.upload_id = $1 AND r.line = u.line`,
		r.id, lines, rowIDs); err != nil {
		return nil, nil, err
	}
	return newIDs, newHasEmail, nil
}

// invite queues an invitation of the new participants on every channel the
// upload chose (e-mail only to those with an address).
func (r *participantsRun) invite(ctx context.Context, newIDs, newHasEmail []int64) error {
	for _, ch := range r.u.Options.Invite {
		targets := newIDs
		if ch == registry.ChannelEmail {
			targets = newHasEmail
		}
		tag, err := r.tx.Exec(ctx, `INSERT INTO registry_invitations (upload_id, participant_id, channel, method)
			SELECT $1, pid, $2, $3 FROM unnest($4::bigint[]) AS pid
			ON CONFLICT ON CONSTRAINT registry_invitations_round_key DO NOTHING`,
			r.id, ch, r.u.Options.InviteMethod, targets)
		if err != nil {
			return fmt.Errorf("registrydb: invitations: %w", err)
		}
		r.res.Invitations += int(tag.RowsAffected())
	}
	return nil
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
		run := &pointsRun{s: s, tx: tx, id: id, progress: progress}
		// The ledger's postings join this transaction (ledger.Postings).
		err := run.apply(postgres.ContextWithTx(ctx, tx))
		res, awaits = run.res, run.awaits
		return err
	})
	if err == nil && awaits {
		return registry.Result{}, registry.ErrAwaitsSecondApproval
	}
	return res, err
}

// pointsRun is one attempt of ApplyPoints, inside its transaction.
type pointsRun struct {
	s        *Store
	tx       pgx.Tx
	id       int64
	progress *progressReporter

	u        registry.Upload
	occurred time.Time
	pending  bool               // credits go to the pending accounts (crediting at period close)
	kind     ledger.AccountKind // the participant accounts credited and debited
	byID     map[int64]*target
	targets  []*target // by participant id
	res      registry.Result
	awaits   bool // returned to validated for a second person's approval
	out      lineOutcomes
}

// apply runs the steps of ApplyPoints in their order (the order of the
// locks matters: upload, client credits, budget, period balances,
// participant accounts).
func (r *pointsRun) apply(ctx context.Context) error {
	done, err := r.load(ctx)
	if err != nil || done {
		return err
	}
	// Before the budget lock, in the order every registry takes them.
	if err := lockClientCreditsTx(ctx, r.tx, r.u.ClientID); err != nil {
		return err
	}
	budget, err := r.s.ledger.LockBudget(ctx, r.u.ClientID, r.u.ProgramID)
	if err != nil {
		return err
	}
	debitIDs, err := r.loadTargets(ctx)
	if err != nil {
		return err
	}
	bal, err := r.lockDebitBalances(ctx, debitIDs)
	if err != nil {
		return err
	}
	switch need, err := r.s.needsSecondPerson(ctx, r.tx, r.u, creditsOf(r.targets)); {
	case err != nil:
		return err
	case need:
		r.awaits = true
		return returnForApproval(ctx, r.tx, r.id)
	}
	credits, debits := r.plan(bal)
	if r.res.CreditKopecks > budget+r.res.DebitKopecks {
		return registry.ErrBudget
	}
	if err := r.post(ctx, debits, credits); err != nil {
		return err
	}
	if err := r.saveBalances(ctx); err != nil {
		return err
	}
	if err := r.out.save(ctx, r.tx, r.id); err != nil {
		return err
	}
	return finish(ctx, r.tx, r.id, r.res, len(r.targets))
}

// load locks the upload and reads what applying it needs. It reports done
// when the upload was applied already (r.res is its result).
func (r *pointsRun) load(ctx context.Context) (bool, error) {
	u, err := lockUploadTx(ctx, r.tx, r.id)
	if err != nil {
		return false, err
	}
	if u.Status == registry.StatusApplied && u.Result != nil {
		r.res = *u.Result
		return true, nil
	}
	if u.Status != registry.StatusProcessing || u.Kind != registry.KindPoints {
		return false, fmt.Errorf("%w: upload %d is %s %s", registry.ErrPermanent, r.id, u.Kind, u.Status)
	}
	occurred, err := registry.ParsePeriod(u.Period)
	if err != nil {
		return false, fmt.Errorf("%w: upload %d period %q", registry.ErrPermanent, r.id, u.Period)
	}
	var crediting string
	if err := r.tx.QueryRow(ctx, `SELECT crediting FROM programs WHERE id = $1`, u.ProgramID).Scan(&crediting); err != nil {
		return false, err
	}
	r.u, r.occurred, r.pending = u, occurred, crediting == "period_close"
	r.kind = ledger.ParticipantAvailable
	if r.pending {
		r.kind = ledger.ParticipantPending
	}
	return false, nil
}

// loadTargets reads the targets — this file's lines plus everyone paid in
// the period, whose period balances it locks — and returns the
// participants the file pays less than before.
func (r *pointsRun) loadTargets(ctx context.Context) ([]int64, error) {
	r.byID = map[int64]*target{}
	rows, err := r.tx.Query(ctx, `SELECT participant_id, credited_kopecks, version FROM registry_balances
		WHERE program_id = $1 AND period = $2 FOR UPDATE`, r.u.ProgramID, r.u.Period)
	if err != nil {
		return nil, err
	}
	var t target
	if _, err := pgx.ForEachRow(rows, []any{&t.participantID, &t.credited, &t.version}, func() error {
		c := t
		r.byID[t.participantID] = &c
		return nil
	}); err != nil {
		return nil, err
	}
	rows, err = r.tx.Query(ctx, `SELECT participant_id, amount_kopecks, comment FROM registry_point_lines WHERE upload_id = $1`, r.id)
	if err != nil {
		return nil, err
	}
	var pid, amount int64
	var comment string
	if _, err := pgx.ForEachRow(rows, []any{&pid, &amount, &comment}, func() error {
		if r.byID[pid] == nil {
			r.byID[pid] = &target{participantID: pid}
		}
		r.byID[pid].amount, r.byID[pid].comment = amount, comment
		return nil
	}); err != nil {
		return nil, err
	}
	r.targets = make([]*target, 0, len(r.byID))
	var debitIDs []int64
	for _, t := range r.byID {
		r.targets = append(r.targets, t)
		if t.amount < t.credited {
			debitIDs = append(debitIDs, t.participantID)
		}
	}
	sort.Slice(r.targets, func(i, j int) bool { return r.targets[i].participantID < r.targets[j].participantID })
	return debitIDs, nil
}

// lockDebitBalances returns the balances of the participants to debit, to
// refuse overdrafts up front. They are locked: a concurrent redemption
// cannot spend them between the check and the debit.
func (r *pointsRun) lockDebitBalances(ctx context.Context, debitIDs []int64) (map[int64]int64, error) {
	bal := map[int64]int64{}
	rows, err := r.tx.Query(ctx, `SELECT participant_id, balance_kopecks FROM ledger_accounts
		WHERE kind = $1 AND client_id = $2 AND program_id = $3 AND participant_id = ANY($4)
		ORDER BY id FOR UPDATE`,
		string(r.kind), r.u.ClientID, r.u.ProgramID, debitIDs)
	if err != nil {
		return nil, err
	}
	var pid, b int64
	if _, err := pgx.ForEachRow(rows, []any{&pid, &b}, func() error { bal[pid] = b; return nil }); err != nil {
		return nil, err
	}
	return bal, nil
}

// creditsOf returns what each target is to be credited (positive
// differences only), for the maker-checker decision.
func creditsOf(targets []*target) map[int64]int64 {
	credits := map[int64]int64{}
	for _, t := range targets {
		if d := t.amount - t.credited; d > 0 {
			credits[t.participantID] = d
		}
	}
	return credits
}

// plan sorts the targets into credits and debits, refuses the debits that
// would overdraw (bal) and counts everything in r.res.
func (r *pointsRun) plan(bal map[int64]int64) (credits, debits []*target) {
	for _, t := range r.targets {
		d := t.amount - t.credited
		switch {
		case d > 0:
			credits = append(credits, t)
			r.res.CreditKopecks += d
		case d < 0 && bal[t.participantID] < -d:
			r.res.DebitsRefused = append(r.res.DebitsRefused, registry.RefusedDebit{
				ParticipantID: t.participantID, WantKopecks: -d, BalanceKopecks: bal[t.participantID]})
		case d < 0:
			debits = append(debits, t)
			r.res.DebitKopecks -= d
		default:
			r.res.Skipped++
		}
	}
	return credits, debits
}

// post posts the debits, then the credits, in batches of the store's
// BatchSize, notifies every credited participant in the same transaction,
// records each line's outcome and publishes progress after each batch.
func (r *pointsRun) post(ctx context.Context, debits, credits []*target) error {
	period := registry.PeriodName(r.u.Period)
	memo := "за " + period // the kind says what it is (ledger.Reason)
	var programName string
	if err := r.tx.QueryRow(ctx, `SELECT name FROM programs WHERE id = $1`, r.u.ProgramID).Scan(&programName); err != nil {
		return fmt.Errorf("registrydb: program name: %w", err)
	}
	for _, t := range r.res.DebitsRefused {
		r.out.record(r.byID[t.ParticipantID], "debit_refused", 0)
	}
	done := 0
	batch := max(r.s.BatchSize, 1)
	for _, group := range [][]*target{debits, credits} {
		for lo := 0; lo < len(group); lo += batch {
			part := group[lo:min(lo+batch, len(group))]
			b := ledger.Batch{ClientID: r.u.ClientID, ProgramID: r.u.ProgramID, Accounts: r.kind, OccurredOn: r.occurred,
				Transfers: make([]ledger.Transfer, len(part))}
			for i, t := range part {
				b.Transfers[i] = r.transferOf(t, memo, period)
			}
			// Keys already in the ledger were posted by a run whose
			// balance rows were lost: the ledger is the truth, so they
			// count as done like the others.
			if _, err := r.s.ledger.PostBatch(ctx, b); err != nil {
				return err
			}
			for _, t := range part {
				d := t.amount - t.credited
				t.version++
				t.credited = t.amount
				r.res.Posted++
				r.out.record(t, "posted", d)
				if d > 0 {
					// Tell the participant, in this transaction: the
					// outbox delivers it once the points are there.
					c := registry.LineCredited{ParticipantID: t.participantID, ProgramID: r.u.ProgramID,
						ProgramName: programName, PeriodName: period, PointsKopecks: d, Pending: r.pending,
						Key: registry.LineKey(r.u.ProgramID, r.u.Period, t.participantID, t.version)}
					for _, sub := range r.s.credits {
						if err := sub.RegistryCredited(ctx, r.tx, c); err != nil {
							return fmt.Errorf("registrydb: notify: %w", err)
						}
					}
				}
			}
			done += len(part)
			r.progress.report(done)
		}
	}
	return nil
}

// transferOf is the ledger transaction of target t: its difference under
// the next version's line key.
func (r *pointsRun) transferOf(t *target, memo, period string) ledger.Transfer {
	d := t.amount - t.credited
	e := ledger.Transfer{Key: registry.LineKey(r.u.ProgramID, r.u.Period, t.participantID, t.version+1),
		ParticipantID: t.participantID, AmountKopecks: d, Kind: ledger.KindRegistryCredit, Memo: memo}
	if t.comment != "" {
		e.Memo = memo + ": " + t.comment
	}
	if d < 0 {
		e.Kind, e.Memo = ledger.KindRegistryDebit, "Исправление реестра за "+period
	}
	return e
}

// saveBalances writes the period balance of every target that has one.
func (r *pointsRun) saveBalances(ctx context.Context) error {
	var bIDs, bAmt []int64
	var bVer []int32
	for _, t := range r.targets {
		if t.version > 0 {
			bIDs, bAmt, bVer = append(bIDs, t.participantID), append(bAmt, t.credited), append(bVer, int32(t.version))
		}
	}
	if _, err := r.tx.Exec(ctx, `INSERT INTO registry_balances (program_id, period, participant_id, credited_kopecks, version, upload_id)
		SELECT $1, $2, u.pid, u.amt, u.ver, $3 FROM unnest($4::bigint[], $5::bigint[], $6::int[]) AS u(pid, amt, ver)
		ON CONFLICT (program_id, period, participant_id) DO UPDATE SET
		    credited_kopecks = EXCLUDED.credited_kopecks, version = EXCLUDED.version,
		    upload_id = EXCLUDED.upload_id, updated_at = now()
		WHERE registry_balances.version <> EXCLUDED.version`,
		r.u.ProgramID, r.u.Period, r.id, bIDs, bAmt, bVer); err != nil {
		return fmt.Errorf("registrydb: period balances: %w", err)
	}
	return nil
}

// lineOutcomes collects what happened to each line of a points upload.
type lineOutcomes struct {
	ids      []int64
	outcomes []string
	posted   []int64
}

func (o *lineOutcomes) record(t *target, outcome string, posted int64) {
	o.ids, o.outcomes, o.posted = append(o.ids, t.participantID), append(o.outcomes, outcome), append(o.posted, posted)
}

// save writes the recorded outcomes to the upload's lines; every other
// line is unchanged.
func (o *lineOutcomes) save(ctx context.Context, tx pgx.Tx, id int64) error {
	if _, err := tx.Exec(ctx, `UPDATE registry_point_lines l SET outcome = u.o, posted_kopecks = u.k
		FROM unnest($2::bigint[], $3::text[], $4::bigint[]) AS u(pid, o, k)
		WHERE l.upload_id = $1 AND l.participant_id = u.pid`, id, o.ids, o.outcomes, o.posted); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE registry_point_lines SET outcome = 'unchanged', posted_kopecks = 0
		WHERE upload_id = $1 AND outcome IS NULL`, id)
	return err
}
