// Command gitserve serves the bare git repositories under a directory over smart HTTP on loopback
// (internal/gitserver: the real `git http-backend`), prints the base URL and runs until killed.
// `make bench` clones and fetches through it.
//
//	go run ./internal/gitserver/gitserve -root DIR
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/cacproj/cac/internal/gitserver"
)

func main() {
	root := flag.String("root", "", "directory holding the bare repositories (required)")
	flag.Parse()
	if *root == "" {
		fmt.Fprintln(os.Stderr, "gitserve: -root is required")
		os.Exit(2)
	}
	srv, err := gitserver.Start(*root, gitserver.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "gitserve:", err)
		os.Exit(2)
	}
	defer srv.Close()
	fmt.Println(srv.URL)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
}
