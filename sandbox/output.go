package sandbox

import (
	"bytes"
	"sync"
)

// outputCap is how many bytes of stdout and stderr one instance may write
// over its life before the rest is dropped: enough to debug with, too little
// to flood the host's log.
const outputCap = 64 << 10

// lineWriter hands a plugin's stdout or stderr to the host in whole lines,
// up to outputCap bytes, then drops the rest and says so once. Each Write
// that completes a line hands on everything buffered up to its last
// newline as one text, never line by line: the host scrubs secrets from
// the text before it cuts it into log lines, so a secret of several lines
// (a PEM key) printed in one write is caught whole.
type lineWriter struct {
	mu      sync.Mutex
	host    Host
	plugin  string
	stream  string
	buf     []byte
	written int
	dropped bool
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	if w.dropped {
		return n, nil
	}
	if room := outputCap - w.written; len(p) > room {
		p = p[:room]
		w.dropped = true
	}
	w.written += len(p)
	w.buf = append(w.buf, p...)
	if i := bytes.LastIndexByte(w.buf, '\n'); i >= 0 {
		w.host.Output(w.plugin, w.stream, string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
	if w.dropped {
		if len(w.buf) > 0 {
			w.host.Output(w.plugin, w.stream, string(w.buf))
			w.buf = nil
		}
		w.host.Output(w.plugin, w.stream, "[moat: this instance wrote more than 64KiB; the rest of its output is dropped]")
	}
	return n, nil
}

// flush hands on a last line that has no newline.
func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.host.Output(w.plugin, w.stream, string(w.buf))
		w.buf = nil
	}
}
