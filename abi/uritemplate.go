package abi

import (
	"fmt"
	"strings"
)

// URITemplate is a level-1 RFC 6570 URI template, "file:///notes/{name}.md":
// literal text and simple expressions "{var}". It is what the SDKs match a
// resources/read URI against, and what a host checks a URI a plugin
// announces with notify_resource_updated against, so both agree.
//
// Matching is defined here, as RFC 6570 only defines expansion: the URI
// must hold each literal in turn, and each variable takes the characters
// between them, at least one and no '/'. A variable ends at the first
// occurrence of the literal that follows it; the last variable, when
// nothing follows it, takes the rest of the URI. Values are handed over as
// they appear in the URI, percent-escapes included. Two variables must be
// separated by literal text, so that every URI matches in one way only.
type URITemplate struct {
	literals []string // len(vars)+1 of them; all but the first and last non-empty
	vars     []string
}

// ParseURITemplate reads a level-1 template. Expressions with an operator
// ("{+var}", "{/var}", ...), several variables ("{a,b}") or a modifier
// ("{var*}") are refused, as are adjacent variables and unbalanced braces.
func ParseURITemplate(tmpl string) (*URITemplate, error) {
	t := &URITemplate{}
	rest := tmpl
	for {
		open := strings.IndexByte(rest, '{')
		if close := strings.IndexByte(rest, '}'); close >= 0 && (open < 0 || close < open) {
			return nil, fmt.Errorf("URI template %q has a '}' without its '{'", tmpl)
		}
		if open < 0 {
			t.literals = append(t.literals, rest)
			return t, nil
		}
		lit := rest[:open]
		if len(t.vars) > 0 && lit == "" {
			return nil, fmt.Errorf("URI template %q has two variables with nothing between them; separate them with literal text", tmpl)
		}
		t.literals = append(t.literals, lit)
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return nil, fmt.Errorf("URI template %q has a '{' without its '}'", tmpl)
		}
		name := rest[open+1 : open+end]
		if !varName(name) {
			return nil, fmt.Errorf("URI template %q: {%s} is not a simple variable; only level-1 expressions such as {name} are matched (letters, digits, '_', '.' and %%-escapes)", tmpl, name)
		}
		t.vars = append(t.vars, name)
		rest = rest[open+end+1:]
	}
}

// varName reports whether s is an RFC 6570 variable name: ALPHA, DIGIT,
// '_' and pct-encoded triplets, with '.' between them.
func varName(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '.':
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			i += 2
		default:
			return false
		}
	}
	return true
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// Vars are the template's variable names, in order.
func (t *URITemplate) Vars() []string { return append([]string(nil), t.vars...) }

// Match reports whether uri matches the template, and the value of each
// variable if it does.
func (t *URITemplate) Match(uri string) (map[string]string, bool) {
	rest, ok := strings.CutPrefix(uri, t.literals[0])
	if !ok {
		return nil, false
	}
	vars := make(map[string]string, len(t.vars))
	for i, name := range t.vars {
		next := t.literals[i+1]
		var val string
		if next == "" { // the last variable, with nothing after it
			val, rest = rest, ""
		} else {
			at := strings.Index(rest, next)
			if at < 0 {
				return nil, false
			}
			val, rest = rest[:at], rest[at+len(next):]
		}
		if val == "" || strings.IndexByte(val, '/') >= 0 {
			return nil, false
		}
		vars[name] = val
	}
	if rest != "" {
		return nil, false
	}
	return vars, true
}
