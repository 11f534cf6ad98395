package review

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"

	"github.com/cacproj/cac/internal/gitfixture"
	"github.com/cacproj/cac/pkg/diff"
	"github.com/cacproj/cac/pkg/forge"
	"github.com/cacproj/cac/pkg/gitops"
	"github.com/cacproj/cac/pkg/report"
)

// TestPublishedCommit: the code commit most affected regions were published at, else the tip of
// the code repo's default branch.
func TestPublishedCommit(t *testing.T) {
	bare := gitfixture.Bare(t, t.TempDir(), "code", map[string]map[string]string{"main": {"CacRegion_a.ini": "a\n"}}, "main")
	repo, err := git.PlainOpen(bare)
	if err != nil {
		t.Fatal(err)
	}
	tip, err := repo.Head()
	if err != nil {
		t.Fatal(err)
	}
	c, why, err := publishedCommit(repo, map[string]gitops.Source{"sg": {CodeCommit: "c1"}, "us": {CodeCommit: "c2"}, "eu": {CodeCommit: "c2"}})
	if err != nil || c != "c2" || why != "last published to eu, us; other regions were published at other commits" {
		t.Errorf("got %q, %q, %v", c, why, err)
	}
	c, why, err = publishedCommit(repo, map[string]gitops.Source{"sg": {CodeCommit: "c2"}, "us": {CodeCommit: "c1"}})
	if err != nil || c != "c1" || why != "last published to us; other regions were published at other commits" {
		t.Errorf("a tie: got %q, %q, %v (want the first commit in order)", c, why, err)
	}
	c, why, err = publishedCommit(repo, nil)
	if err != nil || c != tip.Hash().String() || why != "the tip of main: never published" {
		t.Errorf("never published: got %q, %q, %v", c, why, err)
	}
}

// TestAffectedStatus: one status for every service of a config repo's merge request.
func TestAffectedStatus(t *testing.T) {
	changed := diff.Compute(diff.Tree{}, diff.Tree{"sg": {"app.ini": []byte("a=1\n")}}, diff.Options{})
	same := diff.Compute(diff.Tree{}, diff.Tree{}, diff.Options{})
	ok := func(usn string, d *diff.Result) *Outcome { return &Outcome{USN: usn, Result: &Result{Diff: d}} }
	broken := &Outcome{USN: "cart", Result: &Result{Findings: []report.Finding{{Rule: "x", Severity: report.SeverityError}}}}
	for _, tc := range []struct {
		name   string
		out    AffectedOutcome
		errs   []error
		state  forge.State
		prefix string
	}{
		{"changes", AffectedOutcome{Reviews: []*Outcome{ok("order", changed), ok("user", same)}}, nil, forge.StateSuccess, "order: 1 file changed in 1 region"},
		{"no change", AffectedOutcome{Reviews: []*Outcome{ok("user", same)}}, nil, forge.StateSuccess, "no change to the rendered config"},
		{"a head that does not build", AffectedOutcome{Reviews: []*Outcome{ok("user", changed), broken}}, []error{errors.New("service cart: 1 problem")}, forge.StateFailure, "the head does not build for 1 service"},
		{"a service not reviewed", AffectedOutcome{Reviews: []*Outcome{broken}}, []error{errors.New("service cart: 1 problem"), errors.New("service gone: clone")}, forge.StateError, ""},
	} {
		state, desc := affectedStatus(&tc.out, tc.errs)
		if state != tc.state || !strings.HasPrefix(desc, tc.prefix) || tc.prefix == "" && desc != "" {
			t.Errorf("%s: got %s %q, want %s %q…", tc.name, state, desc, tc.state, tc.prefix)
		}
	}
}
