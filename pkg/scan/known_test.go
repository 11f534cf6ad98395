package scan

import (
	"maps"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestAddKnownAddresses(t *testing.T) {
	regions := []string{`
mysql:
  main: {ip: 10.1.2.3, port: 3306, password: "10.9.9.9"}
redis: {host: redis.sg.internal}
pay: {url: "http://pay.sg.internal:8080"}
kafka: {brokers: ["kafka-1.sg.internal:9092", "kafka-2.sg.internal:9092"]}
env: {name: sg-prod, version: "1.2.3"}
dsn: "user=app host=10.1.2.3"
local: 127.0.0.1
`, `
mysql: {main: {ip: 10.2.2.2}}
backup: {ip: 10.1.2.3}
`}
	got := map[string]string{}
	for _, src := range regions {
		var tree any
		if err := yaml.Unmarshal([]byte(src), &tree); err != nil {
			t.Fatal(err)
		}
		AddKnownAddresses(got, tree, func(p string) bool { return p == "mysql.main.password" })
	}
	want := map[string]string{
		"10.1.2.3":                    "backup.ip",
		"10.2.2.2":                    "mysql.main.ip",
		"redis.sg.internal":           "redis.host",
		"http://pay.sg.internal:8080": "pay.url",
		"kafka-1.sg.internal:9092":    "kafka.brokers.0",
		"kafka-2.sg.internal:9092":    "kafka.brokers.1",
	}
	if !maps.Equal(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}
