package app_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ostiary/ostiary/internal/app/apptest"
	"github.com/ostiary/ostiary/internal/config"
)

// TestReadmeCurlExamples runs the README's curl walk-through exactly as
// written, against a server started with the README's fixed credentials,
// so the documented commands cannot drift from what the server does.
func TestReadmeCurlExamples(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "sed"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the README example needs %s: %v", tool, err)
		}
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	block := between(string(readme), "<!-- readme-e2e:begin -->", "<!-- readme-e2e:end -->")
	block = strings.TrimSpace(block)
	block = strings.TrimPrefix(block, "```sh")
	block = strings.TrimSuffix(block, "```")
	if !strings.Contains(block, "oauth2/v2.0/token") {
		t.Fatalf("README example block not found or changed shape:\n%s", block)
	}
	srv := apptest.New(t, func(c *config.Config) {
		c.Bootstrap.TenantID = "4c8e9b61-3f2a-4d7e-9a51-6b0c2e8f1d37"
		c.Bootstrap.TenantName = "contoso"
		c.Bootstrap.ClientID = "0f6c2a8e-5b1d-4e3f-8a7c-9d2e1b4f6a50"
		c.Bootstrap.ClientSecret = "demo-secret-do-not-use-in-production"
	})
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", block)
	cmd.Env = append(os.Environ(), "OSTIARY_URL="+srv.URL, "CURL_CA_BUNDLE="+filepath.Join(srv.Config.DataDir, "tls", "ca.pem"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("README example failed: %v\n%s", err, out)
	}
	got := string(out)
	for _, want := range []string{`"userPrincipalName":"adele@contoso.ostiary.test"`, `"@odata.nextLink"`, `"#microsoft.graph.user"`, `"displayName":"alex Vance"`} {
		if !strings.Contains(got, want) {
			t.Errorf("README example output lacks %s:\n%s", want, got)
		}
	}
}

func between(s, begin, end string) string {
	i := strings.Index(s, begin)
	j := strings.Index(s, end)
	if i < 0 || j < i {
		return ""
	}
	return s[i+len(begin) : j]
}
