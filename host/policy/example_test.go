package policy_test

import (
	"fmt"
	"time"

	"github.com/moat-mcp/moat/host/policy"
)

func Example() {
	perMinute, _ := policy.ParseRate("2/m")
	roles := map[string]policy.Role{
		"reader": {Tools: policy.Rules{Allow: []string{"time_*", "files_read*"}}},
		"ops":    {Tools: policy.Rules{Allow: []string{"*"}, Deny: []string{"shell_*"}}},
	}
	limits := policy.Limits{PerPrincipalTool: &policy.Limit{Rate: perMinute, Burst: 2}}
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	p, err := policy.New(roles, limits, policy.Options{Now: func() time.Time { return now }})
	if err != nil {
		fmt.Println(err)
		return
	}

	alice := policy.Subject{ID: "alice", Roles: []string{"reader", "ops"}}
	fmt.Println(p.Allowed(alice, policy.Tool, "time_get_current_time"))
	fmt.Println(p.Allowed(alice, policy.Tool, "shell_exec"))

	for range 3 {
		d := p.Take(alice, "time_get_current_time", true)
		fmt.Println(d.OK, d.Scope, d.RetryAfter)
	}

	_, err = policy.New(map[string]policy.Role{"ops": {Tools: policy.Rules{Allow: []string{"time_[a"}}}}, policy.Limits{}, policy.Options{})
	fmt.Println(err != nil)
	// Output:
	// true
	// false
	// true  0s
	// true  0s
	// false principal_tool 30s
	// true
}
