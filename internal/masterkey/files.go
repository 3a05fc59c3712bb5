package masterkey

import (
	"context"
	"fmt"
	"path/filepath"

	"vigie/internal/keys"
)

// FindKey returns the function a restore uses to open a file sealed under some version of the
// master key: it looks among the key files of path — path itself, the key of a rotation in
// progress (path.next) and the retired ones (path.vN.retired) — for the one whose check matches.
func FindKey(path string) func(check string) ([]byte, error) {
	return func(check string) ([]byte, error) {
		candidates := []string{path, NextPath(path)}
		retired, _ := filepath.Glob(path + ".v*.retired")
		candidates = append(candidates, retired...)
		for _, p := range candidates {
			key, err := keys.ReadKeyFile(p, keys.MasterKeySize, "master key")
			if err == nil && keys.MasterCheck(key) == check {
				return key, nil
			}
		}
		return nil, fmt.Errorf("masterkey: no master key file (%s, its .next or its .vN.retired copies) opens this file: it was sealed under another master key", path)
	}
}

// CountByVersion counts the subject keys wrapped under each master key version.
func CountByVersion(ctx context.Context, q Querier) (map[uint32]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT wrapped_key FROM subject_keys`)
	if err != nil {
		return nil, fmt.Errorf("masterkey: read subject keys: %w", err)
	}
	defer rows.Close()
	out := map[uint32]int64{}
	for rows.Next() {
		var w []byte
		if err := rows.Scan(&w); err != nil {
			return nil, fmt.Errorf("masterkey: read subject keys: %w", err)
		}
		v, err := keys.WrappedVersion(w)
		if err != nil {
			return nil, err
		}
		out[v]++
	}
	return out, rows.Err()
}
