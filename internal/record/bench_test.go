package record_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"vigie/internal/app/apptest"
	"vigie/internal/record"
)

// BenchmarkGetPerson reads one person with every field decrypted, as the quotes department.
func BenchmarkGetPerson(b *testing.B) {
	a := apptest.New(b, "sqlite")
	ctx := context.Background()
	devis := record.Actor{Department: "devis", Purposes: []string{"quotes"}}
	const n = 500
	for i := range n {
		_, err := a.Records.Create(ctx, devis, "persons", record.Input{Fields: map[string]json.RawMessage{
			"first_name": json.RawMessage(`"Jeanne"`), "last_name": json.RawMessage(`"Durand"`),
			"email": json.RawMessage(fmt.Sprintf(`"j%d@exemple.fr"`, i)), "phone": json.RawMessage(`"0612345678"`),
			"birth_date": json.RawMessage(`"1980-01-01"`), "address_line": json.RawMessage(`"1 rue de la Paix"`),
			"postal_code": json.RawMessage(`"75002"`), "city": json.RawMessage(`"Paris"`), "departement": json.RawMessage(`"75"`),
		}})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			if _, err := a.Records.Get(ctx, devis, "persons", int64(i%n+1)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
