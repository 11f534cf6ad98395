package diff

import (
	"io"
	"os/exec"
	"testing"

	"github.com/cacproj/cac/internal/fleet"
	"github.com/cacproj/cac/pkg/pipeline"
)

// BenchmarkDiffFleet diffs two trees of 300 services × 16 regions × 10 files (40 lines each),
// 1% of the files changed: the shape of a fleet-wide config MR.
func BenchmarkDiffFleet(b *testing.B) {
	base, head := fleet.Trees(300, 16, 10, 1)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r := Compute(base, head, Options{Secrets: []Secret{{Path: "mysql.main.password", Base: "pw-old", Head: "pw-new"}}})
		if r.Totals.Files != 480 {
			b.Fatalf("%d files changed, want 480", r.Totals.Files)
		}
	}
}

// BenchmarkRenderFleet lays the fleet diff out as text and as markdown parts.
func BenchmarkRenderFleet(b *testing.B) {
	base, head := fleet.Trees(300, 16, 10, 1)
	r := Compute(base, head, Options{})
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := WriteText(io.Discard, r, false); err != nil {
			b.Fatal(err)
		}
		Markdown(r, MarkdownOptions{USN: "fleet"})
	}
}

// BenchmarkDiffFleetDisk compares, side by side in one run, `cac diff`'s work on two build output
// dirs (read, diff, write text) with `git diff --no-index` on the same dirs. Compare the ratio:
// absolute times vary from run to run on shared machines.
func BenchmarkDiffFleetDisk(b *testing.B) {
	baseDir, headDir, err := fleet.Write(b.TempDir(), 300, 16, 10, 1)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("cac", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			base, err := pipeline.ReadOutput(baseDir)
			if err != nil {
				b.Fatal(err)
			}
			head, err := pipeline.ReadOutput(headDir)
			if err != nil {
				b.Fatal(err)
			}
			if err := WriteText(io.Discard, Compute(base.Tree.Contents(), head.Tree.Contents(), Options{}), false); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("git", func(b *testing.B) {
		git, err := exec.LookPath("git")
		if err != nil {
			b.Skip("git not installed")
		}
		for b.Loop() {
			cmd := exec.Command(git, "diff", "--no-index", "--no-color", baseDir, headDir)
			cmd.Stdout = io.Discard
			// Exit status 1 means "differences found".
			if err := cmd.Run(); err != nil {
				if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
					b.Fatal(err)
				}
			}
		}
	})
}
