package postgres

import (
	"strconv"
	"strings"
	"time"

	"github.com/siyu-commerce/siyu/internal/store/cursor"
)

// newest builds a newest-first keyset listing over (created_at, id), the
// shape of every list of orders, after-sales and refunds: optional equality
// filters, the position after a cursor, and one row more than the page so
// the caller knows whether a next page exists.
type newest struct {
	where []string
	args  []any
}

func (n *newest) arg(v any) string {
	n.args = append(n.args, v)
	return "$" + strconv.Itoa(len(n.args))
}

// eq filters on column = v; an empty v is no filter.
func (n *newest) eq(column string, v string) {
	if v != "" {
		n.where = append(n.where, column+" = "+n.arg(v))
	}
}

// after continues from a cursor of the given listing; a cursor that is not
// one is an error, which the caller turns into its domain's.
func (n *newest) after(listing, c string) error {
	if c == "" {
		return nil
	}
	at, id, err := cursor.Decode(listing, c)
	if err != nil {
		return err
	}
	n.where = append(n.where, "(created_at, id) < ("+n.arg(time.UnixMicro(at))+", "+n.arg(id)+")")
	return nil
}

// query is the statement reading columns from table, and its arguments.
func (n *newest) query(columns, table string, limit int) (string, []any) {
	q := `SELECT ` + columns + ` FROM ` + table
	if len(n.where) > 0 {
		q += ` WHERE ` + strings.Join(n.where, " AND ")
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ` + n.arg(limit+1)
	return q, n.args
}
