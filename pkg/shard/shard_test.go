package shard

import (
	"fmt"
	"slices"
	"testing"

	"github.com/cacproj/cac/pkg/cacerr"
)

func names(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("svc-%04d", i)
	}
	return out
}

// Every name is in exactly one shard, and 300 names spread evenly: no shard is more than 30%
// off its fair share.
func TestBalanceAndPartition(t *testing.T) {
	all := names(300)
	for _, total := range []int{2, 3, 4, 8} {
		seen := map[string]int{}
		for i := 1; i <= total; i++ {
			part := Spec{Index: i, Total: total}.Filter(all)
			fair := float64(len(all)) / float64(total)
			if f := float64(len(part)); f < 0.7*fair || f > 1.3*fair {
				t.Errorf("%d/%d holds %d names, fair share %.0f", i, total, len(part), fair)
			}
			for _, n := range part {
				seen[n]++
			}
		}
		for _, n := range all {
			if seen[n] != 1 {
				t.Errorf("N=%d: %s is in %d shards", total, n, seen[n])
			}
		}
	}
}

// Adding a service moves no other; adding a runner moves only what the new runner takes.
func TestStable(t *testing.T) {
	all := names(300)
	before := map[string]int{}
	for _, n := range all {
		before[n] = Of(n, 4)
	}
	grown := append(slices.Clone(all), "new-service")
	for _, n := range grown[:300] {
		if Of(n, 4) != before[n] {
			t.Errorf("%s moved when a service was added", n)
		}
	}
	moved := 0
	for _, n := range all {
		if s := Of(n, 5); s != before[n] {
			if s != 5 {
				t.Errorf("%s moved from %d to %d, not to the new shard 5", n, before[n], s)
			}
			moved++
		}
	}
	if moved == 0 || moved > 90 {
		t.Errorf("going from 4 to 5 runners moved %d of 300 services, want about 60", moved)
	}
}

func TestOneOfOneIsEverything(t *testing.T) {
	all := names(50)
	for _, s := range []Spec{All, {}, {Index: 1, Total: 1}} {
		if got := s.Filter(all); !slices.Equal(got, all) {
			t.Errorf("%v kept %d of %d", s, len(got), len(all))
		}
	}
	s, err := Parse("1/1")
	if err != nil || s != All {
		t.Errorf("Parse(1/1) = %v, %v", s, err)
	}
}

func TestParse(t *testing.T) {
	if s, err := Parse(" 2/4 "); err != nil || s != (Spec{2, 4}) || s.String() != "2/4" {
		t.Errorf("Parse(2/4) = %v, %v", s, err)
	}
	for _, bad := range []string{"", "2", "0/4", "5/4", "1/0", "-1/2", "a/b", "1/2/3", "1.5/3"} {
		if _, err := Parse(bad); cacerr.ExitCode(err) != 2 {
			t.Errorf("Parse(%q): %v (exit %d), want a usage error", bad, err, cacerr.ExitCode(err))
		}
	}
}

func TestFromEnv(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	if _, ok, err := FromEnv(env(nil)); ok || err != nil {
		t.Errorf("no variables: ok %v, %v", ok, err)
	}
	s, ok, err := FromEnv(env(map[string]string{IndexVar: "3", TotalVar: "5"}))
	if !ok || err != nil || s != (Spec{3, 5}) {
		t.Errorf("3 of 5: %v %v %v", s, ok, err)
	}
	if _, _, err := FromEnv(env(map[string]string{IndexVar: "0", TotalVar: "5"})); cacerr.ExitCode(err) != 2 {
		t.Errorf("index 0 (GitLab counts from 1): %v", err)
	}
}
