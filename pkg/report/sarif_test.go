package report

import (
	"encoding/json"
	"testing"

	"github.com/cacproj/cac/internal/golden"
)

func TestSARIF(t *testing.T) {
	out := render(t, "sarif", sample(), Options{Version: "1.2.3"})
	golden.Assert(t, out)
	var back sarifLog
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	run := back.Runs[0]
	if len(run.Tool.Driver.Rules) != 4 || len(run.Results) != 4 {
		t.Fatalf("rules=%d results=%d, want 4 and 4", len(run.Tool.Driver.Rules), len(run.Results))
	}
	for _, r := range run.Results {
		if run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("result %s points at rule %d (%s)", r.RuleID, r.RuleIndex, run.Tool.Driver.Rules[r.RuleIndex].ID)
		}
	}
}
