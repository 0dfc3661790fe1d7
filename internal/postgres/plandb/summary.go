package plandb

import (
	"context"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/money"
	"github.com/loyaltyjam/loyaltyjam/internal/plan"
)

// Group is attainment of a shop or region: the sums of its participants'
// plans and actuals.
type Group struct {
	Key          string        `json:"key"`
	Participants int           `json:"participants"`
	Target       int64         `json:"target"`
	Actual       int64         `json:"actual"`
	AttainmentBP int64         `json:"attainment_bp"`
	PayoutKopeck money.Kopecks `json:"payout_kopecks"`
}

// Place is one line of a leaderboard.
type Place struct {
	Place         int    `json:"place"`
	ParticipantID int64  `json:"participant_id"`
	Name          string `json:"name"`
	Shop          string `json:"shop"`
	Region        string `json:"region"`
	AttainmentBP  int64  `json:"attainment_bp"`
	Tier          int    `json:"tier"`
	// Target, Actual (in the table's measure) and what the participant's
	// plan would pay if the period closed now.
	Target        int64         `json:"target"`
	Actual        int64         `json:"actual"`
	PayoutKopecks money.Kopecks `json:"payout_kopecks"`
}

// Summary is a program period's standing as of now.
type Summary struct {
	Period       string `json:"period"`
	TableVersion int    `json:"table_version"`
	Participants int    `json:"participants"`
	// Tiers counts participants per tier reached; index 0 is "none",
	// index i+1 is tier i.
	Tiers []int `json:"tiers"`
	// ForecastKopecks is what the period would pay if it closed now.
	ForecastKopecks money.Kopecks `json:"forecast_kopecks"`
	PaidKopecks     money.Kopecks `json:"paid_kopecks"`
	BudgetKopecks   money.Kopecks `json:"budget_kopecks"`
	ByShop          []Group       `json:"by_shop"`
	ByRegion        []Group       `json:"by_region"`
	// Leaderboard is the top participants by attainment (ties: lower id
	// first).
	Leaderboard []Place `json:"leaderboard"`
}

// mask keeps a name's first letter of each word: «Иван Петров» → «И. П.».
func mask(name string) string {
	var parts []string
	for _, w := range strings.Fields(name) {
		r, _ := utf8.DecodeRuneInString(w)
		parts = append(parts, string(r)+".")
	}
	return strings.Join(parts, " ")
}

// Summarize computes the program period's attainment as of now: the tier
// distribution, the cost forecast, attainment by shop and region, and the
// top participants (names masked unless showNames).
func (s *Store) Summarize(ctx context.Context, clientID, programID int64, period plan.Period, top int, showNames bool) (Summary, error) {
	out := Summary{Period: period.String()}
	if err := program(ctx, s.db, clientID, programID); err != nil {
		return out, err
	}
	tv, err := latestTable(ctx, s.db, clientID, programID, period)
	if err != nil {
		return out, err
	}
	out.TableVersion = tv.Version
	out.Tiers = make([]int, len(tv.Table.Tiers)+1)
	rows, err := s.db.Query(ctx, `SELECT DISTINCT ON (t.participant_id) t.participant_id, t.target, p.name, COALESCE(sh.name, ''), p.region
		FROM plan_targets t JOIN participants p ON p.id = t.participant_id
		LEFT JOIN shops sh ON sh.id = p.shop_id
		WHERE t.client_id = $1 AND t.program_id = $2 AND t.period = $3
		ORDER BY t.participant_id, t.version DESC`, clientID, programID, period.String())
	if err != nil {
		return out, err
	}
	type who struct {
		id                 int64
		target             int64
		name, shop, region string
	}
	ws, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (who, error) {
		var w who
		err := r.Scan(&w.id, &w.target, &w.name, &w.shop, &w.region)
		return w, err
	})
	if err != nil {
		return out, err
	}
	as, err := actuals(ctx, s.db, clientID, programID, period, nil)
	if err != nil {
		return out, err
	}
	if err := s.db.QueryRow(ctx, `SELECT COALESCE(sum(amount_kopecks), 0) FROM plan_credits WHERE program_id = $1 AND period = $2`,
		programID, period.String()).Scan(&out.PaidKopecks); err != nil {
		return out, err
	}
	if err := s.db.QueryRow(ctx, `SELECT COALESCE((SELECT balance_kopecks FROM ledger_accounts
		WHERE kind = 'program_budget' AND client_id = $1 AND program_id = $2 AND participant_id IS NULL), 0)`, clientID, programID).Scan(&out.BudgetKopecks); err != nil {
		return out, err
	}
	shops, regions := map[string]*Group{}, map[string]*Group{}
	add := func(m map[string]*Group, key string, target int64, st plan.Settlement) {
		g := m[key]
		if g == nil {
			g = &Group{Key: key}
			m[key] = g
		}
		g.Participants++
		g.Target += target
		g.Actual += st.Actual.Value
		g.PayoutKopeck += st.PayoutKopecks
	}
	places := make([]Place, 0, len(ws))
	for _, w := range ws {
		st := plan.Settle(tv.Table, w.target, as[w.id].in(tv.Table.Measure))
		out.Participants++
		out.Tiers[st.Tier+1]++
		out.ForecastKopecks += st.PayoutKopecks
		add(shops, w.shop, w.target, st)
		add(regions, w.region, w.target, st)
		name := w.name
		if !showNames {
			name = mask(name)
		}
		places = append(places, Place{ParticipantID: w.id, Name: name, Shop: w.shop, Region: w.region, AttainmentBP: st.AttainmentBP, Tier: st.Tier,
			Target: w.target, Actual: st.Actual.Value, PayoutKopecks: st.PayoutKopecks})
	}
	sort.SliceStable(places, func(i, j int) bool { return places[i].AttainmentBP > places[j].AttainmentBP })
	if top <= 0 || top > 1000 {
		top = 100
	}
	for i := range places {
		places[i].Place = i + 1
	}
	if len(places) > top {
		places = places[:top]
	}
	out.Leaderboard = places
	flat := func(m map[string]*Group) []Group {
		gs := make([]Group, 0, len(m))
		for _, g := range m {
			if g.Target > 0 {
				g.AttainmentBP = plan.Attainment(g.Actual, g.Target)
			}
			gs = append(gs, *g)
		}
		sort.Slice(gs, func(i, j int) bool {
			return gs[i].AttainmentBP > gs[j].AttainmentBP || gs[i].AttainmentBP == gs[j].AttainmentBP && gs[i].Key < gs[j].Key
		})
		return gs
	}
	out.ByShop, out.ByRegion = flat(shops), flat(regions)
	return out, nil
}
