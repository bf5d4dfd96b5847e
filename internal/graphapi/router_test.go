package graphapi

import (
	"reflect"
	"strings"
	"testing"
)

func TestSplitPath(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"users", []string{"users"}},
		{"users/abc/memberOf/microsoft.graph.group", []string{"users", "abc", "memberOf", "microsoft.graph.group"}},
		{"applications(appId='1234')", []string{"applications", "appId=1234"}},
		{"applications(appId='1234')/owners/$ref", []string{"applications", "appId=1234", "owners", "$ref"}},
		{"users('o''brien@x.com')", []string{"users", "o'brien@x.com"}},
		{"users('a/b@x.com')/manager", []string{"users", "a/b@x.com", "manager"}},
		{"users/adele%40contoso.com", []string{"users", "adele@contoso.com"}},
	}
	for _, c := range cases {
		got, ok := splitPath(c.in)
		if !ok || !reflect.DeepEqual(got, c.want) {
			t.Errorf("splitPath(%q) = %q, %v; want %q", c.in, got, ok, c.want)
		}
	}
	if _, ok := splitPath("users/%zz"); ok {
		t.Error("bad escape accepted")
	}
}

func TestRouterPrefersLiteralSegments(t *testing.T) {
	var rt router
	rt.add("GET", "users/{id}/{nav}", nil)
	rt.add("GET", "users/{id}/manager", nil)
	rt.add("POST", "users", nil)
	r, p, found := rt.match("GET", []string{"users", "42", "manager"})
	if !found || r.label != "users/{id}/manager" || p["id"] != "42" {
		t.Fatalf("got %q %v", r.label, p)
	}
	if r, _, _ := rt.match("GET", []string{"users", "42", "memberOf"}); r.label != "users/{id}/{nav}" {
		t.Fatalf("wildcard route not matched: %q", r.label)
	}
	if r, _, found := rt.match("GET", []string{"users"}); r.h != nil || !found {
		t.Fatal("GET on a POST-only path must be found but not matched (405 path)")
	}
	// A wildcard never captures a "$" segment such as $ref or $count.
	if r, _, _ := rt.match("GET", []string{"users", "$count", "x"}); r.label != "" {
		t.Fatalf("wildcard captured $count: %q", r.label)
	}
}

// FuzzSplitPath: the path comes from the network; it must never panic and
// never yield a segment containing '/' outside a quoted key.
func FuzzSplitPath(f *testing.F) {
	for _, s := range []string{"users", "applications(appId='x')/owners/$ref", "users('a/b')", "((", "')", "%", "a(b", "a(')"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		segs, ok := splitPath(in)
		if !ok {
			return
		}
		if !strings.Contains(in, "'") && !strings.Contains(in, "%") {
			for _, s := range segs {
				if strings.Contains(s, "/") {
					t.Fatalf("segment %q contains '/'", s)
				}
			}
		}
	})
}
