package dashboard_test

import (
	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/dashboard"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/catalogdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/receiptdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/taskdb"
)

// The stores the wiring hands to the dashboard satisfy its interfaces
// (here rather than in the stores: adapters do not import transport).
var (
	_ dashboard.Store                  = (*reportdb.Store)(nil)
	_ dashboard.ForeignStore           = (*catalogdb.Store)(nil)
	_ dashboard.TaskStore              = (*taskdb.Store)(nil)
	_ dashboard.ReceiptStore           = (*receiptdb.Store)(nil)
	_ dashboard.ReceiptUpdater[pgx.Tx] = (*receiptdb.Store)(nil)
)
