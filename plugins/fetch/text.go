package main

import (
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// readable reduces an HTML document to text a model reads easily: the
// main content only when the page marks it (<main>, or a lone <article>),
// headings as #, list items as - or 1., links as [text](url) with the URL
// made absolute against base, code blocks fenced, table cells joined by |,
// and no scripts, styles, navigation or hidden elements.
func readable(doc string, base *url.URL) string {
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
