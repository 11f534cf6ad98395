package standard

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/cacproj/cac/pkg/cacerr"
)

func TestCheck(t *testing.T) {
	s := mustLoad(t, "env:\n  physical: {dict: [sim, online], required: true}\nport: {type: int}\n", nil)
	config := fstest.MapFS{
		"_global/sg.yaml": {Data: []byte("env:\n  physical: online\n")},
		"_global/us.yaml": {Data: []byte("env:\n  physical: prod\n")},
		"user/sg.yaml":    {Data: []byte("port: 80\n")},
		"user/us.yaml":    {Data: []byte("port: x\n")},
		"user/bad.yaml":   {Data: []byte("port: [1\n")},
	}
	got, err := s.Check(CheckOptions{Config: config, USN: "user"})
	if err != nil {
		t.Fatal(err)
	}
	want := "_global/us.yaml:2:13 env.physical dict\nuser/bad.yaml:1  yaml/syntax\nuser/us.yaml:1:7 port type"
	var lines []string
	for _, f := range got {
		lines = append(lines, f.Pos.String()+" "+f.Path+" "+f.Rule)
		if f.Region == "" {
			t.Errorf("finding without region: %v", f)
		}
	}
	if strings.Join(lines, "\n") != want {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(lines, "\n"), want)
	}
	got, err = s.Check(CheckOptions{Config: config, USN: "user", Regions: []string{"sg"}})
	if err != nil || len(got) != 0 {
		t.Errorf("sg alone: %v %v", got, err)
	}
	for _, opt := range []CheckOptions{{Config: config, USN: "user", Regions: []string{"eu"}}, {Config: config, USN: "nobody"}} {
		if _, err := s.Check(opt); cacerr.ExitCode(err) != 2 {
			t.Errorf("%+v: %v, want a usage error", opt, err)
		}
	}
}

// A Standard is shared by concurrent validations (cac validates regions in parallel).
func TestValidateConcurrently(t *testing.T) {
	s, err := Open(t.Context(), "", FetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v := parseValues(t, "svc/r.yaml", "mysql:\n  main:\n    ip: 10.0.0.1\n    port: 0\n    username: u\n    password: p\n    database: d\n")
	want := brief(s.Validate(Input{Region: "r", Values: v}))
	done := make(chan string)
	for i := 0; i < 8; i++ {
		go func() { done <- brief(s.Validate(Input{Region: "r", Values: v})) }()
	}
	for i := 0; i < 8; i++ {
		if got := <-done; got != want {
			t.Errorf("concurrent validation differs:\n%s\nwant:\n%s", got, want)
		}
	}
	if want != "svc/r.yaml:1:1 env required\nsvc/r.yaml:4:11 mysql.main.port expr" {
		t.Errorf("findings: %s", want)
	}
}
