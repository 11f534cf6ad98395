package diff

import (
	"encoding/json"
	"io"
)

// WriteJSON writes r as indented JSON: regions, their files with status, counts and unified hunks,
// and totals.
func WriteJSON(w io.Writer, r *Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Changed bool `json:"changed"`
		*Result
	}{r.Changed(), r})
}
