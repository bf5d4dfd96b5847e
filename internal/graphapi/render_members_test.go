package graphapi

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzMembers checks that members, which splits documents by hand for
// speed, agrees with json.Unmarshal into map[string]json.RawMessage on
// every input: same error or none, same keys, same value bytes.
func FuzzMembers(f *testing.F) {
	for _, s := range []string{
		``, `null`, `[1]`, `"x"`, `{}`, ` { } `, `{"a":1`, `{"a":1}`,
		`{"a" : [1, {"b":"}"}] , "c":"x\"y", "d":null,"e":true,"f":-1.5e3}`,
		`{"k\u0041":1}`, `{"é":1}`, `{"a":{"b":{}},"a":2}`, "{\n\"a\"\t:\r\n\"\\\\\" }", `{"a":"\ud800"}`,
		`{"id":"x","displayName":"A <b> & c","businessPhones":[],"passwordProfile":{"forceChangePasswordNextSignIn":false}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var want map[string]json.RawMessage
		werr := json.Unmarshal(data, &want)
		got, gerr := members(data)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("%q: json.Unmarshal error %v, members error %v", data, werr, gerr)
		}
		if werr != nil {
			return
		}
		if (want == nil) != (got == nil) || len(want) != len(got) {
			t.Fatalf("%q: json.Unmarshal %q, members %q", data, want, got)
		}
		for k, v := range want {
			if g, ok := got[k]; !ok || !bytes.Equal(g, v) {
				t.Fatalf("%q: key %q: json.Unmarshal %q, members %q", data, k, v, g)
			}
		}
	})
}
