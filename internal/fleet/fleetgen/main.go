// Command fleetgen writes two synthetic `cac build` output dirs (base and head) for benchmarks:
//
//	go run ./internal/fleet/fleetgen -out /tmp/fleet -services 300 -regions 16 -files 10 -changed 1
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/cacproj/cac/internal/fleet"
)

func main() {
	out := flag.String("out", "", "directory to write base/ and head/ into (required)")
	services := flag.Int("services", 300, "services per region")
	regions := flag.Int("regions", 16, "regions")
	files := flag.Int("files", 10, "files per service")
	changed := flag.Float64("changed", 1, "percent of files changed on the head side")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "fleetgen: -out is required")
		os.Exit(2)
	}
	b, h, err := fleet.Write(*out, *services, *regions, *files, *changed)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleetgen:", err)
		os.Exit(2)
	}
	fmt.Println(b)
	fmt.Println(h)
}
