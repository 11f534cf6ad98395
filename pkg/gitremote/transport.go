package gitremote

import (
	"net"
	"net/http"
	"sync"

	"github.com/go-git/go-git/v5/plumbing/transport/client"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

var installOnce sync.Once

// installTransport makes go-git's http and https transports open connections within
// ConnectTimeout: its default client has no limit of its own, so an address that drops packets
// would take a whole attempt. go-git keeps one transport per scheme for the process; cac reaches
// git servers only through this package, which installs it before its first operation.
func installTransport() {
	installOnce.Do(func() {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DialContext = (&net.Dialer{Timeout: ConnectTimeout, KeepAlive: 30 * ConnectTimeout}).DialContext
		tr.TLSHandshakeTimeout = ConnectTimeout
		c := githttp.NewClient(&http.Client{Transport: tr})
		client.InstallProtocol("http", c)
		client.InstallProtocol("https", c)
	})
}
