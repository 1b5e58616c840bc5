// Command ebb is a self-hostable serverless runtime for HTTP apps.
package main

import (
	"os"

	"github.com/ebb-run/ebb/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:])) }
