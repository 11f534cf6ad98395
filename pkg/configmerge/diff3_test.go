package configmerge

import (
	"reflect"
	"strings"
	"testing"
)

func lines(ls ...string) []byte {
	if len(ls) == 0 {
		return nil
	}
	return []byte(strings.Join(ls, "\n") + "\n")
}

func TestMerge3(t *testing.T) {
	base := lines("a: 1", "b: 2", "c: 3", "d: 4", "e: 5")
	tests := []struct {
		name         string
		ours, theirs []byte
		want         []byte
		conflicts    []Region
	}{
		{"nothing changed", base, base, base, nil},
		{"ours only", lines("a: 1", "b: 20", "c: 3", "d: 4", "e: 5"), base,
			lines("a: 1", "b: 20", "c: 3", "d: 4", "e: 5"), nil},
		{"theirs only", base, lines("a: 1", "b: 2", "c: 3", "d: 4", "e: 5", "f: 6"),
			lines("a: 1", "b: 2", "c: 3", "d: 4", "e: 5", "f: 6"), nil},
		{"apart", lines("a: 10", "b: 2", "c: 3", "d: 4", "e: 5"), lines("a: 1", "b: 2", "c: 3", "d: 4", "e: 50"),
			lines("a: 10", "b: 2", "c: 3", "d: 4", "e: 50"), nil},
		{"one unchanged line between", lines("a: 1", "b: 20", "c: 3", "d: 4", "e: 5"), lines("a: 1", "b: 2", "c: 3", "d: 40", "e: 5"),
			lines("a: 1", "b: 20", "c: 3", "d: 40", "e: 5"), nil},
		{"insert and delete apart", lines("x: 0", "a: 1", "b: 2", "c: 3", "d: 4", "e: 5"), lines("a: 1", "b: 2", "c: 3", "e: 5"),
			lines("x: 0", "a: 1", "b: 2", "c: 3", "e: 5"), nil},
		{"same change on both sides", lines("a: 1", "b: 9", "c: 3", "d: 4", "e: 5"), lines("a: 1", "b: 9", "c: 3", "d: 4", "e: 5"),
			lines("a: 1", "b: 9", "c: 3", "d: 4", "e: 5"), nil},
		{"same line changed differently", lines("a: 1", "b: 20", "c: 3", "d: 4", "e: 5"), lines("a: 1", "b: 21", "c: 3", "d: 4", "e: 5"),
			nil, []Region{{Base: Range{2, 2}, Ours: Range{2, 2}, Theirs: Range{2, 2}}}},
		{"adjacent lines conflict, as in git", lines("a: 1", "b: 20", "c: 3", "d: 4", "e: 5"), lines("a: 1", "b: 2", "c: 30", "d: 4", "e: 5"),
			nil, []Region{{Base: Range{2, 3}, Ours: Range{2, 3}, Theirs: Range{2, 3}}}},
		{"overlap after an earlier clean change", lines("a: 10", "b: 2", "c: 3", "d: 4", "e: 5"),
			lines("a: 1", "b: 2", "c: 3", "new: 1", "d: 4", "e: 5"),
			lines("a: 10", "b: 2", "c: 3", "new: 1", "d: 4", "e: 5"), nil},
		{"both insert at the same place", lines("a: 1", "b: 2", "c: 3", "d: 4", "e: 5", "x: 1"), lines("a: 1", "b: 2", "c: 3", "d: 4", "e: 5", "y: 1", "z: 1"),
			nil, []Region{{Base: Range{6, 5}, Ours: Range{6, 6}, Theirs: Range{6, 7}}}},
		{"delete against edit", lines("a: 1", "b: 2", "d: 4", "e: 5"), lines("a: 1", "b: 2", "c: 33", "d: 4", "e: 5"),
			nil, []Region{{Base: Range{3, 3}, Ours: Range{3, 2}, Theirs: Range{3, 3}}}},
		{"missing final newline kept", []byte("a: 1\nb: 2\nc: 3\nd: 4\ne: 5"), lines("a: 10", "b: 2", "c: 3", "d: 4", "e: 5"),
			[]byte("a: 10\nb: 2\nc: 3\nd: 4\ne: 5"), nil},
		{"duplicate lines", lines("a: 1", "  x: 1", "b: 2", "  x: 1", "c: 3", "d: 4", "e: 5"), lines("a: 1", "b: 2", "c: 3", "d: 4", "e: 5", "  x: 1"),
			lines("a: 1", "  x: 1", "b: 2", "  x: 1", "c: 3", "d: 4", "e: 5", "  x: 1"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, conflicts := Merge3(base, tt.ours, tt.theirs)
			if string(got) != string(tt.want) || !reflect.DeepEqual(conflicts, tt.conflicts) {
				t.Errorf("Merge3 = %q, %+v\nwant %q, %+v", got, conflicts, tt.want, tt.conflicts)
			}
			// Merging is symmetric: swapping the sides merges the same, with the ranges swapped.
			got, conflicts = Merge3(base, tt.theirs, tt.ours)
			for i := range conflicts {
				conflicts[i].Ours, conflicts[i].Theirs = conflicts[i].Theirs, conflicts[i].Ours
			}
			if string(got) != string(tt.want) || !reflect.DeepEqual(conflicts, tt.conflicts) {
				t.Errorf("swapped: Merge3 = %q, %+v\nwant %q, %+v", got, conflicts, tt.want, tt.conflicts)
			}
		})
	}
}

func TestMerge3EmptyBase(t *testing.T) {
	got, conflicts := Merge3(nil, nil, lines("a: 1"))
	if string(got) != "a: 1\n" || conflicts != nil {
		t.Errorf("Merge3(empty, empty, a) = %q, %v", got, conflicts)
	}
	_, conflicts = Merge3(nil, lines("a: 1"), lines("b: 1"))
	if want := []Region{{Base: Range{1, 0}, Ours: Range{1, 1}, Theirs: Range{1, 1}}}; !reflect.DeepEqual(conflicts, want) {
		t.Errorf("both added: conflicts %+v, want %+v", conflicts, want)
	}
}

func TestRangeString(t *testing.T) {
	for r, want := range map[Range]string{{3, 3}: "line 3", {3, 5}: "lines 3-5", {4, 3}: "none before line 4"} {
		if got := r.String(); got != want {
			t.Errorf("%+v: %q, want %q", r, got, want)
		}
	}
}
