package observe_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/moat-mcp/moat/host/observe"
)

func secrets(values ...string) *observe.Secrets {
	s := observe.NewSecrets()
	s.Add(values...)
	return s
}

func TestScrub(t *testing.T) {
	cases := []struct {
		name    string
		secrets []string
		in      string
		want    string
	}{
		{"every occurrence", []string{"hunter2"}, "hunter2 and hunter2hunter2.", "[redacted] and [redacted][redacted]."},
		{"several secrets", []string{"alpha-key", "beta-key"}, "a=alpha-key b=beta-key", "a=[redacted] b=[redacted]"},
		{"longer secret wins over its prefix", []string{"abcd", "abcdefgh"}, "x abcdefgh y abcd", "x [redacted] y [redacted]"},
		{"prefix added last still loses", []string{"abcdefgh", "abcd"}, "abcdefgh", "[redacted]"},
		{"overlapping secrets cover both", []string{"abcdef", "defghi"}, "abcdefghi!", "[redacted]!"},
		{"self-overlapping occurrences", []string{"abab"}, "ababab", "[redacted]"},
		{"quoted by %q", []string{`pa"ss\word`}, `open: "pa\"ss\\word" refused`, `open: "[redacted]" refused`},
		{"escaped in JSON", []string{"<tok&en>"}, `{"k":"\u003ctok\u0026en\u003e"}`, `{"k":"[redacted]"}`},
		{"shorter than 4 bytes ignored", []string{"abc", "", "x"}, "abc x", "abc x"},
		{"unicode", []string{"pässwörd"}, "my pässwörd!", "my [redacted]!"},
		{"no match", []string{"secret-value"}, "nothing here", "nothing here"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := secrets(c.secrets...).Scrub(c.in); got != c.want {
				t.Errorf("Scrub(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestLenCountsDistinctUsableSecrets(t *testing.T) {
	s := secrets("abcd", "abcd", "ab", "", "efgh")
	s.Add("efgh", "ijkl")
	if got := s.Len(); got != 3 {
		t.Errorf("Len() = %d, want 3", got)
	}
	var zero observe.Secrets
	var nilSecrets *observe.Secrets
	if zero.Len() != 0 || nilSecrets.Len() != 0 || nilSecrets.Scrub("abcd") != "abcd" {
		t.Error("an empty or nil Secrets must hold nothing and scrub nothing")
	}
}

func TestScrubReturnsInputWithoutAllocating(t *testing.T) {
	text := strings.Repeat("nothing secret in here. ", 40)
	for _, s := range []*observe.Secrets{observe.NewSecrets(), secrets("secret-token", "another-one")} {
		var out string
		allocs := testing.AllocsPerRun(100, func() { out = s.Scrub(text) })
		if allocs != 0 {
			t.Errorf("with %d secrets, Scrub allocates %v times on text without them", s.Len(), allocs)
		}
		if unsafe.StringData(out) != unsafe.StringData(text) {
			t.Errorf("with %d secrets, Scrub copied text it did not change", s.Len())
		}
	}
}

func TestWithExtraDoesNotLeakIntoParent(t *testing.T) {
	parent := secrets("server-key")
	view := parent.WithExtra("caller-token", "ab")
	text := "server-key caller-token"
	if got := view.Scrub(text); got != "[redacted] [redacted]" {
		t.Errorf("view.Scrub = %q, want both redacted", got)
	}
	if got := parent.Scrub(text); got != "[redacted] caller-token" {
		t.Errorf("parent.Scrub = %q: the view's extra leaked into the parent", got)
	}
	view.Add("view-only")
	parent.Add("parent-later")
	if parent.Len() != 2 || view.Len() != 3 {
		t.Errorf("Len: parent %d, view %d, want 2 and 3", parent.Len(), view.Len())
	}
	if got := parent.Scrub("view-only"); got != "view-only" {
		t.Errorf("parent.Scrub = %q: an Add to the view reached the parent", got)
	}
	var none *observe.Secrets
	if got := none.WithExtra("caller-token").Scrub(text); got != "server-key [redacted]" {
		t.Errorf("nil.WithExtra: Scrub = %q", got)
	}
}

func TestWriterScrubsEachWrite(t *testing.T) {
	s := secrets("sk-live-123", `quo"te`)
	var out bytes.Buffer
	w := s.Writer(&out)
	text := "2026-01-02T03:04:05.000Z [INFO] calling upstream: key=sk-live-123\n"
	jsonLine := `{"@level":"info","@message":"auth","header":"Bearer sk-live-123","pw":"quo\"te"}` + "\n"
	for _, line := range []string{text, jsonLine} {
		n, err := w.Write([]byte(line))
		if err != nil || n != len(line) {
			t.Errorf("Write = %d, %v; want %d, nil", n, err, len(line))
		}
	}
	want := "2026-01-02T03:04:05.000Z [INFO] calling upstream: key=[redacted]\n" +
		`{"@level":"info","@message":"auth","header":"Bearer [redacted]","pw":"[redacted]"}` + "\n"
	if out.String() != want {
		t.Errorf("wrote\n%s\nwant\n%s", out.String(), want)
	}
	if _, err := s.Writer(failingWriter{}).Write([]byte("x")); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write to a failing destination = %v, want its error", err)
	}
}

func TestSecretsConcurrentUse(t *testing.T) {
	s := secrets("always-there")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				switch g % 3 {
				case 0:
					s.Add(fmt.Sprintf("added-%d-%d", g, i))
				case 1:
					v := s.WithExtra(fmt.Sprintf("extra-%d-%d", g, i))
					if got := v.Scrub("always-there extra-" + fmt.Sprint(g, "-", i)); got != "[redacted] [redacted]" {
						t.Errorf("view scrubbed to %q", got)
						return
					}
				default:
					if got := string(s.ScrubJSON([]byte(`{"a":"always-there"}`))); got != `{"a":"[redacted]"}` {
						t.Errorf("ScrubJSON = %s", got)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if s.Len() != 1+3*200 { // goroutines 0, 3 and 6 add
		t.Errorf("Len() = %d after concurrent Adds, want %d", s.Len(), 1+3*200)
	}
}

// benchText is 1KiB of log-like text.
var benchText = strings.Repeat("2026-01-02T03:04:05Z [INFO] call tool=time_get_current_time ok\n", 17)[:1024]

func BenchmarkScrub(b *testing.B) {
	withTwenty := observe.NewSecrets()
	for i := range 20 {
		withTwenty.Add(fmt.Sprintf("sk-live-%02d-Xa9fQ2mZ", i))
	}
	matching := benchText[:500] + "sk-live-07-Xa9fQ2mZ" + benchText[519:]
	cases := []struct {
		name string
		s    *observe.Secrets
		text string
	}{
		{"secrets=0", observe.NewSecrets(), benchText},
		{"secrets=20/no-match", withTwenty, benchText},
		{"secrets=20/one-match", withTwenty, matching},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.text)))
			b.ReportAllocs()
			for b.Loop() {
				c.s.Scrub(c.text)
			}
		})
	}
}
