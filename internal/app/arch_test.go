package app_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/ostiary/ostiary/"

// allowed lists, for every package, the project packages its non-test code
// may import. Imports point one way: cmd → app → transports → services →
// store contract → pure core (docs/architecture.md). A new package needs a
// rule here, and an import that breaks the flow fails the build.
var allowed = map[string][]string{
	"cmd/ostiary": {"app", "authmethods", "config", "directory", "iam"},

	// Compatibility tests against Microsoft's client libraries (tests only).
	"compat": {},

	// Composition root and its test harness.
	"app":         {"*"},
	"app/apptest": {"app", "config", "directory", "store/postgres/pgtest"},
	// A WebDriver client for headless Chromium (no project imports).
	"app/apptest/webdriver": {},

	// Transports: HTTP in, services out; never the store.
	"graphapi":       {"web", "directory", "authmethods", "tokens", "graphapi/odata", "rbac", "errs", "iam", "query"},
	"graphapi/odata": {"errs", "iam", "query"},
	"oidc":           {"web", "tokens", "authn", "oauth2", "errs", "iam"},
	"signin":         {"web", "authn", "tokens", "oauth2", "errs", "iam"},
	"web":            {"errs", "iam"},

	// Services: rules, over the store contract.
	"directory":       {"audit", "authz", "rbac", "passwords", "graphperms", "store", "errs", "iam", "query"},
	"authmethods":     {"audit", "authz", "pace", "store", "errs", "iam", "query"},
	"authn":           {"audit", "pace", "passwords", "graphperms", "rbac", "store", "errs", "iam", "query"},
	"authn/authntest": {"passwords", "graphperms", "store", "errs", "iam", "query"},
	"tokens":          {"store", "errs", "iam", "query"},
	"audit":           {"store", "errs", "iam"},
	"access":          {"authz", "rbac", "store", "errs", "iam", "query"},

	// Test support: a software passkey authenticator (no project imports).
	"authmethods/webauthntest": {},

	// Store contract and its implementations.
	"store":                 {"errs", "iam", "query"},
	"store/sqlstore":        {"store", "errs", "iam", "query"},
	"store/sqlite":          {"store", "store/sqlstore", "errs", "iam", "query"},
	"store/postgres":        {"store", "store/sqlstore", "errs", "iam", "query"},
	"store/postgres/pgtest": {},
	"store/backendtest":     {"store", "store/sqlite", "store/postgres", "store/postgres/pgtest", "store/sqlstore"},
	"store/storetest":       {"store", "errs", "iam", "query"},

	// Leaves and the pure core: no I/O-bearing project imports.
	"authz":             {"errs", "iam", "rbac"},
	"config":            {},
	"directory/dnstest": {},
	"errs":              {},
	"graphperms":        {"iam"},
	"iam":               {"errs"},
	"oauth2":            {"errs"},
	"pace":              {},
	"passwords":         {"errs"},
	"query":             {"errs"},
	"rbac":              {"errs", "iam"},
	"secretbox":         {"errs"},
	"tlsboot":           {"errs"},
}

func TestImportRules(t *testing.T) {
	root := filepath.Join("..", "..")
	imports := map[string]map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		pkg := strings.TrimPrefix(filepath.ToSlash(rel), "internal/")
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		if imports[pkg] == nil {
			imports[pkg] = map[string]bool{}
		}
		for _, imp := range f.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			if rest, ok := strings.CutPrefix(p, module); ok {
				imports[pkg][strings.TrimPrefix(rest, "internal/")] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(imports) < 10 {
		t.Fatalf("found only %d packages; is the walk rooted at the module?", len(imports))
	}
	var pkgs []string
	for p := range imports {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, pkg := range pkgs {
		rule, ok := allowed[pkg]
		if !ok {
			t.Errorf("package %s has no import rule in arch_test.go", pkg)
			continue
		}
		if len(rule) == 1 && rule[0] == "*" {
			continue
		}
		ok2 := map[string]bool{}
		for _, r := range rule {
			ok2[r] = true
		}
		for dep := range imports[pkg] {
			if !ok2[dep] {
				t.Errorf("%s imports %s, which breaks the one-way flow", pkg, dep)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatal("arch test must run from internal/app")
	}
}
