package subenv

import (
	"regexp"
)

// BaggageHeader is the W3C Baggage header that OpenTelemetry propagates across hops.
const BaggageHeader = "baggage"

// baggageKey is a W3C baggage key: an HTTP token.
var baggageKey = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

// BaggageRegex returns the regular expression (RE2, matched by Envoy against the whole header value)
// that finds the list member key=value in a W3C baggage header: members are separated by commas,
// each is key=value optionally followed by ;properties, with optional spaces or tabs around every
// part. The key must start the member (after a comma or the start), so a key that ends another key
// (env in xenv) does not match; the value must end at a ;, a comma, spaces or the end, so
// value feat does not match feat2. value is matched literally.
func BaggageRegex(key, value string) string {
	const ows = `[ \t]*`
	return `(?:.*,)?` + ows + regexp.QuoteMeta(key) + ows + `=` + ows + regexp.QuoteMeta(value) + ows + `(?:;[^,]*)?(?:,.*)?`
}
