package directory

// ApplyPatchForTest exposes applyPatch to the external fuzz test with the
// read-only properties of a user.
func ApplyPatchForTest(u any, p Patch) error {
	_, err := applyPatch(u, p, "microsoft.graph.user", "id", "createdDateTime")
	return err
}
