package graphapi

import (
	"net/http"
	"net/url"
	"strings"
)

// Graph addresses entities with OData key syntax that net/http patterns
// cannot express (applications(appId='…'), users('$x@y'), type-cast
// segments), so the Graph namespace has its own small segment router. A
// route is a method and a pattern of segments where "{x}" matches any one
// segment; key syntax is normalised first: "name(k)" becomes the two
// segments "name" and "k", and "appId='v'" keys become "appId=v".

// params holds the wildcard values of a matched route.
type params map[string]string

type handlerFunc func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error

type route struct {
	method  string
	pattern []string
	label   string
	h       handlerFunc
}

type router struct{ routes []route }

func (rt *router) add(method, pattern string, h handlerFunc) {
	rt.routes = append(rt.routes, route{method: method, pattern: strings.Split(pattern, "/"), label: pattern, h: h})
}

// match finds the route for method and segments. When several patterns
// match, the one with the most literal segments wins, so
// "users/{id}/manager" beats "users/{id}/{nav}" whatever the order of
// registration. found reports whether the path exists for some method
// (for 405 vs 404).
func (rt *router) match(method string, segs []string) (route, params, bool) {
	pathFound := false
	var best route
	var bestParams params
	bestScore := -1
	for _, r := range rt.routes {
		if len(r.pattern) != len(segs) {
			continue
		}
		p := params{}
		ok := true
		score := 0
		for i, s := range r.pattern {
			if strings.HasPrefix(s, "{") {
				if segs[i] == "" || strings.HasPrefix(segs[i], "$") {
					ok = false
					break
				}
				p[s[1:len(s)-1]] = segs[i]
			} else if !strings.EqualFold(s, segs[i]) {
				ok = false
				break
			} else {
				score++
			}
		}
		if !ok {
			continue
		}
		pathFound = true
		if r.method == method && score > bestScore {
			best, bestParams, bestScore = r, p, score
		}
	}
	return best, bestParams, pathFound
}

// splitPath turns a Graph path (after the version) into segments.
func splitPath(raw string) ([]string, bool) {
	raw = strings.Trim(raw, "/")
	if raw == "" {
		return nil, true
	}
	var out []string
	for _, part := range splitOutsideQuotes(raw) {
		seg, err := url.PathUnescape(part)
		if err != nil {
			return nil, false
		}
		if i := strings.IndexByte(seg, '('); i > 0 && strings.HasSuffix(seg, ")") {
			out = append(out, seg[:i], normalizeKey(seg[i+1:len(seg)-1]))
			continue
		}
		out = append(out, seg)
	}
	return out, true
}

// splitOutsideQuotes splits on '/' except inside single-quoted keys, so a
// UPN key like users('a/b@c') stays whole.
func splitOutsideQuotes(s string) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\'':
			quoted = !quoted
		case '/':
			if !quoted {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// normalizeKey turns "appId='v'" into "appId=v" and "'v'" into "v",
// unescaping doubled quotes.
func normalizeKey(k string) string {
	name := ""
	if i := strings.IndexByte(k, '='); i > 0 && !strings.HasPrefix(k, "'") {
		name, k = k[:i]+"=", k[i+1:]
	}
	if len(k) >= 2 && k[0] == '\'' && k[len(k)-1] == '\'' {
		k = strings.ReplaceAll(k[1:len(k)-1], "''", "'")
	}
	return name + k
}
