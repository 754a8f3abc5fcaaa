package policy

import (
	"fmt"
	"path"
	"slices"
)

// Rules are glob patterns over the names clients see, such as "time_*",
// "files_read*", "*" or "?". They follow path.Match: * is any run of
// characters, ? is one character, [a-z] and [^a-z] are classes, and \
// escapes the next character. As in path.Match, * and ? do not match '/';
// tool and prompt names hold none.
type Rules struct {
	// Allow grants the names any pattern matches.
	Allow []string
	// Deny takes away the names any pattern matches, whatever any role
	// allows.
	Deny []string
}

// rules are Rules whose patterns are known to be well formed.
type rules struct{ allow, deny []string }

func checkRules(key string, r Rules) (rules, error) {
	if err := checkPatterns(key+".allow", r.Allow); err != nil {
		return rules{}, err
	}
	if err := checkPatterns(key+".deny", r.Deny); err != nil {
		return rules{}, err
	}
	// Copies, so that a caller changing its slices later changes nothing.
	return rules{allow: slices.Clone(r.Allow), deny: slices.Clone(r.Deny)}, nil
}

func checkPatterns(key string, patterns []string) error {
	for i, pat := range patterns {
		if pat == "" {
			return fmt.Errorf("%s[%d]: the pattern is empty; write a name such as \"time_get_current_time\" or a glob such as \"time_*\", or remove it", key, i)
		}
		// path.Match checks the whole pattern even when the name does not
		// match, so matching against "" finds any syntax error.
		if _, err := path.Match(pat, ""); err != nil {
			return fmt.Errorf("%s[%d]: bad pattern %q: %w; patterns use * (any characters), ? (one character), "+
				"[a-z] or [^a-z] (a class, closed with ]) and \\ to match the next character as itself", key, i, pat, err)
		}
	}
	return nil
}

// matchAny reports whether any of the checked patterns matches name.
func matchAny(patterns []string, name string) bool {
	for _, pat := range patterns {
		if ok, _ := path.Match(pat, name); ok {
			return true
		}
	}
	return false
}
