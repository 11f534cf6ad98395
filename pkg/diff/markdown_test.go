package diff

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

func TestMarkdown(t *testing.T) {
	parts := Markdown(fixtureResult(), MarkdownOptions{USN: "svc", MarkerLine: svcMarker})
	if len(parts) != 1 {
		t.Fatalf("%d parts, want 1", len(parts))
	}
	checkGolden(t, parts[0])
}

func TestMarkdownNoChange(t *testing.T) {
	base, _ := fixture()
	parts := Markdown(Compute(base, base, Options{}), MarkdownOptions{USN: "svc", MarkerLine: svcMarker})
	want := "<!-- cac-diff:svc part 1 -->\n### cac diff: svc\n\nNo change to the rendered config.\n"
	if len(parts) != 1 || parts[0] != want {
		t.Errorf("got %q", parts)
	}
}

// TestMarkdownSplit cuts the fixture into small parts and checks the layout rules on each.
func TestMarkdownSplit(t *testing.T) {
	base, head := fixture()
	var b, h strings.Builder
	for i := range 120 {
		fmt.Fprintf(&b, "limit_%02d = %d\n", i, i)
		fmt.Fprintf(&h, "limit_%02d = %d\n", i, 2*i)
	}
	base["eu-west"]["conf/limits.conf"], head["eu-west"]["conf/limits.conf"] = []byte(b.String()), []byte(h.String())
	res := Compute(base, head, Options{Secrets: fixtureSecrets})
	parts := Markdown(res, MarkdownOptions{USN: "svc", MarkerLine: svcMarker, Limit: 2048, MaxParts: 20})
	checkGolden(t, strings.Join(parts, "\n=== next part ===\n"))
	checkParts(t, parts, 2048)
	if len(parts) < 3 || !strings.Contains(strings.Join(parts, ""), "limits.conf (+119 −119, continued)") {
		t.Errorf("want conf/limits.conf cut across parts, got %d parts", len(parts))
	}
	if strings.Contains(strings.Join(parts, ""), "too long") {
		t.Error("a left-out note without a cap")
	}
	// Nothing is lost: every diff line appears in some part.
	all := strings.Join(parts, "")
	for _, reg := range res.Regions {
		for _, f := range reg.Files {
			for _, l := range splitLines(f.Unified) {
				if !strings.Contains(all, l) {
					t.Errorf("line %q of %s/%s missing", l, f.Region, f.Path)
				}
			}
		}
	}
}

// TestMarkdownHugeFile splits one file diff across parts by lines.
func TestMarkdownHugeFile(t *testing.T) {
	var a, b strings.Builder
	for i := range 1200 {
		fmt.Fprintf(&a, "key%04d = %d\n", i, i)
		fmt.Fprintf(&b, "key%04d = %d\n", i, i+1)
	}
	r := Compute(Tree{"eu": {"big.conf": []byte(a.String())}}, Tree{"eu": {"big.conf": []byte(b.String())}}, Options{})
	parts := Markdown(r, MarkdownOptions{USN: "svc", MarkerLine: svcMarker, Limit: 10000, MaxParts: 50})
	checkParts(t, parts, 10000)
	if len(parts) < 4 {
		t.Fatalf("%d parts, want the file split across many", len(parts))
	}
	if got := strings.Count(strings.Join(parts, ""), "\n+key"); got != 1200 {
		t.Errorf("%d added lines across parts, want 1200", got)
	}
	if !strings.Contains(parts[1], "(+1200 −1200, continued)") {
		t.Errorf("part 2 does not reopen the file:\n%s", parts[1][:300])
	}
}

