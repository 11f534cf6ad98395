package report

import (
	"encoding/json"
	"testing"

	"github.com/cacproj/cac/internal/golden"
)

func TestJSON(t *testing.T) {
	t.Run("sample", func(t *testing.T) {
		out := render(t, "json", sample(), Options{})
		golden.Assert(t, out)
		var back jsonReport
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatal(err)
		}
		if back.Summary != (Summary{Errors: 3, Warnings: 1}) || len(back.Findings) != 4 {
			t.Errorf("round trip: %+v", back.Summary)
		}
	})
	t.Run("empty", func(t *testing.T) { golden.Assert(t, render(t, "json", nil, Options{})) })
}
