package diff

import (
	"io"
	"testing"

	"github.com/cacproj/cac/internal/fleet"
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
