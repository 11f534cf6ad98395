package diff

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/cacproj/cac/internal/golden"
)

// checkGolden compares got with testdata/<test name, / as _>.golden (-update rewrites it).
func checkGolden(t *testing.T, got string) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", strings.ReplaceAll(t.Name(), "/", "_")+".golden"), []byte(got))
}

func TestUnified(t *testing.T) {
	lines := func(n int, f func(i int) string) string {
		var sb strings.Builder
		for i := 1; i <= n; i++ {
			sb.WriteString(f(i) + "\n")
		}
		return sb.String()
	}
	ten := lines(10, func(i int) string { return "l" + string(rune('0'+i%10)) })
	tests := []struct {
		name       string
		a, b       string
		context    int
		want       string
		plus, less int
	}{
		{
			name: "one line changed in the middle",
			a:    "a\nb\nc\nd\ne\nf\ng\n", b: "a\nb\nc\nD\ne\nf\ng\n",
			want: "@@ -1,7 +1,7 @@\n a\n b\n c\n-d\n+D\n e\n f\n g\n", plus: 1, less: 1,
		},
		{
			name: "context cut at both ends",
			a:    ten, b: strings.Replace(ten, "l5\n", "five\n", 1),
			want: "@@ -2,7 +2,7 @@\n l2\n l3\n l4\n-l5\n+five\n l6\n l7\n l8\n", plus: 1, less: 1,
		},
		{
			name: "two hunks when the gap is wider than twice the context",
			a:    ten, b: strings.Replace(strings.Replace(ten, "l1\n", "one\n", 1), "l0\n", "ten\n", 1),
			context: 1,
			want:    "@@ -1,2 +1,2 @@\n-l1\n+one\n l2\n@@ -9,2 +9,2 @@\n l9\n-l0\n+ten\n", plus: 2, less: 2,
		},
		{
			name: "one hunk when the gap is exactly twice the context",
			a:    "x\n1\n2\ny\n", b: "X\n1\n2\nY\n", context: 1,
			want: "@@ -1,4 +1,4 @@\n-x\n+X\n 1\n 2\n-y\n+Y\n", plus: 2, less: 2,
		},
		{
			name: "added file",
			a:    "", b: "a\nb\n",
			want: "@@ -0,0 +1,2 @@\n+a\n+b\n", plus: 2,
		},
		{
			name: "removed file",
			a:    "a\n", b: "",
			want: "@@ -1 +0,0 @@\n-a\n", less: 1,
		},
		{
			name: "insertion only, zero context",
			a:    "a\nb\n", b: "a\nnew\nb\n", context: -1,
			want: "@@ -1,0 +2 @@\n+new\n", plus: 1,
		},
		{
			name: "no newline at end of file",
			a:    "a\nb", b: "a\nb\n",
			want: "@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n", plus: 1, less: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Compute(Tree{"eu": {"f": []byte(tt.a)}}, Tree{"eu": {"f": []byte(tt.b)}}, Options{Context: tt.context})
			if len(r.Regions) != 1 || len(r.Regions[0].Files) != 1 {
				t.Fatalf("want one file, got %+v", r)
			}
			f := r.Regions[0].Files[0]
			if f.Unified != tt.want {
				t.Errorf("unified:\n%s\nwant:\n%s", f.Unified, tt.want)
			}
			if f.Added != tt.plus || f.Removed != tt.less {
				t.Errorf("counts +%d -%d, want +%d -%d", f.Added, f.Removed, tt.plus, tt.less)
			}
		})
	}
}

func TestComputeStatuses(t *testing.T) {
	base := Tree{
		"eu":   {"same": []byte("x\n"), "mod": []byte("a\n"), "gone": []byte("g\n")},
		"old":  {"f": []byte("o\n")},
		"same": {"f": []byte("s\n")},
	}
	head := Tree{
		"eu":   {"same": []byte("x\n"), "mod": []byte("b\n"), "new": []byte("n\nm\n")},
		"new":  {"f": []byte("n\n")},
		"same": {"f": []byte("s\n")},
	}
	r := Compute(base, head, Options{})
	var got []string
	for _, reg := range r.Regions {
		for _, f := range reg.Files {
			got = append(got, string(reg.Status)+" "+reg.Name+"/"+f.Path+" "+string(f.Status))
		}
	}
	want := []string{"modified eu/gone removed", "modified eu/mod modified", "modified eu/new added", "added new/f added", "removed old/f removed"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if r.Totals != (Totals{Regions: 3, Files: 5, Added: 4, Removed: 3}) {
		t.Errorf("totals %+v", r.Totals)
	}
	if !r.Changed() {
		t.Error("Changed() = false")
	}
	if got, want := r.Summary(), "5 files changed in 3 regions (+4 −3)"; got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
	same := Compute(base, base, Options{})
	if same.Changed() || same.Summary() != "No change to the rendered config" {
		t.Errorf("identical trees: changed=%v summary=%q", same.Changed(), same.Summary())
	}
}
