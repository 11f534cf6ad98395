// Command benchdiff does `cac diff`'s work on two `cac build` output dirs: read both trees, diff
// them and write the unified text to stdout, so `make bench` can time it against
// `git diff --no-index` on the same dirs. The summary goes to stderr.
//
//	go run ./internal/benchdiff BASE HEAD > /dev/null
package main

import (
	"bufio"
	"fmt"
	"os"

	"github.com/cacproj/cac/pkg/diff"
	"github.com/cacproj/cac/pkg/pipeline"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: benchdiff BASE_DIR HEAD_DIR")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "benchdiff:", err)
		os.Exit(2)
	}
}

func run(baseDir, headDir string) error {
	base, err := pipeline.ReadOutput(baseDir)
	if err != nil {
		return err
	}
	head, err := pipeline.ReadOutput(headDir)
	if err != nil {
		return err
	}
	r := diff.Compute(base.Tree.Contents(), head.Tree.Contents(), diff.Options{})
	w := bufio.NewWriter(os.Stdout)
	if err := diff.WriteText(w, r, false); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, r.Summary())
	return w.Flush()
}
