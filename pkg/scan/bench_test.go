package scan

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// plain is ordinary code with strings but no finding; each sample body is followed by it, so
// about one line in ten has a finding.
const plain = "\tresult := process(input, \"label\", 42) // note\n\tif err != nil { return fmt.Errorf(\"process %s: %w\", name, err) }\n" +
	"\titems = append(items, Item{Name: \"x.y\", Size: len(buf)})\n\tfor i := 0; i < n; i++ { total += values[i] * weight }\n"

// benchTree writes a code repo of about 100k lines over six languages and returns its line count.
func benchTree(b *testing.B, dir string) int {
	bodies := map[string]string{
		"go": "\tif region == \"sg-prod\" { // compare\n\t\turl := \"http://10.1.2.%d:8080/api\"\n\t\tlog.Printf(\"serving %%s\", url)\n" +
			"\t}\n\tx := computeSomething(a, b, c) + 42\n\t/* block\n\t   comment */\n\tname := \"plain string value\"\n",
		"java": "        if (env.equals(\"online\")) {\n            String u = \"jdbc:mysql://db%d.corp.com:3306/app\";\n" +
			"        }\n        int total = items.stream().mapToInt(Item::size).sum();\n        // a comment\n" +
			"        logger.info(\"processing {}\", total);\n        return builder.build();\n        }\n",
		"py": "    if env in (\"pre\", \"sim\"):\n        host = 'cache%d.sg.internal'\n    total = sum(x for x in items)\n" +
			"    # a comment with 10.0.0.1\n    print(f\"total {total}\")\n    doc = \"\"\"text\"\"\"\n    return total\n    pass\n",
		"js": "  if (env === 'us1') {\n    fetch(`https://api%d.partner.io/v1/${id}`);\n  }\n  const total = items.reduce((a, b) => a + b, 0);\n" +
			"  // comment\n  console.log('total', total);\n  return total;\n  }\n",
		"php": "    if ($env == \"pre\") {\n        $db = \"10.2.3.%d\";\n    }\n    $total = array_sum($items);\n    # comment\n" +
			"    echo \"total $total\";\n    return $total;\n    }\n",
		"yaml": "server:\n  port: 8080\n  host: svc%d.internal\n  # comment\nlogging:\n  level: info\nfeature:\n  enabled: true\n",
	}
	lines := 0
	files := map[string]string{}
	for i := range 420 {
		ext := []string{"go", "java", "py", "js", "php", "yaml"}[i%6]
		var sb strings.Builder
		for j := range 10 {
			sb.WriteString(fmt.Sprintf(bodies[ext], j%250+1))
			for range 4 {
				sb.WriteString(plain)
			}
		}
		content := sb.String()
		lines += strings.Count(content, "\n")
		files[fmt.Sprintf("mod%02d/pkg%d/file%d.%s", i%20, i%7, i, ext)] = content
	}
	write(b, dir, files)
	return lines
}

// BenchmarkScan reports scan throughput in lines per second over a generated ~100k-line tree.
func BenchmarkScan(b *testing.B) {
	dir := b.TempDir()
	lines := benchTree(b, dir)
	opt := Options{Root: dir, Regions: []string{"sg-prod", "online", "pre", "sim", "us1"},
		KnownValues: map[string]string{"10.1.2.3": "mysql.main.ip", "cache7.sg.internal": "redis.main.host"}}
	b.ResetTimer()
	n := 0
	for b.Loop() {
		fs, err := Run(context.Background(), opt)
		if err != nil {
			b.Fatal(err)
		}
		n = len(fs)
	}
	b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
	b.ReportMetric(float64(lines), "lines")
	b.ReportMetric(float64(n), "findings")
}
