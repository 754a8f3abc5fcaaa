package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/knadh/koanf/providers/env/v2"
	"gopkg.in/yaml.v3"
)

// EnvPrefix starts the name of every environment variable that sets a key.
// The rest of the name is the key path in capitals, with _ for each dot:
// MOAT_LOG_LEVEL sets log.level, MOAT_SHUTDOWN_TIMEOUT shutdown_timeout.
// Since _ also occurs inside key names, the known keys decide how a name
// splits; no two keys give the same name. Only keys that hold one value,
// outside plugins and roles, can be set this way.
const EnvPrefix = "MOAT_"

// envKey is what a key is to the environment.
type envKey struct {
	path string
	// kind is "" for a key the environment can set, "list" or "mapping"
	// for one it cannot, and "entries" for a mapping of names to settings
	// (plugins, roles), whose entries it cannot reach either.
	kind string
}

// envKeys maps each variable name the configuration's keys give to its key.
var envKeys = knownEnvKeys()

func knownEnvKeys() map[string]envKey {
	keys := map[string]envKey{}
	unmarshaler := reflect.TypeFor[yaml.Unmarshaler]()
	var walk func(t reflect.Type, path string)
	walk = func(t reflect.Type, path string) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("yaml")
			if tag == "" || tag == "-" {
				continue
			}
			k := envKey{path: join(path, tag)}
			ft := f.Type
			if ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct {
				ft = ft.Elem()
			}
			scalar := reflect.PointerTo(ft).Implements(unmarshaler)
			switch {
			case ft.Kind() == reflect.Struct && !scalar:
				k.kind = "mapping"
				walk(ft, k.path)
			case ft.Kind() == reflect.Map:
				k.kind = "entries"
			case ft.Kind() == reflect.Slice:
				k.kind = "list"
			}
			name := envName(k.path)
			if other, ok := keys[name]; ok {
				panic(fmt.Sprintf("config: keys %s and %s both give the variable %s", other.path, k.path, name))
			}
			keys[name] = k
		}
	}
	walk(reflect.TypeFor[Config](), "")
	return keys
}

// envName is the variable that sets the key path.
func envName(path string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(path, ".", "_"))
}

// readEnv checks the MOAT_ variables of environ and returns them as the
// last layer. Relative paths in them are relative to wd, as on the command
// line.
func readEnv(environ []string, wd string) (*layer, error) {
	set := map[string]string{}
	for _, kv := range environ {
		if name, value, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(name, EnvPrefix) {
			set[name] = value
		}
	}
	names := make([]string, 0, len(set))
	for name := range set {
		names = append(names, name)
	}
	slices.Sort(names)

	values := map[string]string{}
	var errs []error
	for _, name := range names {
		k, known := envKeys[name]
		if !known || k.kind != "" {
			errs = append(errs, unknownEnv(name))
			continue
		}
		value := set[name]
		segs := strings.Split(k.path, ".")
		if isPathKey(segs) && isFilePath(segs, value) {
			value = resolveIn(wd, value)
		}
		values[name] = value
	}

	l := newLayer()
	for _, name := range names {
		if _, ok := values[name]; !ok {
			continue
		}
		path := envKeys[name].path
		// Check the value against its key alone, so that an error names
		// the variable rather than a line of the merged configuration.
		var probe Config
		if err := decode(toNode(nest(path, values[name])), reflect.ValueOf(&probe).Elem(), ""); err != nil {
			errs = append(errs, fmt.Errorf("environment variable %s: %w", name, err))
			continue
		}
		origin := "environment variable " + name
		for p := path; p != ""; p = parent(p) {
			l.origins[p] = origin
			if p != path {
				l.mappings[p] = true
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	l.provider = env.Provider(".", env.Opt{
		Prefix:      EnvPrefix,
		EnvironFunc: func() []string { return environ },
		TransformFunc: func(name, _ string) (string, any) {
			if v, ok := values[name]; ok {
				return envKeys[name].path, v
			}
			return "", nil
		},
	})
	return l, nil
}

// nest is the tree that sets the key path to value.
func nest(path, value string) map[string]any {
	segs := strings.Split(path, ".")
	var v any = value
	for i := len(segs) - 1; i >= 0; i-- {
		v = map[string]any{segs[i]: v}
	}
	return v.(map[string]any)
}

// unknownEnv explains why the variable name sets no key, and names the
// nearest ones.
func unknownEnv(name string) error {
	if k, ok := envKeys[name]; ok {
		return fmt.Errorf("environment variable %s: %s is a %s, which the environment cannot set; set it in a configuration file (where a value may be ${env:NAME}), or unset %s",
			name, k.path, strings.Replace(k.kind, "entries", "mapping", 1), name)
	}
	for n, k := range envKeys {
		if k.kind == "entries" && strings.HasPrefix(name, n+"_") {
			return fmt.Errorf("environment variable %s: the entries of %s cannot be set from the environment; set them in a configuration file (where a value may be ${env:NAME}), or unset %s", name, k.path, name)
		}
	}
	type candidate struct {
		name string
		dist int
	}
	var cands []candidate
	for n, k := range envKeys {
		if k.kind == "" {
			cands = append(cands, candidate{n, distance(name, n)})
		}
	}
	slices.SortFunc(cands, func(a, b candidate) int {
		if a.dist != b.dist {
			return a.dist - b.dist
		}
		return strings.Compare(a.name, b.name)
	})
	var near []string
	for _, c := range cands[:min(3, len(cands))] {
		near = append(near, fmt.Sprintf("%s (%s)", c.name, envKeys[c.name].path))
	}
	return fmt.Errorf("environment variable %s sets no configuration key; the nearest are %s; rename it, or unset it (every %s variable must name a key)",
		name, strings.Join(near, ", "), EnvPrefix)
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
