package report

import (
	"encoding/json"
	"io"
)

type jsonReport struct {
	Findings []Finding `json:"findings"`
	Summary  Summary   `json:"summary"`
}

// writeJSON prints {"findings":[...],"summary":{"errors":n,"warnings":n}}, indented, in Sort order.
// An empty result is "findings": [], never null.
func writeJSON(w io.Writer, fs []Finding, _ Options) error {
	if fs == nil {
		fs = []Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(jsonReport{Findings: fs, Summary: Summarize(fs)})
}
