package rbac_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/rbac"
)

// TestCases runs the decision cases in testdata/*.rbac. Each file is a
// script: directives build and patch one snapshot (through Apply, so the
// incremental path is what the cases exercise), and check lines evaluate a
// request against the snapshot as it stands. The grammar is in
// testdata/README.md.
func TestCases(t *testing.T) {
	files, err := filepath.Glob("testdata/*.rbac")
	if err != nil || len(files) == 0 {
		t.Fatalf("no case files: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".rbac"), func(t *testing.T) { runScript(t, f) })
	}
}

type script struct {
	t      *testing.T
	s      *rbac.Snapshot
	now    time.Time
	custom map[string]bool
	where  string
}

func runScript(t *testing.T, path string) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := &script{t: t, s: rbac.NewSnapshot(), now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), custom: map[string]bool{}}
	in := bufio.NewScanner(f)
	checks := 0
	for n := 1; in.Scan(); n++ {
		line := in.Text()
		if i := strings.Index(line, "#"); i >= 0 && !strings.Contains(line[:i], `"`) {
			line = line[:i]
		}
		toks, err := tokenize(line)
		if err != nil {
			t.Fatalf("%s:%d: %v", path, n, err)
		}
		if len(toks) == 0 {
			continue
		}
		sc.where = fmt.Sprintf("%s:%d", filepath.Base(path), n)
		if toks[0] == "check" || toks[0] == "validate" || toks[0] == "wids" || toks[0] == "protected" {
			checks++
		}
		if err := sc.do(toks); err != nil {
			t.Errorf("%s: %v", sc.where, err)
		}
	}
	if err := in.Err(); err != nil {
		t.Fatal(err)
	}
	if checks == 0 {
		t.Errorf("%s has no check lines", path)
	}
}

