package cacerr

import (
	"errors"
	"fmt"
	"testing"
)

func TestExitCode(t *testing.T) {
	remote := Remote(errors.New("server answered 500"))
	cases := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{Findings(3, "problems found"), 1},
		{fmt.Errorf("render region sg: %w", Findings(1, "problem found")), 1},
		{Usage("unknown region %q", "mars"), 2},
		{errors.New("plain"), 2},
		{remote, 3},
		{fmt.Errorf("fetch: %w", remote), 3},
		{Wrap(KindRemote, errors.New("x")), 3},
	}
	for _, c := range cases {
		if got := ExitCode(c.err); got != c.want {
			t.Errorf("ExitCode(%v) = %d, want %d", c.err, got, c.want)
		}
	}
	f := Findings(2, "problems found")
	if !errors.Is(f, ErrFindings) || f.Error() != "2 problems found" {
		t.Errorf("findings error: %q, Is(ErrFindings) = %v", f, errors.Is(f, ErrFindings))
	}
	if Remote(nil) != nil || Wrap(KindUsage, nil) != nil {
		t.Error("wrapping nil must stay nil")
	}
	if !Is(fmt.Errorf("x: %w", remote), KindRemote) || Is(remote, KindUsage) {
		t.Error("Is does not follow the chain")
	}
}
