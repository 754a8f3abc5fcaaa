package main

import (
	"net/url"
	"strings"
	"testing"
)

const article = `<!DOCTYPE html>
<html><head><title>Otters</title><style>body{color:red}</style><script>alert("x")</script></head>
<body>
<nav><a href="/">Home</a> | <a href="/about">About</a></nav>
<main>
  <h1>Sea  otters</h1>
  <p>Sea otters <b>hold hands</b> while they
     sleep, &amp; float.<br>They eat <a href="/food/urchins">urchins</a> and <a href="#clams">clams</a>.</p>
  <p hidden>Secret text</p>
  <div style="display: none">Invisible</div>
  <h2>Facts</h2>
  <ul>
    <li>Dense fur</li>
    <li>Tools:
      <ol start="3"><li>rocks</li><li>shells</li></ol>
    </li>
  </ul>
  <pre><code>otter := "swim"
  float()</code></pre>
  <p>Run <code>otter  --help</code> now.</p>
  <table><tr><th>Name</th><th>Weight</th></tr><tr><td>Sea otter</td><td>30 kg</td></tr></table>
  <p><a href="javascript:void(0)">click</a> <a href="https://other.example/x?a=1">elsewhere</a></p>
</main>
<footer>Copyright</footer>
</body></html>`

func TestReadableKeepsTheMainContent(t *testing.T) {
	base, _ := url.Parse("https://zoo.example/animals/otters")
	got := readable(article, base)
	want := "# Otters\n\n" +
		"# Sea otters\n\n" +
		"Sea otters hold hands while they sleep, & float.\n" +
		"They eat [urchins](https://zoo.example/food/urchins) and clams.\n\n" +
		"## Facts\n\n" +
		"- Dense fur\n" +
		"- Tools:\n" +
		"  3. rocks\n" +
		"  4. shells\n\n" +
		"```\n" +
		"otter := \"swim\"\n" +
		"  float()\n" +
		"```\n\n" +
		"Run `otter --help` now.\n\n" +
		"Name | Weight\n" +
		"Sea otter | 30 kg\n\n" +
		"click [elsewhere](https://other.example/x?a=1)"
	if got != want {
		t.Fatalf("readable:\n%s\n---- want ----\n%s", got, want)
	}
}

func TestReadableWholeBodyWithoutMain(t *testing.T) {
	got := readable(`<html><head><title>T</title></head><body><nav>menu</nav><h1>T</h1><div>one<div>two</div></div><article>a</article><article>b</article></body></html>`, nil)
	want := "# T\n\none\n\ntwo\n\na\n\nb"
	if got != want {
		t.Fatalf("readable = %q; want %q", got, want)
	}
}

func TestReadableResolvesLinksAgainstBaseHref(t *testing.T) {
	page, _ := url.Parse("https://site.example/a/b/page.html")
	got := readable(`<html><head><base href="/docs/"></head><body><div role="navigation"><a href="/">Home</a></div><p><a href="intro">Intro</a></p></body></html>`, page)
	if want := "[Intro](https://site.example/docs/intro)"; got != want {
		t.Fatalf("readable = %q; want %q", got, want)
	}
}

func TestLightenDropsScriptsStylesAndComments(t *testing.T) {
	for in, want := range map[string]string{
		`a<script>if (x < 1) { y = "</div>" }</script>b`:  "ab",
		`a<SCRIPT type="module">x</Script >b`:             "ab",
		`a<style>p { color: red }</style>b<!-- note -->c`: "abc",
		`a<scripts>kept</scripts>b`:                       `a<scripts>kept</scripts>b`,
		`a<script>never closed`:                           "a",
		`a<!-- never closed`:                              "a",
	} {
		if got, cut := lighten(in); got != want || cut {
			t.Errorf("lighten(%q) = %q, %v; want %q", in, got, cut, want)
		}
	}
}

// A page too large to parse within the plugin's memory is cut, and the
// text says so.
func TestReadableCutsAHugePage(t *testing.T) {
	row := `<p>row <b>of</b> text</p>`
	doc := "<html><body>" + strings.Repeat(row, 2*maxHTML/len(row)) + "</body></html>"
	got := readable(doc, nil)
	if !strings.HasPrefix(got, "row of text\n\nrow of text") || !strings.HasSuffix(got, "of HTML, scripts and styles left out, is missing.]") {
		t.Fatalf("readable of %d bytes: starts %q, ends %q", len(doc), got[:40], got[len(got)-80:])
	}
	if n := strings.Count(got, "row of text"); n > maxHTML/len(row)+1 || n < maxHTML/len(row)-1 {
		t.Errorf("%d rows converted; want the %d within the first %d bytes", n, maxHTML/len(row), maxHTML)
	}
}
