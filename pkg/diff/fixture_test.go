package diff

import (
	"fmt"
	"strings"
)

// svcMarker is the marker line the tests' parts start with (forge.MarkerLine writes the same).
func svcMarker(n int) string { return fmt.Sprintf("<!-- cac-diff:svc part %d -->", n) }

// Secret values used by the fixture; no output may contain them.
const (
	oldPassword = "s3cr3t-0ld-Pa55"
	newPassword = "n3w-S3cret-Pa55"
	apiKey      = "AKIA-unchanged-key"
)

var fixtureSecrets = []Secret{
	{Path: "mysql.main.password", Base: oldPassword, Head: newPassword},
	{Path: "extend.apiKey", Base: apiKey, Head: apiKey},
}

// fixture is a small fleet: a modified file with a changed secret, an added and a removed file,
// an added and a removed region, and a file whose content holds a markdown fence.
func fixture() (Tree, Tree) {
	app := func(port, pw string) []byte {
		return []byte(strings.Join([]string{
			"[server]", "host = \"0.0.0.0\"", "port = " + port, "",
			"[mysql]", "host = \"mysql.eu.internal\"", "user = \"app\"", "password = \"" + pw + "\"",
			"", "[extend]", "api_key = \"" + apiKey + "\"", "",
		}, "\n"))
	}
	base := Tree{
		"eu-west": {
			"conf/app.toml":  app("8080", oldPassword),
			"conf/old.yaml":  []byte("legacy: true\n"),
			"conf/same.yaml": []byte("same: 1\n"),
			"README.md":      []byte("# svc\n\n```\nrun it\n```\n"),
		},
		"ap-south": {"conf/app.toml": app("8080", oldPassword)},
	}
	head := Tree{
		"eu-west": {
			"conf/app.toml":  app("9090", newPassword),
			"conf/new.yaml":  []byte("feature:\n  enabled: true\n"),
			"conf/same.yaml": []byte("same: 1\n"),
			"README.md":      []byte("# svc\n\n```\nrun it twice\n```\n"),
		},
		"us-east": {"conf/app.toml": app("8080", newPassword)},
	}
	return base, head
}

func fixtureResult() *Result {
	base, head := fixture()
	return Compute(base, head, Options{Secrets: fixtureSecrets})
}
