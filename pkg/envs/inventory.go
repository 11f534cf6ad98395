package envs

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/cacproj/cac/pkg/cacerr"
)

// LoadInventory reads an inventory from a YAML file or an http(s) URL (client nil: http.DefaultClient).
// A missing file, a 4xx answer or bad YAML are usage errors; an unreachable server or a 5xx is remote.
func LoadInventory(ctx context.Context, ref string, client *http.Client) (Inventory, error) {
	var data []byte
	var err error
	if strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://") {
		data, err = httpInventory(ctx, ref, client)
	} else if data, err = os.ReadFile(ref); err != nil {
		err = cacerr.Usage("inventory: %w", err)
	}
	if err != nil {
		return nil, err
	}
	var inv Inventory
	if err := yaml.Unmarshal(data, &inv); err != nil {
		return nil, cacerr.Usage("inventory %s: want {usn: {value.path: value}}: %w", ref, err)
	}
	for usn, vals := range inv {
		for p, v := range vals {
			switch v.(type) {
			case string, int, float64, bool:
			default:
				return nil, cacerr.Usage("inventory %s: %s.%s: want a single value (string, number, bool), got %T", ref, usn, p, v)
			}
		}
	}
	return inv, nil
}

func httpInventory(ctx context.Context, ref string, client *http.Client) ([]byte, error) {
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ref, nil)
	if err != nil {
		return nil, cacerr.Usage("inventory %s: %w", ref, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, cacerr.Remote(fmt.Errorf("inventory %s: %w", ref, err))
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 500:
		return nil, cacerr.Remote(fmt.Errorf("inventory %s: %s", ref, resp.Status))
	case resp.StatusCode != http.StatusOK:
		return nil, cacerr.Usage("inventory %s: %s", ref, resp.Status)
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, cacerr.Remote(fmt.Errorf("inventory %s: %w", ref, err))
	}
	return data, nil
}
