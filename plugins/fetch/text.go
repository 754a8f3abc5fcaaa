package main

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// readable reduces an HTML document to text a model reads easily: the
// main content only when the page marks it (<main>, or a lone <article>),
// headings as #, list items as - or 1., links as [text](url) with the URL
// made absolute against base, code blocks fenced, table cells joined by |,
// and no scripts, styles, navigation or hidden elements.
func readable(doc string, base *url.URL) string {
	doc, cut := lighten(doc)
	text := reduce(doc, base)
	if cut {
		text += fmt.Sprintf("\n\n[The page is larger than this tool converts: what follows its first %d KiB of HTML, scripts and styles left out, is missing.]", maxHTML>>10)
	}
	return text
}

// maxHTML bounds the HTML parsed: the tree takes some 16 bytes for each
// byte of markup, and it must fit in the plugin's memory (64MiB unless
// the operator sets limits.memory) beside the response itself. Under the
// default limits.output of 1MiB no response is larger anyway.
const maxHTML = 1 << 20

// lighten drops scripts, styles and comments, which are often most of a
// page's bytes and none of its text, and cuts what remains at maxHTML. It
// looks at each '<' once: compiled to WebAssembly, byte loops are slow.
func lighten(doc string) (string, bool) {
	var b strings.Builder
	b.Grow(min(len(doc), maxHTML))
	kept := 0 // doc[kept:] is not written yet
	for i := 0; ; {
		j := strings.IndexByte(doc[i:], '<')
		if j < 0 {
			break
		}
		i += j
		closer := heavyCloser(doc[i:])
		if closer == "" {
			i++
			continue
		}
		b.WriteString(doc[kept:i])
		end := indexFold(doc[i+1:], closer)
		if end < 0 {
			kept = len(doc)
			break
		}
		i += 1 + end + len(closer)
		if closer != "-->" { // </script ... >
			if k := strings.IndexByte(doc[i:], '>'); k >= 0 {
				i += k + 1
			} else {
				i = len(doc)
			}
		}
		kept = i
		if b.Len() > maxHTML {
			break
		}
	}
	rest := doc[kept:]
	if room := maxHTML + 1 - b.Len(); len(rest) > room {
		rest = rest[:max(room, 0)] // enough to tell that it was cut
	}
	b.WriteString(rest)
	out := b.String()
	if len(out) <= maxHTML {
		return out, false
	}
	cut := maxHTML
	for cut > 0 && !utf8.RuneStart(out[cut]) {
		cut--
	}
	return out[:cut], true
}

// heavyCloser returns what ends the script, style or comment s starts
// with, or "" if it starts with none of them.
func heavyCloser(s string) string {
	switch {
	case strings.HasPrefix(s, "<!--"):
		return "-->"
	case hasTag(s, "<script"):
		return "</script"
	case hasTag(s, "<style"):
		return "</style"
	}
	return ""
}

// hasTag reports whether s starts with the tag open (lower case, any case
// in s) followed by the end of the name, so <scripts> is not <script.
func hasTag(s, open string) bool {
	if len(s) < len(open) || !strings.EqualFold(s[:len(open)], open) {
		return false
	}
	return len(s) == len(open) || !isNameByte(s[len(open)])
}

func isNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// indexFold is strings.Index ignoring ASCII case in s, for a sub that is
// lower case and starts with a byte that has no case ('<' or '-').
func indexFold(s, sub string) int {
	for i := 0; ; {
		j := strings.IndexByte(s[i:], sub[0])
		if j < 0 {
			return -1
		}
		i += j
		if len(s)-i < len(sub) {
			return -1
		}
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
		i++
	}
}

