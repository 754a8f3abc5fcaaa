package policy

import (
	"errors"
	"path"
	"strings"
	"testing"

	"golang.org/x/time/rate"
)

func TestAllowed(t *testing.T) {
	roles := map[string]Role{
		"reader": {
			Tools:     Rules{Allow: []string{"time_*", "files_read*", "echo"}},
			Resources: Rules{Allow: []string{"docs_*"}},
		},
		"noexec": {
			Tools: Rules{Allow: []string{"*"}, Deny: []string{"shell_*", "files_read_secret"}},
		},
		"everything": {
			Tools:     Rules{Allow: []string{"*"}},
			Resources: Rules{Allow: []string{"*"}},
			Prompts:   Rules{Allow: []string{"*"}},
		},
		"onechar": {Tools: Rules{Allow: []string{"?"}}},
		"class":   {Tools: Rules{Allow: []string{"db_[^w]*"}}},
		"prompts": {Prompts: Rules{Allow: []string{"summarize"}}},
	}
	p, err := New(roles, Limits{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sub := func(roles ...string) Subject { return Subject{ID: "u", Roles: roles} }
	tests := []struct {
		name    string
		subject Subject
		kind    Kind
		target  string
		want    bool
	}{
		{"exact name", sub("reader"), Tool, "echo", true},
		{"exact name is not a prefix", sub("reader"), Tool, "echo2", false},
		{"prefix glob", sub("reader"), Tool, "time_get_current_time", true},
		{"prefix glob without the underscore", sub("reader"), Tool, "timer", false},
		{"prefix glob on the bare prefix", sub("reader"), Tool, "files_read", true},
		{"name no pattern allows", sub("reader"), Tool, "shell_exec", false},
		{"star allows any tool", sub("noexec"), Tool, "weather_forecast", true},
		{"deny in the same role wins", sub("noexec"), Tool, "shell_exec", false},
		{"deny of an exact name", sub("noexec"), Tool, "files_read_secret", false},
		{"deny of one role wins over another's allow", sub("reader", "noexec"), Tool, "files_read_secret", false},
		{"deny wins whatever the role order", sub("noexec", "everything"), Tool, "shell_exec", false},
		{"union of roles: from the first", sub("onechar", "reader"), Tool, "x", true},
		{"union of roles: from the second", sub("onechar", "reader"), Tool, "time_now", true},
		{"question mark is one character", sub("onechar"), Tool, "xy", false},
		{"question mark does not match nothing", sub("onechar"), Tool, "", false},
		{"negated class", sub("class"), Tool, "db_read", true},
		{"negated class refuses", sub("class"), Tool, "db_write", false},
		{"tool rules do not grant resources", sub("noexec"), Resource, "docs_readme", false},
		{"resource rules", sub("reader"), Resource, "docs_readme", true},
		{"resource rules do not grant tools", sub("reader"), Tool, "docs_readme", false},
		{"prompt rules", sub("prompts"), Prompt, "summarize", true},
		{"prompt rules do not grant tools", sub("prompts"), Tool, "summarize", false},
		{"unknown role grants nothing", sub("admin"), Tool, "echo", false},
		{"unknown role beside a known one", sub("admin", "reader"), Tool, "echo", true},
		{"no roles: deny by default", sub(), Tool, "echo", false},
		{"All allows what no role does", Subject{All: true}, Tool, "shell_exec", true},
		{"All allows what a role denies", Subject{All: true, Roles: []string{"noexec"}}, Tool, "shell_exec", true},
		{"All allows prompts", Subject{All: true}, Prompt, "anything", true},
		{"unknown kind is never allowed", Subject{All: true}, Kind(7), "echo", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Allowed(tt.subject, tt.kind, tt.target); got != tt.want {
				t.Errorf("Allowed(%+v, %v, %q) = %v, want %v", tt.subject, tt.kind, tt.target, got, tt.want)
			}
		})
	}
}

func TestNewCopiesPatterns(t *testing.T) {
	allow := []string{"echo"}
	p, err := New(map[string]Role{"r": {Tools: Rules{Allow: allow}}}, Limits{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	allow[0] = "*"
	if p.Allowed(Subject{Roles: []string{"r"}}, Tool, "shell_exec") {
		t.Error("changing the caller's slice after New widened the policy")
	}
}

func TestNewRejects(t *testing.T) {
	slow := &Limit{Rate: 1, Burst: 1}
	tests := []struct {
		name   string
		roles  map[string]Role
		limits Limits
		opts   Options
		want   []string // substrings of the error
	}{
		{
			name:  "bad tool allow pattern names its index",
			roles: map[string]Role{"ops": {Tools: Rules{Allow: []string{"a", "b", "["}}}},
			want:  []string{`roles.ops.allow[2]: bad pattern "["`, "syntax error", "closed with ]"},
		},
		{
			name:  "bad tool deny pattern",
			roles: map[string]Role{"ops": {Tools: Rules{Deny: []string{`x\`}}}},
			want:  []string{`roles.ops.deny[0]: bad pattern "x\\"`},
		},
		{
			name:  "bad resource pattern",
			roles: map[string]Role{"ops": {Resources: Rules{Allow: []string{"*", "[a-"}}}},
			want:  []string{`roles.ops.resources.allow[1]: bad pattern "[a-"`},
		},
		{
			name:  "bad prompt pattern",
			roles: map[string]Role{"ops": {Prompts: Rules{Deny: []string{"]["}}}},
			want:  []string{`roles.ops.prompts.deny[0]`},
		},
		{
			name:  "empty pattern",
			roles: map[string]Role{"ops": {Tools: Rules{Allow: []string{""}}}},
			want:  []string{"roles.ops.allow[0]: the pattern is empty", `"time_*"`},
		},
		{
			name: "first bad role in name order",
			roles: map[string]Role{
				"zeta":  {Tools: Rules{Allow: []string{"["}}},
				"alpha": {Tools: Rules{Allow: []string{"["}}},
			},
			want: []string{"roles.alpha.allow[0]"},
		},
		{
			name:  "role sets the global limit",
			roles: map[string]Role{"ops": {Limits: &Limits{Global: slow}}},
			want:  []string{"roles.ops.rate_limits.global", "set rate_limits.global instead"},
		},
		{
			name:  "role sets the per-tool limit",
			roles: map[string]Role{"ops": {Limits: &Limits{PerTool: slow}}},
			want:  []string{"roles.ops.rate_limits.per_tool", "per_principal_tool"},
		},
		{
			name:  "role sets a zero rate",
			roles: map[string]Role{"ops": {Limits: &Limits{PerPrincipalTool: &Limit{}}}},
			want:  []string{"roles.ops.rate_limits.per_principal_tool.rate", "more than 0", `"100/s"`},
		},
		{
			name:   "zero global rate",
			limits: Limits{Global: &Limit{Rate: 0, Burst: 5}},
			want:   []string{"rate_limits.global.rate", "more than 0"},
		},
		{
			name:   "negative rate",
			limits: Limits{PerTool: &Limit{Rate: -1}},
			want:   []string{"rate_limits.per_tool.rate"},
		},
		{
			name:   "negative burst",
			limits: Limits{PerPrincipal: &Limit{Rate: 1, Burst: -2}},
			want:   []string{"rate_limits.per_principal.burst: -2 is negative"},
		},
		{
			name: "negative MaxTracked",
			opts: Options{MaxTracked: -1},
			want: []string{"MaxTracked is -1", "0 for the default 10000"},
		},
		{
			name: "negative IdleTTL",
			opts: Options{IdleTTL: -1},
			want: []string{"IdleTTL", "0 for the default 10m0s"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(tt.roles, tt.limits, tt.opts)
			if err == nil {
				t.Fatalf("New accepted it and returned %v", p)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestNewBadPatternWrapsErrBadPattern(t *testing.T) {
	_, err := New(map[string]Role{"ops": {Tools: Rules{Allow: []string{"["}}}}, Limits{}, Options{})
	if !errors.Is(err, path.ErrBadPattern) {
		t.Errorf("error %v does not wrap path.ErrBadPattern", err)
	}
}

func TestNewAcceptsUnlimitedOverride(t *testing.T) {
	_, err := New(map[string]Role{"admin": {Limits: &Limits{PerPrincipal: &Limit{Rate: rate.Inf}}}},
		Limits{PerPrincipal: &Limit{Rate: 1, Burst: 1}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{Tool: "tool", Resource: "resource", Prompt: "prompt", 9: "Kind(9)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}
