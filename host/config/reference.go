package config

import (
	"fmt"
	"strings"
)

// References let a file name a secret instead of holding it: in any value,
// ${env:NAME} is replaced by the environment variable NAME and
// ${file:PATH} by the contents of the file at PATH (relative to the folder
// of the configuration file, one trailing newline trimmed). $${ is a
// literal ${. The values read are secrets: see Config.SecretValues.

// expand replaces the references in s. It returns the result and the
// values the references read. dir is what a relative ${file:} path is
// relative to. Errors name the reference, never its value.
func expand(s string, lookup func(string) (string, bool), dir string) (string, []string, error) {
	if !strings.Contains(s, "${") {
		return s, nil, nil
	}
	var out strings.Builder
	var read []string
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			out.WriteString(s)
			return out.String(), read, nil
		}
		if i > 0 && s[i-1] == '$' {
			out.WriteString(s[:i-1])
			out.WriteString("${")
			s = s[i+2:]
			continue
		}
		out.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", nil, fmt.Errorf("a ${ is never closed by }; write ${env:NAME} or ${file:PATH}, or $${ for a literal ${")
		}
		ref := s[i : i+end+1]
		value, err := dereference(ref, lookup, dir)
		if err != nil {
			return "", nil, err
		}
		out.WriteString(value)
		read = append(read, value)
		s = s[i+end+1:]
	}
}

// dereference reads one reference, written ${KIND:ARG}.
func dereference(ref string, lookup func(string) (string, bool), dir string) (string, error) {
	kind, arg, ok := strings.Cut(ref[2:len(ref)-1], ":")
	switch {
	case ok && kind == "env" && arg != "":
		v, set := lookup(arg)
		if !set {
			return "", fmt.Errorf("%s: the environment variable %s is not set; set it, or write $${ for a literal ${", ref, arg)
		}
		return v, nil
	case ok && kind == "file" && arg != "":
		data, err := readRegular(resolveIn(dir, arg), maxReferenceFile)
		if err != nil {
			return "", fmt.Errorf("%s: %w; make the file readable by moat, or fix the path (a relative one starts in the configuration file's folder)", ref, err)
		}
		v := string(data)
		if t, ok := strings.CutSuffix(v, "\n"); ok {
			v = strings.TrimSuffix(t, "\r")
		}
		return v, nil
	}
	return "", fmt.Errorf("%s is not a reference moat knows; write ${env:NAME} or ${file:PATH}, or $${ for a literal ${", ref)
}

// lookupIn looks variables up in environ, as os.Environ returns it; the
// last of two settings of one name wins.
func lookupIn(environ []string) func(string) (string, bool) {
	vars := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}
