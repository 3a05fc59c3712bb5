package audit_test

import (
	"context"
	"testing"

	"vigie/internal/app/apptest"
	"vigie/internal/audit"
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