func reduce(doc string, base *url.URL) string {
	root, err := html.Parse(strings.NewReader(doc))
	if err != nil { // Parse fails only past 512 levels of nesting
		return strings.Join(strings.Fields(doc), " ")
	}
	if b := find(root, atom.Base, 1); len(b) == 1 && base != nil {
		if u, err := base.Parse(strings.TrimSpace(attr(b[0], "href"))); err == nil && attr(b[0], "href") != "" {
			base = u // links are relative to <base href>, when the page sets one
		}
	}
	w := &textWriter{base: base}
	title := ""
	if t := find(root, atom.Title, 1); len(t) == 1 {
		title = collapse(textContent(t[0]))
	}
	content := root
	if m := find(root, atom.Main, 1); len(m) == 1 {
		content = m[0]
	} else if a := find(root, atom.Article, 2); len(a) == 1 {
		content = a[0]
	}
	w.node(content)
	text := strings.TrimSpace(w.b.String())
	if title != "" && !strings.HasPrefix(text, "# "+title) {
		text = strings.TrimSpace("# " + title + "\n\n" + text)
	}
	return text
}

// skipped are elements whose content is not text for a reader.
var skipped = map[atom.Atom]bool{
	atom.Head: true, atom.Script: true, atom.Style: true, atom.Noscript: true,
	atom.Template: true, atom.Svg: true, atom.Math: true, atom.Iframe: true,
	atom.Object: true, atom.Embed: true, atom.Canvas: true, atom.Nav: true,
	atom.Button: true, atom.Input: true, atom.Select: true, atom.Textarea: true,
	atom.Img: true, atom.Picture: true, atom.Video: true, atom.Audio: true,
	atom.Dialog: true,
}

// blocks are elements that stand apart from the text around them.
var blocks = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.Section: true, atom.Article: true,
	atom.Main: true, atom.Header: true, atom.Footer: true, atom.Aside: true,
	atom.Blockquote: true, atom.Figure: true, atom.Figcaption: true,
	atom.Form: true, atom.Address: true, atom.Details: true, atom.Summary: true,
	atom.Dl: true, atom.Dt: true, atom.Dd: true, atom.Fieldset: true,
	atom.Table: true, atom.Caption: true, atom.Body: true, atom.Html: true,
}

// textWriter accumulates the text, with whitespace collapsed as a browser
// would: breaks and spaces are held back until the next word, so that
// neither piles up.
type textWriter struct {
	b      strings.Builder
	base   *url.URL
	breaks int   // newlines owed before the next word
	space  bool  // a space owed before the next word on the same line
	pre    int   // depth inside <pre>
	lists  []int // per open list: 0 for <ul>, else the next number of <ol>
	cells  int   // cells written in the current table row
}

// lineBreak owes n newlines (2: a blank line) before what comes next.
func (w *textWriter) lineBreak(n int) {
	w.breaks = max(w.breaks, n)
	w.space = false
}

// write puts s on the page after any owed break or space.
func (w *textWriter) write(s string) {
	if s == "" {
		return
	}
	if w.b.Len() > 0 {
		if w.breaks > 0 {
			w.b.WriteString(strings.Repeat("\n", w.breaks))
			w.b.WriteString(strings.Repeat("  ", max(len(w.lists)-1, 0)))
		} else if w.space {
			w.b.WriteByte(' ')
		}
	}
	w.breaks, w.space = 0, false
	w.b.WriteString(s)
}

// words writes the words of a text node, keeping the spaces at its edges.
func (w *textWriter) words(s string) {
	f := strings.Fields(s)
	if len(f) == 0 {
		if s != "" && w.breaks == 0 {
			w.space = true
		}
		return
	}
	if isSpace(s[0]) && w.breaks == 0 {
		w.space = true
	}
	w.write(strings.Join(f, " "))
	w.space = isSpace(s[len(s)-1])
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

func (w *textWriter) children(n *html.Node) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		w.node(c)
	}
}

