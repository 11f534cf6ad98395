package obs

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestPushURL(t *testing.T) {
	b64 := func(s string) string { return base64.URLEncoding.EncodeToString([]byte(s)) }
	for _, c := range []struct {
		base   string
		labels []Label
		want   string
	}{
		{"http://gw:9091", nil, "http://gw:9091/metrics/job/cac"},
		{"http://gw:9091/", []Label{{"command", "build"}, {"usn", "user"}}, "http://gw:9091/metrics/job/cac/command/build/usn/user"},
		// a value with "/" is base64 (URL-safe alphabet), as is an empty value
		{"https://gw.example.com/push/", []Label{{"command", "env copy"}, {"usn", "team/user"}, {"regions", ""}},
			"https://gw.example.com/push/metrics/job/cac/command/env%20copy/usn@base64/" + b64("team/user") + "/regions@base64/="},
		{"http://gw:9091", []Label{{"usn", "??/>>>"}}, "http://gw:9091/metrics/job/cac/usn@base64/" + b64("??/>>>")},
		// other special characters are path-escaped; query and fragment of the base are dropped
		{"http://u:p@gw:9091/a%2Fb?x=1#f", []Label{{"regions", "sg,us"}, {"usn", "a?b%c#d"}},
			"http://u:p@gw:9091/a%2Fb/metrics/job/cac/regions/sg%2Cus/usn/a%3Fb%25c%23d"},
	} {
		got, err := PushURL(c.base, "cac", c.labels)
		if err != nil || got != c.want {
			t.Errorf("PushURL(%q, %v) = %q, %v\nwant %q", c.base, c.labels, got, err, c.want)
		}
	}
	if b64("??/>>>") != "Pz8vPj4-" {
		t.Errorf("not the URL-safe alphabet: %s", b64("??/>>>"))
	}
	for _, bad := range []string{"gw:9091", "ftp://gw/", "http://", "http://gw/%zz", ":"} {
		if got, err := PushURL(bad, "cac", nil); err == nil {
			t.Errorf("PushURL(%q) = %q, no error", bad, got)
		}
	}
}

func TestPush(t *testing.T) {
	type request struct {
		method, path, ctype, user, pass, body string
	}
	var got []request
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		user, pass, _ := r.BasicAuth()
		got = append(got, request{r.Method, r.URL.EscapedPath(), r.Header.Get("Content-Type"), user, pass, string(body)})
		if status != http.StatusOK {
			http.Error(w, "pushed metrics are invalid: tok-SEED-push", status)
		}
	}))
	defer srv.Close()
	withCreds := strings.Replace(srv.URL, "http://", "http://ci:tok-SEED-push@", 1)

	metrics := []byte("# TYPE x gauge\nx 1\n")
	if err := Push(context.Background(), srv.Client(), withCreds, "cac", []Label{{"command", "build"}, {"usn", "a/b"}}, metrics); err != nil {
		t.Fatal(err)
	}
	want := request{http.MethodPut, "/metrics/job/cac/command/build/usn@base64/YS9i", "text/plain; version=0.0.4; charset=utf-8", "ci", "tok-SEED-push", string(metrics)}
	if len(got) != 1 || got[0] != want {
		t.Errorf("requests %+v\nwant %+v", got, want)
	}

	// an answer other than 2xx is an error with the gateway's reason; credentials never appear
	status = http.StatusBadRequest
	err := Push(context.Background(), srv.Client(), withCreds, "cac", nil, metrics)
	if err == nil || !strings.Contains(err.Error(), "push metrics to "+srv.URL+": the gateway answered 400 Bad Request: pushed metrics are invalid: ***") ||
		strings.Contains(err.Error(), "tok-SEED") {
		t.Errorf("err = %v", err)
	}
	// nothing listening, and an invalid URL
	for _, bad := range []string{"http://ci:tok-SEED-push@127.0.0.1:1/", "ci:tok-SEED-push@gw"} {
		err = Push(context.Background(), nil, bad, "cac", nil, metrics)
		if err == nil || strings.Contains(err.Error(), "tok-SEED") || !strings.HasPrefix(err.Error(), "push metrics to ") {
			t.Errorf("Push(%q) err = %v", bad, err)
		}
	}
}

func TestPushTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := Push(ctx, srv.Client(), srv.URL, "cac", nil, nil); err == nil {
		t.Error("a gateway that never answers did not fail the push")
	}
}
