package report

import (
	"bytes"
	"testing"
)

// sample is the input every format's golden test writes: out of order on purpose (Write sorts),
// two files, a warning, a finding without a file, and characters each format must escape.
func sample() []Finding {
	return []Finding{
		{Pos: Pos{File: "src/main.go", Line: 12, Col: 8}, Rule: "scan/hardcoded-address", Severity: SeverityWarning,
			Message: `hard-coded URL "http://a.internal:8080/x?y=1,2" in code`},
		{Pos: Pos{File: "conf/CacRegion_app.toml", Line: 3, Col: 9}, Region: "sg-prod", Path: "mysql.main.port",
			Rule: "placeholder/unresolved", Severity: SeverityError,
			Message: "no value at mysql.main.port in region sg-prod; add it to sg-prod.yaml"},
		{Pos: Pos{File: "conf/CacRegion_app.toml", Line: 1, Col: 1}, Region: "us1", Path: "name",
			Rule: "pattern", Severity: SeverityError,
			Message: "value <a&b> does not match \"^[a-z]+$\"\n100% sure: fix it"},
		{Region: "online", Rule: "region/missing", Severity: SeverityError,
			Message: "region online has no values file, so nothing can be rendered for it"},
	}
}

func render(t *testing.T, format string, fs []Finding, opt Options) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, format, fs, opt); err != nil {
		t.Fatalf("Write(%s): %v", format, err)
	}
	return b.Bytes()
}