// tokenize splits on spaces; "double quotes" keep spaces inside a token,
// also after key= ("holds=\"Global Administrator\"").
func tokenize(line string) ([]string, error) {
	var toks []string
	var cur strings.Builder
	in, have := false, false
	for _, r := range line {
		switch {
		case r == '"':
			in, have = !in, true
		case (r == ' ' || r == '\t') && !in:
			if have {
				toks = append(toks, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	if in {
		return nil, fmt.Errorf("unterminated quote")
	}
	if have {
		toks = append(toks, cur.String())
	}
	return toks, nil
}

func (sc *script) do(toks []string) error {
	args := toks[1:]
	need := func(n int) error {
		if len(args) < n {
			return fmt.Errorf("%s needs at least %d arguments", toks[0], n)
		}
		return nil
	}
	switch toks[0] {
	case "now":
		if err := need(1); err != nil {
			return err
		}
		t, err := time.Parse(time.RFC3339, args[0])
		sc.now = t
		return err
	case "role":
		if err := need(3); err != nil {
			return err
		}
		sc.custom[args[0]] = true
		return sc.s.Apply(rbac.PutRole{Role: rbac.RoleDefinition{ID: args[0], DisplayName: args[1], IsEnabled: true,
			RolePermissions: []rbac.RolePermission{{AllowedResourceActions: args[2:]}}}})
	case "deleterole":
		if err := need(1); err != nil {
			return err
		}
		return sc.s.Apply(rbac.DeleteRole{ID: sc.roleID(args[0])})
	case "assign":
		if err := need(4); err != nil {
			return err
		}
		a := rbac.Assignment{ID: args[0], PrincipalID: args[1], RoleDefinitionID: sc.roleID(args[2]), DirectoryScopeID: args[3]}
		for _, o := range args[4:] {
			k, v, _ := strings.Cut(o, "=")
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return err
			}
			switch k {
			case "from":
				a.Start = t
			case "until":
				a.End = t
			default:
				return fmt.Errorf("unknown assign option %q", o)
			}
		}
		return sc.s.Apply(rbac.PutAssignment{Assignment: a})
	case "unassign":
		return sc.s.Apply(rbac.DeleteAssignment{ID: args[0]})
	case "member", "unmember", "unit", "ununit":
		if err := need(2); err != nil {
			return err
		}
		var cs []rbac.Change
		for _, m := range args[1:] {
			switch toks[0] {
			case "member":
				cs = append(cs, rbac.AddGroupMember{GroupID: args[0], MemberID: m})
			case "unmember":
				cs = append(cs, rbac.RemoveGroupMember{GroupID: args[0], MemberID: m})
			case "unit":
				cs = append(cs, rbac.AddUnitMember{UnitID: args[0], ObjectID: m})
			case "ununit":
				cs = append(cs, rbac.RemoveUnitMember{UnitID: args[0], ObjectID: m})
			}
		}
		return sc.s.Apply(cs...)
	case "memberships":
		// memberships obj groups=g1,g2 units=u1: replace what the snapshot
		// knows (a feed reader's re-read); an empty list is "groups=".
		if err := need(1); err != nil {
			return err
		}
		c := rbac.SetMemberships{ObjectID: args[0]}
		for _, o := range args[1:] {
			k, v, _ := strings.Cut(o, "=")
			var list []string
			if v != "" {
				list = strings.Split(v, ",")
			}
			switch k {
			case "groups":
				c.Groups = list
			case "units":
				c.Units = list
			default:
				return fmt.Errorf("unknown memberships option %q", o)
			}
		}
		return sc.s.Apply(c)
	case "wids":
		// wids principal => role role...: the tenant-wide built-in roles.
		if err := need(2); err != nil {
			return err
		}
		var want []string
		for _, r := range args[2:] {
			want = append(want, sc.roleID(r))
		}
		slices.Sort(want)
		if got := sc.s.TenantWideRoles(args[0], sc.now); !slices.Equal(got, want) {
			return fmt.Errorf("wids %v, want %v", got, want)
		}
		return nil
	case "protected":
		// protected action target [sensitive] => yes|no
		if err := need(4); err != nil {
			return err
		}
		id, kind, _ := strings.Cut(args[1], ":")
		r := rbac.Request{Action: args[0], Target: rbac.Target{ID: id, Kind: iam.Kind(kind)}}
		i := slices.Index(args, "=>")
		if i < 0 || i+1 >= len(args) {
			return fmt.Errorf("protected needs => yes|no")
		}
		r.SensitiveAttributes = slices.Contains(args[2:i], "sensitive")
		if got, want := rbac.Protected(sc.s, r, sc.now), args[i+1] == "yes"; got != want {
			return fmt.Errorf("protected = %v, want %v", got, want)
		}
		return nil
	case "fail":
		if err := need(2); err != nil {
			return err
		}
		err := sc.do(args[1:])
		if err == nil {
			return fmt.Errorf("%s succeeded, want %s error", strings.Join(args[1:], " "), args[0])
		}
		if got := errs.KindOf(err).String(); got != args[0] {
			return fmt.Errorf("%s failed with %s (%v), want %s", strings.Join(args[1:], " "), got, err, args[0])
		}
		return nil
	case "validate":
		return sc.validate(args)
	case "check":
		return sc.check(args)
	}
	return fmt.Errorf("unknown directive %q", toks[0])
}

// roleID resolves a custom role id from the file, a built-in id, or a
// built-in display name.
func (sc *script) roleID(ref string) string {
	if sc.custom[ref] {
		return ref
	}
	for _, r := range rbac.BuiltinRoles() {
		if r.ID == ref || r.DisplayName == ref {
			return r.ID
		}
	}
	return ref
}

func (sc *script) validate(args []string) error {
	i := slices.Index(args, "=>")
	if i < 0 || i+1 >= len(args) {
		return fmt.Errorf("validate needs => ok|invalid <action>")
	}
	err := rbac.ValidateCustomPermissions(args[:i])
	want := args[i+1:]
	switch {
	case want[0] == "ok" && err != nil:
		return fmt.Errorf("rejected: %v", err)
	case want[0] == "invalid" && err == nil:
		return fmt.Errorf("accepted, want invalid")
	case want[0] == "invalid":
		e := errs.As(err)
		if e.Kind != errs.Invalid || e.Code != "Request_BadRequest" {
			return fmt.Errorf("error %v has kind %s code %q", err, e.Kind, e.Code)
		}
		if len(want) > 1 && !strings.Contains(e.Message, "'"+want[1]+"'") {
			return fmt.Errorf("message %q does not name %s", e.Message, want[1])
		}
	}
	return nil
}

func (sc *script) check(args []string) error {
	i := slices.Index(args, "=>")
	if i < 3 || i+1 >= len(args) {
		return fmt.Errorf("check needs <principal> <action> <target> [options] => allow|deny ...")
	}
	r := rbac.Request{Principal: rbac.Principal{ID: args[0], Type: rbac.User}, Action: args[1]}
	if args[2] != "-" {
		id, rest, _ := strings.Cut(args[2], ":")
		kind, sub, _ := strings.Cut(rest, "/")
		r.Target = rbac.Target{ID: id, Kind: iam.Kind(kind), Subtype: sub}
	}
	for _, o := range args[3:i] {
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "as":
			r.Principal.Type = rbac.PrincipalType(v)
		case "default":
			r.Principal.DefaultRoleID = sc.roleID(v)
		case "owner":
			r.Target.OwnedByPrincipal = true
		case "roleassignable":
			r.Target.RoleAssignable = true
		case "sensitive":
			r.SensitiveAttributes = true
		case "units":
			r.Target.AdministrativeUnits = strings.Split(v, ",")
		case "holds":
			r.Target.Roles = append(r.Target.Roles, sc.roleID(v))
		case "protected":
			r.Target.ProtectedMember = true
		case "restricted":
			r.Target.Restricted = true
		case "anytarget":
			r.AnyTarget = true
		default:
			return fmt.Errorf("unknown check option %q", o)
		}
	}
	d := rbac.Evaluate(sc.s, r, sc.now)
	if len(d.Reasons) == 0 {
		return fmt.Errorf("decision without reasons")
	}
	if a := rbac.Allowed(sc.s, r, sc.now); a != d.Allowed {
		return fmt.Errorf("Allowed says %v, Evaluate says %v", a, d.Allowed)
	}
	explain := func() string {
		var b strings.Builder
		for _, x := range d.Reasons {
			b.WriteString("\n\t\t" + x.String())
		}
		return b.String()
	}
	want := args[i+1:]
	switch want[0] {
	case "allow":
		if !d.Allowed {
			return fmt.Errorf("denied, want allowed:%s", explain())
		}
		got := d.Reasons[0]
		for _, w := range want[1:] {
			k, v, hasV := strings.Cut(w, "=")
			switch {
			case k == "via" && hasV:
				if got.GroupID != v {
					return fmt.Errorf("granted through group %q, want %q:%s", got.GroupID, v, explain())
				}
			case w == "default":
				if got.Source != rbac.Default {
					return fmt.Errorf("granted by %s, want the default role:%s", got.Source, explain())
				}
			case w == "self" || w == "owner":
				if (w == "self") != (got.Condition == rbac.ResourceIsSelf) || (w == "owner") != (got.Condition == rbac.SubjectIsOwner) {
					return fmt.Errorf("granted with condition %q, want %s:%s", got.Condition, w, explain())
				}
			default:
				if got.AssignmentID != w {
					return fmt.Errorf("granted by %q, want %q:%s", got.AssignmentID, w, explain())
				}
			}
		}
	case "deny":
		if d.Allowed {
			return fmt.Errorf("allowed, want denied:%s", explain())
		}
		for _, c := range want[1:] {
			if !slices.ContainsFunc(d.Reasons, func(x rbac.Reason) bool { return string(x.Code) == c }) {
				return fmt.Errorf("no %s reason:%s", c, explain())
			}
		}
	default:
		return fmt.Errorf("want allow or deny, got %q", want[0])
	}
	if testing.Verbose() {
		sc.t.Logf("%s: %v%s", sc.where, d.Allowed, explain())
	}
	return nil
}
