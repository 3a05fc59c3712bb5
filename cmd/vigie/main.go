// Command vigie is the CRM's single binary: server, migrations, demo data, dictionary, users.
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
