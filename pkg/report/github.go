package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// GitHub workflow-command escaping (actions/toolkit, command.ts): data escapes % \r \n;
// property values also escape : and ,.
var (
	ghData = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	ghProp = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

// writeGitHub prints one workflow command per finding, which GitHub Actions shows as an annotation:
//
//	::error file=conf/app.toml,line=3,col=9,title=placeholder/unresolved::[sg-prod] mysql.port: ...
func writeGitHub(w io.Writer, fs []Finding, _ Options) error {
	bw := bufio.NewWriter(w)
	for _, f := range fs {
		cmd := "error"
		if f.isWarning() {
			cmd = "warning"
		}
		var props []string
		if f.File != "" {
			props = append(props, "file="+ghProp.Replace(f.File))
			if f.Line > 0 {
				props = append(props, fmt.Sprintf("line=%d", f.Line))
				if f.Col > 0 {
					props = append(props, fmt.Sprintf("col=%d", f.Col))
				}
			}
		}
		if f.Rule != "" {
			props = append(props, "title="+ghProp.Replace(f.Rule))
		}
		sep := ""
		if len(props) > 0 {
			sep = " "
		}
		fmt.Fprintf(bw, "::%s%s%s::%s\n", cmd, sep, strings.Join(props, ","), ghData.Replace(f.label()))
	}
	return bw.Flush()
}
