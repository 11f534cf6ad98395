// Package obs makes a cac run observable from outside: Prometheus metrics in a file or pushed to a
// Pushgateway (Recorder, Push), a JSON webhook when a run fails or is degraded (Notify) and
// structured logs of the progress lines (LogWriter). It knows nothing about commands or flags;
// cmd/cac wires it around command execution.
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

// Degraded is the outcome of a run that exited 0 but not as asked: a build from the cached clone
// of the config repo because the remote was unreachable (--offline-fallback). Its output may be
// out of date, so it is reported apart from success and notified like a failure.
const Degraded = "degraded"

// Outcomes are every outcome: success, degraded, then the failures in exit-code order.
var Outcomes = []string{"success", Degraded, "findings", "usage", "remote"}
