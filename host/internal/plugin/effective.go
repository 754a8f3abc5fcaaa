package plugin

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/moat-mcp/moat/abi"
	"github.com/moat-mcp/moat/host/config"
	"github.com/moat-mcp/moat/sandbox"
)

// Notice is one difference between what a plugin asks for and what its
// operator grants, found once at load.
type Notice struct {
	// Warn is set for a grant the plugin did not ask for, which is
	// ignored; unset for a request not granted, whose host calls answer
	// -EPERM.
	Warn bool
	Msg  string
}

// Effective is what a plugin may use: each capability it both asks for
// and is granted, as the grant says. A grant it did not ask for is dropped
// with a warning; a request not granted stays refused with a notice that
// says what to grant.
func Effective(plugin string, asked abi.Capabilities, granted config.Grants) (config.Grants, []Notice) {
	var (
		eff     config.Grants
		notices []Notice
	)
	key := "plugins." + plugin + ".grants."
	notGranted := func(what, how string) {
		notices = append(notices, Notice{Msg: fmt.Sprintf("plugin %q asks for %s, which is not granted: its calls will answer EPERM; to allow it, set %s", plugin, what, how)})
	}
	notAsked := func(what string) {
		notices = append(notices, Notice{Warn: true, Msg: fmt.Sprintf("plugin %q is granted %s but does not ask for it; the grant is ignored (remove %s, or rebuild the plugin to ask for it)", plugin, what, key+what)})
	}

	switch {
	case asked.HTTP != nil && granted.HTTP != nil:
		eff.HTTP = granted.HTTP
		var missing []string
		for _, h := range asked.HTTP.Hosts {
			if h != "*" && !slices.Contains(granted.HTTP.Hosts, h) {
				missing = append(missing, h)
			}
		}
		if len(missing) > 0 {
			notices = append(notices, Notice{Msg: fmt.Sprintf("plugin %q asks for http to %s, not among the hosts granted; requests there answer EPERM unless %shttp.hosts lists them", plugin, strings.Join(missing, ", "), key)})
		}
	case asked.HTTP != nil:
		notGranted("http to "+strings.Join(asked.HTTP.Hosts, ", "), key+"http: {hosts: [...]}")
	case granted.HTTP != nil:
		notAsked("http")
	}

	switch {
	case asked.KV && granted.KV != nil:
		eff.KV = granted.KV
	case asked.KV:
		notGranted("kv", key+"kv: {}")
	case granted.KV != nil:
		notAsked("kv")
	}

	// Config values: the ones asked for and granted; values granted but not
	// asked for are dropped, asked but not granted are noticed.
	for _, k := range asked.Config {
		if v, ok := granted.Config[k]; ok {
			if eff.Config == nil {
				eff.Config = make(map[string]string)
			}
			eff.Config[k] = v
		} else {
			notGranted("config value "+k, key+"config."+k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(granted.Config)) {
		if !slices.Contains(asked.Config, k) {
			notAsked("config." + k)
		}
	}

	// Mounts: each granted mount whose guest path the plugin asks for. A
	// plugin asking for a mount read-only gets it read-only even when rw
	// is granted.
	for _, g := range granted.FS {
		i := slices.IndexFunc(asked.FS, func(a abi.FSCapability) bool { return a.Mount == g.Mount })
		if i < 0 {
			notAsked("fs mount " + g.Mount)
			continue
		}
		if asked.FS[i].Mode != "rw" {
			g.Mode = "ro"
		}
		eff.FS = append(eff.FS, g)
	}
	for _, a := range asked.FS {
		i := slices.IndexFunc(granted.FS, func(g config.FSGrant) bool { return g.Mount == a.Mount })
		switch {
		case i < 0:
			notGranted("the fs mount "+a.Mount, key+"fs: [{path: FOLDER, mount: "+a.Mount+"}]")
		case a.Mode == "rw" && !granted.FS[i].Writable():
			notices = append(notices, Notice{Msg: fmt.Sprintf("plugin %q asks to write to %s, which is granted read-only: its writes there will fail; to allow them, set mode: rw on that mount in %sfs", plugin, a.Mount, key)})
		}
	}

	for _, c := range []struct {
		name           string
		asked, granted bool
		set            *bool
	}{
		{"sampling", asked.Sampling, granted.Sampling, &eff.Sampling},
		{"elicitation", asked.Elicitation, granted.Elicitation, &eff.Elicitation},
	} {
		switch {
		case c.asked && c.granted:
			*c.set = true
		case c.asked:
			notGranted(c.name, key+c.name+": true")
		case c.granted:
			notAsked(c.name)
		}
	}
	return eff, notices
}

// mounts are the sandbox mounts of effective grants.
func mounts(g config.Grants) []sandbox.Mount {
	var ms []sandbox.Mount
	for _, m := range g.FS {
		ms = append(ms, sandbox.Mount{HostPath: m.Path, GuestPath: m.Mount, Writable: m.Writable()})
	}
	return ms
}
