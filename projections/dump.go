package projections

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Dump writes a logical dump of the read model: the schema, then every
// table (SQLite's own excepted) with all its columns, rows sorted by
// primary key, in deterministic text. Two read models built from the same
// events dump identically, however the events were batched.
func (db *DB) Dump(ctx context.Context, w io.Writer) error {
	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("projections: dump: %w", err)
	}
	defer tx.Rollback()
	bw := bufio.NewWriter(w)

	type object struct{ typ, name, sql string }
	var objects []object
	rows, err := tx.QueryContext(ctx, `SELECT type, name, coalesce(sql, '') FROM sqlite_schema
WHERE name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY type DESC, name`)
	if err != nil {
		return fmt.Errorf("projections: dump: schema: %w", err)
	}
	for rows.Next() {
		var o object
		if err := rows.Scan(&o.typ, &o.name, &o.sql); err != nil {
			rows.Close()
			return fmt.Errorf("projections: dump: schema: %w", err)
		}
		objects = append(objects, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("projections: dump: schema: %w", err)
	}
	for _, o := range objects {
		fmt.Fprintf(bw, "-- %s %s\n%s;\n", o.typ, o.name, o.sql)
	}
	for _, o := range objects {
		if o.typ != "table" {
			continue
		}
		if err := dumpTable(ctx, tx, bw, o.name); err != nil {
			return fmt.Errorf("projections: dump %s: %w", o.name, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("projections: dump: %w", err)
	}
	return nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func dumpTable(ctx context.Context, tx *sql.Tx, w io.Writer, table string) error {
	// Columns in declaration order; primary key columns in key order.
	rows, err := tx.QueryContext(ctx, `SELECT name, pk FROM pragma_table_info(?) ORDER BY cid`, table)
	if err != nil {
		return err
	}
	var cols []string
	pk := map[int]string{}
	for rows.Next() {
		var (
			name string
			n    int
		)
		if err := rows.Scan(&name, &n); err != nil {
			rows.Close()
			return err
		}
		cols = append(cols, name)
		if n > 0 {
			pk[n] = name
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var order []string
	for i := 1; i <= len(pk); i++ {
		order = append(order, quoteIdent(pk[i]))
	}
	if len(order) == 0 {
		for _, c := range cols {
			order = append(order, quoteIdent(c))
		}
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = quoteIdent(c)
	}
	fmt.Fprintf(w, "\n## %s (%s)\n", table, strings.Join(cols, ", "))
	data, err := tx.QueryContext(ctx, `SELECT `+strings.Join(quoted, ", ")+` FROM `+quoteIdent(table)+` ORDER BY `+strings.Join(order, ", "))
	if err != nil {
		return err
	}
	defer data.Close()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for data.Next() {
		if err := data.Scan(ptrs...); err != nil {
			return err
		}
		var b strings.Builder
		for i, v := range vals {
			if i > 0 {
				b.WriteByte('\t')
			}
			b.WriteString(cols[i])
			b.WriteByte('=')
			switch v := v.(type) {
			case nil:
				b.WriteString("NULL")
			case int64:
				b.WriteString(strconv.FormatInt(v, 10))
			case float64:
				b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
			case string:
				b.WriteString(strconv.Quote(v))
			case []byte:
				b.WriteString("x'" + hex.EncodeToString(v) + "'")
			default:
				fmt.Fprintf(&b, "%v", v)
			}
		}
		b.WriteByte('\n')
		if _, err := io.WriteString(w, b.String()); err != nil {
			return err
		}
		n++
	}
	if err := data.Err(); err != nil {
		return err
	}
	fmt.Fprintf(w, "-- %d rows\n", n)
	return nil
}
