package diff

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestWriteJSON(t *testing.T) {
	var sb strings.Builder
	if err := WriteJSON(&sb, fixtureResult()); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Changed bool
		Result
	}
	if err := json.Unmarshal([]byte(sb.String()), &back); err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	if !back.Changed || back.Totals != fixtureResult().Totals {
		t.Errorf("round trip: changed=%v totals=%+v", back.Changed, back.Totals)
	}
	checkGolden(t, sb.String())
}