// TestMarkdownCap caps the parts and wants a plain note on what was left out.
func TestMarkdownCap(t *testing.T) {
	head := Tree{}
	for i := range 40 {
		head[fmt.Sprintf("r%02d", i)] = map[string][]byte{"app.conf": []byte(strings.Repeat(fmt.Sprintf("line %d\n", i), 30))}
	}
	r := Compute(Tree{}, head, Options{})
	parts := Markdown(r, MarkdownOptions{USN: "svc", MarkerLine: svcMarker, Limit: 4000, MaxParts: 3})
	checkParts(t, parts, 4000)
	if len(parts) != 3 {
		t.Fatalf("%d parts, want 3", len(parts))
	}
	last := parts[2]
	m := regexp.MustCompile(`Left out: (\d+) files?( and the end of one more)?, (\d+) of 1200 changed lines\.`).FindStringSubmatch(last)
	if m == nil {
		t.Fatalf("last part lacks the left-out note:\n%s", last)
	}
	if !strings.Contains(last, "`cac diff`") || !strings.Contains(last, "CI job log") {
		t.Errorf("the note does not say where to see the full diff:\n%s", last)
	}
	// Shown + left out = everything.
	shown := strings.Count(strings.Join(parts, ""), "\n+line ")
	var files, lines int
	fmt.Sscan(m[1], &files)
	fmt.Sscan(m[3], &lines)
	if shown+lines != 1200 {
		t.Errorf("shown %d + left out %d != 1200", shown, lines)
	}
	if !strings.Contains(parts[0], "| **total** | **40** | **1200** | **0** |") {
		t.Errorf("part 1 lacks the full summary")
	}
}

// checkParts asserts the rules every part keeps: size, marker, numbering, balanced fences and
// <details>, and the summary in part 1 only.
func checkParts(t *testing.T, parts []string, limit int) {
	t.Helper()
	fence := regexp.MustCompile("(?m)^`{3,}")
	for i, p := range parts {
		n := i + 1
		if c := Chars(p); c > limit {
			t.Errorf("part %d is %d characters, limit %d", n, c, limit)
		}
		if want := fmt.Sprintf("<!-- cac-diff:svc part %d -->\n", n); !strings.HasPrefix(p, want) {
			t.Errorf("part %d does not start with %q", n, want)
		}
		if len(parts) > 1 && !strings.Contains(p, fmt.Sprintf("Part %d of %d", n, len(parts))) {
			t.Errorf("part %d is not numbered", n)
		}
		if f := len(fence.FindAllString(p, -1)); f%2 != 0 {
			t.Errorf("part %d has %d fence lines (unbalanced)", n, f)
		}
		if o, c := strings.Count(p, "<details>"), strings.Count(p, "</details>"); o != c {
			t.Errorf("part %d opens %d <details> and closes %d", n, o, c)
		}
		noChange := strings.Contains(p, "No change to the rendered config")
		if hasSummary := strings.Contains(p, "| region | files changed |"); hasSummary != (n == 1 && !noChange) {
			t.Errorf("part %d: summary table present = %v", n, hasSummary)
		}
	}
}

// TestMarkdownSummaryFits: a summary too long for part 1 lists fewer regions, says how many it
// left out of the table, and keeps the totals.
func TestMarkdownSummaryFits(t *testing.T) {
	head := Tree{}
	for i := range 3000 {
		head[fmt.Sprintf("region-%04d", i)] = map[string][]byte{"app.conf": []byte("a = 1\n")}
	}
	parts := Markdown(Compute(Tree{}, head, Options{}), MarkdownOptions{USN: "svc", MarkerLine: svcMarker, Limit: 8000, MaxParts: 3})
	checkParts(t, parts, 8000)
	m := regexp.MustCompile("\n((?:\\| `region-\\d{4}` \\(added\\) \\| 1 \\| 1 \\| 0 \\|\n)+)\\| … (\\d+) regions not listed \\| (\\d+) \\| (\\d+) \\| 0 \\|\n\\| \\*\\*total\\*\\* \\| \\*\\*3000\\*\\* \\| \\*\\*3000\\*\\* \\| \\*\\*0\\*\\* \\|\n").FindStringSubmatch(parts[0])
	if m == nil {
		t.Fatalf("part 1 lacks a shortened table with the totals:\n%s", parts[0])
	}
	if rows := strings.Count(m[1], "\n"); m[2] != fmt.Sprint(3000-rows) || m[3] != m[2] || m[4] != m[2] {
		t.Errorf("%d rows listed, then %q", rows, m[0][len(m[1]):])
	}
}
