package importer_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"vigie/internal/app/apptest"
	"vigie/internal/importer"
)

// FuzzImportCSV feeds the import arbitrary files — whole, or rows under the fixture's header so
// that the fuzzer reaches validation and writing — and checks that it neither crashes nor hangs,
// and that every row it read is accounted for. Run it with
//
//	go test -run '^$' -fuzz FuzzImportCSV -fuzztime 60s ./internal/importer/
func FuzzImportCSV(f *testing.F) {
	a := apptest.New(f, "sqlite")
	m := mapping(f, a, "legacy_crm.mapping.json")
	fixture := readFile(f, "legacy_crm.csv")
	header, body, _ := bytes.Cut(fixture, []byte("\r\n"))
	header = append(header, "\r\n"...)
	f.Add(fixture, true)
	f.Add(body, false)
	f.Add([]byte("1;M.;\"Garnier;Paul\r\n"), false)
	f.Add([]byte("1;M.;Gu\xe9rin;Paul\r\n"), false)
	f.Add([]byte("\xff\xfen\x00o\x00m\x00"), true)
	f.Add(bytes.ReplaceAll(fixture, []byte(";"), []byte(",")), true)
	f.Add([]byte("nom\n\"\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, whole bool) {
		if !whole {
			data = append(bytes.Clone(header), data...)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		done := make(chan struct{})
		var rep *importer.Report
		var err error
		go func() {
			defer close(done)
			rep, err = importer.Import(ctx, bytes.NewReader(data), a.Records, suppressed, importer.Options{Mapping: m, Now: now})
		}()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatalf("the import of %d bytes hangs", len(data))
		}
		if err != nil {
			return
		}
		if n := rep.Persons + rep.Rejected + rep.Expired + rep.Suppressed + rep.Duplicates; n != rep.Rows {
			t.Errorf("%d rows read, %d accounted for", rep.Rows, n)
		}
		var b bytes.Buffer
		if err := rep.WriteText(&b); err != nil {
			t.Error(err)
		}
	})
}
