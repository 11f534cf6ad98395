package envs

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cacproj/cac/pkg/cacerr"
)

func TestLoadInventory(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/id.yaml":
			fmt.Fprint(w, "user: {mysql.main.ip: 10.9.1.5, mysql.main.port: 3306}\n_global: {env.physical: pre}\n")
		case "/down":
			http.Error(w, "down", http.StatusBadGateway)
		default:
			t.Errorf("unexpected request %s", r.URL.Path)
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "inv.yaml")
	os.WriteFile(file, []byte("user: {mysql.main: {ip: 1}}\n"), 0o644)
	ctx := context.Background()
	inv, err := LoadInventory(ctx, srv.URL+"/id.yaml", srv.Client())
	if err != nil || fmt.Sprint(inv) != "map[_global:map[env.physical:pre] user:map[mysql.main.ip:10.9.1.5 mysql.main.port:3306]]" {
		t.Errorf("inventory %v, %v", inv, err)
	}
	for _, tc := range []struct {
		ref  string
		code int
		msg  string
	}{
		{srv.URL + "/down", 3, "502 Bad Gateway"},
		{filepath.Join(t.TempDir(), "none.yaml"), 2, "no such file"},
		{file, 2, "user.mysql.main: want a single value"},
	} {
		_, err := LoadInventory(ctx, tc.ref, srv.Client())
		if err == nil || cacerr.ExitCode(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v (exit %d)", tc.ref, err, cacerr.ExitCode(err))
		}
	}
}
