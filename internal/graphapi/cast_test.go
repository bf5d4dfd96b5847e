package graphapi

import (
	"slices"
	"testing"

	"github.com/ostiary/ostiary/internal/iam"
)

// The Graph SDKs write every type cast with the namespace alias "graph"
// (/directory/deletedItems/graph.user); Graph accepts both spellings.
func TestCastKindsAcceptsNamespaceAlias(t *testing.T) {
	for _, seg := range []string{"microsoft.graph.user", "graph.user", "graph.User"} {
		kinds, err := castKinds(seg)
		if err != nil || !slices.Equal(kinds, []iam.Kind{iam.KindUser}) {
			t.Errorf("castKinds(%q) = %v, %v", seg, kinds, err)
		}
	}
	for _, seg := range []string{"user", "microsoft.user", "graph.nope", "microsoft.graph.graph.user"} {
		if _, err := castKinds(seg); err == nil {
			t.Errorf("castKinds(%q) accepted", seg)
		}
	}
}
