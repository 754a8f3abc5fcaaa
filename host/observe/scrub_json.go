package observe

import (
	"encoding/json"
	"strconv"
	"strings"
)

// ScrubJSON returns a JSON document with every secret redacted, valid JSON
// when data was. Each string value and key is checked both as decoded and as
// written, so a secret is caught whatever escapes the encoder chose ("\"",
// "\u003c", "\u00e9", ...); a string that holds one is written again with
// the secret replaced by "[redacted]". A number or literal that holds a
// secret becomes the string "[redacted]", and so does a number whose
// shortest form, the one Go's encoding/json writes when the document is
// decoded and encoded again (9.18e8 and 918000000.0 become 918000000), holds
// one: moat's results are written again by the MCP library. A secret is not
// looked for across tokens: `"a","b"` is JSON structure, not a value.
//
// Data that is not valid JSON is scrubbed as text, as by Scrub. When nothing
// is redacted, ScrubJSON returns data itself; otherwise a new slice.
func (s *Secrets) ScrubJSON(data []byte) []byte {
	set := s.load()
	if set == nil {
		return data
	}
	text := view(data)
	// Without a backslash every string decodes to the bytes as written, so
	// one search of the whole document settles it.
	if !set.numeric && !strings.Contains(text, `\`) && set.find(text) == nil {
		return data
	}
	if !json.Valid(data) {
		if spans := set.find(text); spans != nil {
			return appendRedacted(nil, text, spans)
		}
		return data
	}
	var out []byte
	last := 0
	for i := 0; i < len(data); {
		var end int
		var rep string
		switch data[i] {
		case '{', '}', '[', ']', ',', ':', ' ', '\t', '\n', '\r':
			i++
			continue
		case '"':
			end = stringEnd(data, i)
			rep = set.scrubString(text[i:end])
		default:
			end = i + 1
			for end < len(data) && !isDelim(data[end]) {
				end++
			}
			if set.find(text[i:end]) != nil || (set.numeric && set.findRewritten(text[i:end])) {
				rep = `"` + redacted + `"`
			}
		}
		if rep != "" {
			out = append(out, data[last:i]...)
			out = append(out, rep...)
			last = end
		}
		i = end
	}
	if out == nil {
		return data
	}
	return append(out, data[last:]...)
}

// findRewritten reports whether tok, a number, holds a secret once it is
// decoded and written again as encoding/json writes a float64.
func (set *secretSet) findRewritten(tok string) bool {
	f, err := strconv.ParseFloat(tok, 64)
	if err != nil {
		return false // a literal, or out of range: it does not decode
	}
	again, err := json.Marshal(f)
	return err == nil && string(again) != tok && set.find(string(again)) != nil
}

// scrubString returns the JSON string token tok with its secrets redacted,
// or "" when it holds none.
func (set *secretSet) scrubString(tok string) string {
	content := tok[1 : len(tok)-1]
	if !strings.Contains(content, `\`) {
		// Written as is: redacting in place keeps it a valid string, since
		// "[redacted]" needs no escape.
		if spans := set.find(content); spans != nil {
			return `"` + string(appendRedacted(nil, content, spans)) + `"`
		}
		return ""
	}
	var decoded string
	if err := json.Unmarshal([]byte(tok), &decoded); err != nil {
		return `"` + redacted + `"` // not reached: the document was valid
	}
	spans := set.find(decoded)
	if spans == nil && set.find(content) == nil {
		return ""
	}
	enc := jsonQuote(string(appendRedacted(nil, decoded, spans)), false)
	if set.find(enc) != nil {
		// The secret shows in the escapes themselves (a secret like `ab\ncd`
		// next to a newline): the value cannot be kept.
		return `"` + redacted + `"`
	}
	return enc
}

// stringEnd returns the index just past the string token starting at
// data[i], which must be a '"' in a valid JSON document.
func stringEnd(data []byte, i int) int {
	for j := i + 1; ; j++ {
		switch data[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
}

// isDelim reports whether c ends a number or literal token.
func isDelim(c byte) bool {
	switch c {
	case '{', '}', '[', ']', ',', ':', '"', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}
