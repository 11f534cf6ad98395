package subenv

import (
	"regexp"
	"testing"
)

func TestBaggageRegex(t *testing.T) {
	// Envoy matches the regex against the whole header value.
	re := regexp.MustCompile("^(?:" + BaggageRegex("cac-env", "feat") + ")$")
	for _, tc := range []struct {
		header string
		want   bool
	}{
		{"cac-env=feat", true},
		{"cac-env=feat;ttl=30", true},
		{"cac-env = feat ; ttl=30", true},
		{"userId=alice,cac-env=feat", true},
		{"userId=alice, cac-env=feat, serverNode=DF%2028", true},
		{"userId=alice,\tcac-env=feat;prop1;prop2=v,isProduction=false", true},
		{"sentry-trace_id=771a43a4192642f0b136d5159a501700,cac-env=feat", true},
		{"cac-env=feat2", false},             // a value that starts with the name
		{"cac-env=xfeat", false},             // a value that ends with it
		{"my-cac-env=feat", false},           // a key that ends with the key
		{"cac-env2=feat", false},             // a key that starts with it
		{"other=cac-env=feat", false},        // inside another member's value
		{"other=x;cac-env=feat", false},      // a property of another member
		{"cac-env=other,userId=feat", false}, // the name under another key
		{"cac-env=feat%20x", false},          // a longer percent-encoded value
		{"cac-env=,feat", false},             // empty value
		{"", false},
	} {
		if got := re.MatchString(tc.header); got != tc.want {
			t.Errorf("baggage %q: match %v, want %v", tc.header, got, tc.want)
		}
	}
	// regex metacharacters in key or value are literal
	if regexp.MustCompile("^(?:" + BaggageRegex("a.b", "x") + ")$").MatchString("aXb=x") {
		t.Error("a dot in the key matched any character")
	}
}
