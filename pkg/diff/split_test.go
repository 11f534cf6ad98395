package diff

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// TestMarkdownSplitProperties lays out many random diffs with random limits and checks that every
// part keeps the layout rules and that every changed line is either shown or counted as left out.
func TestMarkdownSplitProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	note := regexp.MustCompile(`Left out: (\d+) files?(?: and the end of one more)?, (\d+) of \d+ changed lines?`)
	for run := range 100 {
		base, head := Tree{}, Tree{}
		for r := range 1 + rng.IntN(4) {
			region := fmt.Sprintf("r%d", r)
			base[region], head[region] = map[string][]byte{}, map[string][]byte{}
			for f := range 1 + rng.IntN(6) {
				path := fmt.Sprintf("f%d.conf", f)
				var b, h strings.Builder
				for l := range rng.IntN(120) {
					line := fmt.Sprintf("k%d = %s\n", l, strings.Repeat("v", rng.IntN(80)))
					if rng.IntN(3) > 0 {
						b.WriteString(line)
					}
					if rng.IntN(3) > 0 {
						h.WriteString(line)
					}
					if rng.IntN(50) == 0 { // an occasional very long line
						h.WriteString(strings.Repeat("x", 3000) + "\n")
					}
				}
				if rng.IntN(5) > 0 {
					base[region][path] = []byte(b.String())
				}
				if rng.IntN(5) > 0 {
					head[region][path] = []byte(h.String())
				}
			}
		}
		r := Compute(base, head, Options{Context: rng.IntN(4)})
		limit, maxParts := 2500+rng.IntN(8000), 1+rng.IntN(8)
		parts := Markdown(r, MarkdownOptions{USN: "svc", MarkerLine: svcMarker, Limit: limit, MaxParts: maxParts})
		name := fmt.Sprintf("run %d (limit %d, max %d parts)", run, limit, maxParts)
		t.Run(name, func(t *testing.T) {
			checkParts(t, parts, limit)
			if len(parts) > maxParts {
				t.Fatalf("%d parts", len(parts))
			}
			all := strings.Join(parts, "")
			shown := 0
			for _, l := range strings.Split(all, "\n") {
				if strings.HasPrefix(l, "+k") || strings.HasPrefix(l, "-k") || strings.HasPrefix(l, "+x") {
					shown++
				}
			}
			left := 0
			if m := note.FindStringSubmatch(parts[len(parts)-1]); m != nil {
				fmt.Sscan(m[2], &left)
			}
			// A wrapped long line shows as several pieces, so shown may exceed; never fall short.
			if total := r.Totals.Added + r.Totals.Removed; shown+left < total {
				t.Errorf("shown %d + left out %d < %d changed lines", shown, left, total)
			}
			if left == 0 && strings.Contains(all, "too long") {
				t.Errorf("a left-out note that leaves nothing out")
			}
		})
	}
}
