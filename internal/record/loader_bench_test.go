//go:build linux

package record_test

import (
	"context"
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"vigie/internal/app/apptest"
	"vigie/internal/keys"
	"vigie/internal/record"
)

// BenchmarkLoader writes b.N persons with a quote each, sealed and indexed ahead (as a legacy
// import's workers do), through the loader alone: the single writer of an import. It reports the
// rows written per second and per second of CPU.
func BenchmarkLoader(b *testing.B) {
	a := apptest.New(b, "sqlite")
	ctx := context.Background()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	type row struct {
		sk            *keys.SubjectKey
		person, quote *record.Prepared
	}
	rows := make([]row, b.N)
	prov := keys.Provenance{CollectedAt: now.AddDate(-1, 0, 0), Channel: "import", Purpose: "quotes"}
	for i := range rows {
		sk, err := a.Records.NewSubjectKey()
		if err != nil {
			b.Fatal(err)
		}
		p, err := a.Records.Prepare("persons", map[string]any{"kind": "prospect", "source": "legacy_import",
			"first_name": "Manon", "last_name": "Martin", "birth_date": now.AddDate(-40, 0, 0), "email": fmt.Sprintf("manon.martin.%d@exemple.fr", i),
			"phone": fmt.Sprintf("+336%08d", i), "address_line": "12 rue de la République", "postal_code": "29200", "city": "Brest",
			"departement": "29", "created_at": prov.CollectedAt, "last_contact_at": now.AddDate(0, -1, 0), "updated_at": now}, sk, prov)
		if err != nil {
			b.Fatal(err)
		}
		q, err := a.Records.Prepare("quotes", map[string]any{"status": "expired", "channel": "import", "vehicle_make": "Dacia",
			"vehicle_model": "Sandero", "vehicle_year": int64(2019), "vehicle_energy": "essence", "vehicle_usage": "prive",
			"plate": fmt.Sprintf("AB-%03d-CD", i%1000), "licence_date": now.AddDate(-20, 0, 0), "bonus_malus": "0.85", "coverage": "tous_risques",
			"comment": "Souhaite un devis tous risques", "created_at": prov.CollectedAt, "updated_at": now}, sk, prov)
		if err != nil {
			b.Fatal(err)
		}
		rows[i] = row{sk, p, q}
	}
	// The writer's own CPU time: its thread's, without the garbage collector's other threads.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var before, after syscall.Rusage
	syscall.Getrusage(rusageThread, &before)
	b.ResetTimer()
	ld, err := a.Records.NewLoader(ctx)
	if err != nil {
		b.Fatal(err)
	}
	ld.AllOrNothing()
	for _, r := range rows {
		id, err := ld.AddPreparedPerson(r.person, r.sk, prov)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ld.AddPrepared(r.quote, id); err != nil {
			b.Fatal(err)
		}
	}
	if err := ld.Commit(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	syscall.Getrusage(rusageThread, &after)
	cpu := time.Duration(after.Utime.Nano()-before.Utime.Nano()) + time.Duration(after.Stime.Nano()-before.Stime.Nano())
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "rows/cpu-s")
}

const rusageThread = 1 // RUSAGE_THREAD
