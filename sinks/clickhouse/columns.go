package clickhouse

import (
	"errors"
	"fmt"
	"strings"

	ch "github.com/ClickHouse/clickhouse-go/v2"
)

// addColumn adds a column to a table created by an earlier step. ClickHouse
// 18.16 has no ADD COLUMN IF NOT EXISTS, and a fresh database already has
// the column from step 1 (which creates the tables as declared now), so
// Migrate treats "already exists" from these statements as done.
func addColumn(db, table, col, typ string) string {
	return fmt.Sprintf("ALTER TABLE %s.%s ADD COLUMN %s %s", quote(db), quote(table), quote(col), typ)
}

// codeColumnExists is ClickHouse's ILLEGAL_COLUMN: "Cannot add column ...:
// column with this name already exists".
const codeColumnExists = 44

// columnExists says err is an addColumn statement finding its column there.
func columnExists(q string, err error) bool {
	var ex *ch.Exception
	return strings.Contains(q, " ADD COLUMN ") && errors.As(err, &ex) && ex.Code == codeColumnExists
}
