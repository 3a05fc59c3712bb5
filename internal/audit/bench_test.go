package audit_test

import (
	"context"
	"sync/atomic"
	"testing"

	"vigie/internal/app/apptest"
	"vigie/internal/audit"
	"vigie/internal/record"
)

// BenchmarkAppendRead is the cost of recording one read from many concurrent requests, through
// the journal.
func BenchmarkAppendRead(b *testing.B) {
	a := apptest.New(b, "sqlite")
	ctx := context.Background()

	subject := a.Audit.Subject(7)
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := a.Audit.Append(ctx, audit.Event{UserID: 3, Department: "support", Action: "read", Table: "persons", RowID: 7,
				Subject: subject, Fields: "first_name,last_name,email", Purpose: "support"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkFold is the cost, per event, of folding journalled reads of distinct persons into the
// access chain, a thousand at a time: what a server spends in the background for each read it
// answered. Only the folds are timed.
func BenchmarkFold(b *testing.B) {
	a := apptest.New(b, "sqlite")
	ctx := context.Background()
	b.ResetTimer()
	for start := 0; start < b.N; start += 1000 {
		b.StopTimer()
		for i := start; i < min(b.N, start+1000); i++ {
			if err := a.Audit.Append(ctx, audit.Event{UserID: 3, Department: "support", Action: "read", Table: "persons", RowID: int64(i),
				Subject: a.Audit.Subject(int64(i)), Fields: "first_name,last_name,email", Purpose: "support"}); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		if err := a.Audit.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRead is what the store's read of one person costs the request that makes it: the
// event built from the record and written to the journal, from many requests at once.
func BenchmarkRead(b *testing.B) {
	a := apptest.New(b, "sqlite")
	ctx := context.Background()
	tbl := a.Dict.Table("persons")
	values := map[string]any{}
	for _, c := range tbl.Columns {
		values[c.Name] = "x"
	}
	var id atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := id.Add(1)
			rec := &record.Record{Table: tbl, ID: n, PersonID: n, Values: values}
			if err := a.Audit.Read(ctx, support, tbl, []*record.Record{rec}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
