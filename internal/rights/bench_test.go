package rights_test

import (
	"context"
	"fmt"
	"io"
	"testing"

	"vigie/internal/app/apptest"
)

// BenchmarkAccess is one person's access export (Rights.Access and its JSON) on SQLite; the
// end-to-end figures beside raw SQL are bench/'s.
func BenchmarkAccess(b *testing.B) {
	a := apptest.New(b, "sqlite")
	var people []int64
	for i := range 50 {
		people = append(people, seed(b, a, fmt.Sprintf("bench%d@exemple.fr", i), "").person)
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		ar, err := a.Rights.Access(ctx, dpo, people[i%len(people)])
		if err != nil {
			b.Fatal(err)
		}
		if err := ar.WriteJSON(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkErase is one person's erasure on SQLite, persons without a contract (nothing kept).
func BenchmarkErase(b *testing.B) {
	a := apptest.New(b, "sqlite")
	ctx := context.Background()
	var people []int64
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		if len(people) == 0 {
			for j := range 100 {
				people = append(people, seed(b, a, fmt.Sprintf("efface%d-%d@exemple.fr", i, j), "none").person)
			}
		}
		p := people[0]
		people = people[1:]
		b.StartTimer()
		if _, err := a.Rights.Erase(ctx, dpo, p, 0); err != nil {
			b.Fatal(err)
		}
	}
}
