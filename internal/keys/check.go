package keys

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// CheckKeyFile tells, without creating anything, whether LoadOrCreateKeyFile would accept the
// file at path: a missing file is fine (it will be created), an existing one must be readable,
// readable by its owner only, and hold size bytes in hexadecimal. The configuration checks it at
// start, so that a wrong key file stops Vigie before it has opened or created anything.
func CheckKeyFile(path string, size int, what string) error {
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("keys: cannot read %s file %s (%w): give the user running vigie read access to it", what, path, err)
	}
	_, err = decodeKeyFile(path, data, size, what)
	return err
}
