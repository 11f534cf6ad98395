// Package obs makes a cac run observable from outside: a Prometheus metrics file (Recorder), a
// JSON webhook on failure (Notify) and structured logs of the progress lines (LogWriter). It knows
// nothing about commands or flags; cmd/cac wires it around command execution.
package obs

// Outcome names an exit code (docs/design.md §4) for metrics and notifications.
func Outcome(exit int) string {
	switch exit {
	case 0:
		return "success"
	case 1:
		return "findings"
	case 3:
		return "remote"
	}
	return "usage"
}

// Outcomes are every Outcome, in exit-code order.
var Outcomes = []string{"success", "findings", "usage", "remote"}