func (w *textWriter) node(n *html.Node) {
	switch n.Type {
	case html.DocumentNode:
		w.children(n)
		return
	case html.TextNode:
		if w.pre > 0 {
			w.write(n.Data)
		} else {
			w.words(n.Data)
		}
		return
	case html.ElementNode:
	default:
		return
	}
	if skipped[n.DataAtom] || hidden(n) {
		return
	}
	switch a := n.DataAtom; {
	case a == atom.H1 || a == atom.H2 || a == atom.H3 || a == atom.H4 || a == atom.H5 || a == atom.H6:
		if t := collapse(textContent(n)); t != "" {
			w.lineBreak(2)
			w.write(strings.Repeat("#", int(n.Data[1]-'0')) + " " + t)
			w.lineBreak(2)
		}
	case a == atom.Br:
		w.write("")
		w.lineBreak(1)
	case a == atom.Hr:
		w.lineBreak(2)
		w.write("---")
		w.lineBreak(2)
	case a == atom.Pre:
		w.lineBreak(2)
		w.write("```")
		w.lineBreak(1)
		w.pre++
		body := textContent(n)
		w.write(strings.TrimSuffix(strings.TrimPrefix(body, "\n"), "\n"))
		w.pre--
		w.lineBreak(1)
		w.write("```")
		w.lineBreak(2)
	case a == atom.Code || a == atom.Kbd || a == atom.Samp:
		if t := collapse(textContent(n)); t != "" {
			w.write("`" + t + "`")
		}
	case a == atom.A:
		w.link(n)
	case a == atom.Ul || a == atom.Ol:
		w.lineBreak(2 - min(len(w.lists), 1)) // a nested list follows its item's line
		next := 0
		if a == atom.Ol {
			next = 1
			if s, err := strconv.Atoi(attr(n, "start")); err == nil {
				next = s
			}
		}
		w.lists = append(w.lists, next)
		w.children(n)
		w.lists = w.lists[:len(w.lists)-1]
		w.lineBreak(2 - min(len(w.lists), 1))
	case a == atom.Li:
		w.lineBreak(1)
		marker := "-"
		if d := len(w.lists) - 1; d >= 0 && w.lists[d] > 0 {
			marker = strconv.Itoa(w.lists[d]) + "."
			w.lists[d]++
		}
		w.write(marker)
		w.space = true
		w.children(n)
		w.lineBreak(1)
	case a == atom.Tr:
		w.lineBreak(1)
		w.cells = 0
		w.children(n)
		w.lineBreak(1)
	case a == atom.Td || a == atom.Th:
		if w.cells > 0 {
			w.write("|")
			w.space = true
		}
		w.cells++
		w.children(n)
		w.space = true
	case blocks[a]:
		w.lineBreak(2)
		w.children(n)
		w.lineBreak(2)
	default:
		w.children(n)
	}
}

// link writes an anchor as [text](absolute URL), or as its text alone when
// it leads nowhere a reader could follow.
func (w *textWriter) link(n *html.Node) {
	t := collapse(textContent(n))
	if t == "" {
		return
	}
	href := strings.TrimSpace(attr(n, "href"))
	u, err := url.Parse(href)
	if href == "" || strings.HasPrefix(href, "#") || err != nil {
		w.write(t)
		return
	}
	if w.base != nil {
		u = w.base.ResolveReference(u)
	}
	if u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "mailto" {
		w.write(t)
		return
	}
	w.write("[" + t + "](" + u.String() + ")")
}

// hidden reports an element marked as not shown, or as navigation.
func hidden(n *html.Node) bool {
	for _, a := range n.Attr {
		switch {
		case a.Key == "hidden", a.Key == "aria-hidden" && a.Val == "true",
			a.Key == "role" && (a.Val == "navigation" || a.Val == "search"):
			return true
		case a.Key == "style":
			s := strings.ReplaceAll(strings.ToLower(a.Val), " ", "")
			if strings.Contains(s, "display:none") || strings.Contains(s, "visibility:hidden") {
				return true
			}
		}
	}
	return false
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// textContent is the text inside n, scripts and styles left out.
func textContent(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		switch {
		case n.Type == html.TextNode:
			b.WriteString(n.Data)
		case n.Type == html.ElementNode && (n.DataAtom == atom.Script || n.DataAtom == atom.Style || hidden(n)):
		case n.Type == html.ElementNode && n.DataAtom == atom.Br:
			b.WriteByte('\n')
		default:
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				walk(c)
			}
		}
	}
	walk(n)
	return b.String()
}

func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// find returns the elements of kind a under n, stopping once it has more
// than limit of them.
func find(n *html.Node, a atom.Atom, limit int) []*html.Node {
	var found []*html.Node
	for d := range n.Descendants() {
		if d.Type == html.ElementNode && d.DataAtom == a {
			if found = append(found, d); len(found) > limit {
				break
			}
		}
	}
	return found
}
