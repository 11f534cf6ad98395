package standard

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cacproj/cac/pkg/report"
	"github.com/cacproj/cac/pkg/values"
)

// fleetValues generates the effective values of services × regions, each service with two MySQL
// databases, a Redis, a Kafka and three callees with two interfaces each.
func fleetValues(b *testing.B, services, regions int) []Input {
	b.Helper()
	var names []string
	for s := 0; s < services; s++ {
		names = append(names, fmt.Sprintf("svc-%03d", s))
	}
	reg := NewRegistry("services.yaml", names...)
	var inputs []Input
	for r := 0; r < regions; r++ {
		region := fmt.Sprintf("region-%02d", r)
		global := parseValues(b, "_global/"+region+".yaml", fmt.Sprintf("env:\n  physical: online\n  group: g-%02d\n  router: base\n", r))
		for s, usn := range names {
			var y strings.Builder
			y.WriteString("mysql:\n")
			for _, tag := range []string{"main", "order"} {
				fmt.Fprintf(&y, "  %s:\n    ip: 10.%d.%d.1\n    port: 3306\n    username: app\n    password: pw-%s-%s\n    database: db_%s\n"+
					"    connTimeout: 1000\n    readTimeout: 3000\n    writeTimeout: 3000\n    maxOpenConns: 50\n    maxIdleConns: 10\n",
					tag, r, s%250, usn, tag, tag)
			}
			fmt.Fprintf(&y, "redis:\n  cache:\n    domain: redis-%d.cache.internal\n    port: 6379\n    password: r-%s\n    database: 1\n    poolSize: 20\n", r, usn)
			fmt.Fprintf(&y, "kafka:\n  events:\n    domain: kafka.mq.internal\n    port: 9092\n    topic: %s-events\n    groupId: %s\n", usn, usn)
			fmt.Fprintf(&y, "microService:\n")
			for c := 1; c <= 3; c++ {
				callee := names[(s+c)%len(names)]
				fmt.Fprintf(&y, "  %s:\n    domain: %s.svc.internal\n    port: 8080\n    appid: %s\n    appsecret: sec-%d\n    readTimeout: 2000\n    retry: 2\n"+
					"    interfaceConfig:\n      get:\n        url: /api/v1/get\n        readTimeout: 500\n      put:\n        url: https://%s.svc.internal/api/v1/put\n",
					callee, callee, usn, c, callee)
			}
			svc := parseValues(b, usn+"/"+region+".yaml", y.String())
			inputs = append(inputs, Input{Region: region, USN: usn, Values: values.Merge(global, svc), Registry: reg})
		}
	}
	return inputs
}

// BenchmarkValidateFleet validates 300 services × 16 regions against the default standard; one
// iteration is the whole fleet. cpu-ns/op is the process CPU time per fleet, a figure that holds
// when the machine is shared (wall time then varies several times over).
func BenchmarkValidateFleet(b *testing.B) {
	s, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	inputs := fleetValues(b, 300, 16)
	if fs := s.Validate(inputs[0]); len(fs) > 0 {
		b.Fatalf("generated values should be clean: %v", fs)
	}
	cpu0 := cpuTime(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		for _, in := range inputs {
			n += report.Errors(s.Validate(in))
		}
		if n != 0 {
			b.Fatalf("%d findings", n)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuTime(b)-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}
