package gitops

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/cacproj/cac/pkg/diff"
)

// TestPublishDryRunDiff: the dry run's diff is pkg/diff's unified diff, as `cac diff` shows it:
// a last line without a newline is marked, and changes 5 lines apart share a hunk while one 18
// lines further on gets its own.
func TestPublishDryRunDiff(t *testing.T) {
	var oldLines, newLines []string
	for i := 1; i <= 30; i++ {
		l := fmt.Sprintf("k%02d: v", i)
		oldLines = append(oldLines, l)
		if i == 5 || i == 11 || i == 30 {
			l += "2"
		}
		newLines = append(newLines, l)
	}
	old, head := strings.Join(oldLines, "\n"), strings.Join(newLines, "\n") // no final newline
	const path = "envs/eu/user/deploy/deployment.yaml"
	g := newGitopsRepo(t, map[string]string{path: old})
	files := serviceFiles("user", "1")
	files["deploy/deployment.yaml"] = head
	o := g.options("user", buildOutput(t, map[string]map[string]string{"eu": files}))
	o.DryRun = true
	res, err := Publish(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	want := diff.Unified("a/"+path, "b/"+path, old, head)
	if !strings.Contains(res.Diff, want) {
		t.Fatalf("the dry run's diff lacks pkg/diff's diff of %s:\n%s\nwant:\n%s", path, res.Diff, want)
	}
	if n := strings.Count(want, "\n@@ "); n != 2 {
		t.Errorf("%d hunks, want 2:\n%s", n, want)
	}
	if !strings.Contains(want, "@@ -2,13 +2,13 @@\n") || strings.Count(want, "-k30: v\n\\ No newline at end of file\n+k30: v2\n\\ No newline at end of file\n") != 1 {
		t.Errorf("hunks:\n%s", want)
	}
}
