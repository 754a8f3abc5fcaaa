package host_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moat-mcp/moat/internal/testplugin"
)

// TestChaosKilledWhileWriting kills the moat binary with SIGKILL while
// clients write to kv, starts it again on the same data_dir, and reads
// back every write it acknowledged: kv_set returns once the value is on
// disk, so a crash may lose only writes nobody was told had succeeded.
func TestChaosKilledWhileWriting(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "moat")
	build := exec.Command(testplugin.Go(), "build", "-o", bin, "./cmd/moat")
	build.Dir = testplugin.Root(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building moat: %v\n%s", err, out)
	}
	pdir := filepath.Join(dir, "plugins")
	if err := os.MkdirAll(pdir, 0o755); err != nil {
		t.Fatal(err)
	}
	testplugin.WriteTo(t, fixture(t, "sandbox/testdata/echo.wat"), pdir, "echo")
	testplugin.WriteTo(t, fixture(t, "host/testdata/chaos/kvstore.wat"), pdir, "kvstore")
	cfg := filepath.Join(dir, "moat.yaml")
	doc := fmt.Sprintf("plugins_dir: plugins\ndata_dir: data\ncache_dir: %s\nadmin_listen: 127.0.0.1:0\nlimits: {instances: 8, queue_timeout: 30s}\nplugins:\n  kvstore: {grants: {kv: {}}}\n", chaosCache())
	if err := os.WriteFile(cfg, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}

	url, proc := serveBinary(t, bin, cfg)
	ctx, stop := context.WithCancel(context.Background())
	tr := startTraffic(ctx, url, 8, "crash", nil)
	tr.connected.Wait()
	// Let writes pile up, then kill moat mid-flight.
	deadline := time.Now().Add(time.Minute)
	for tr.acknowledged() < 200 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if err := proc.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	stop()
	tr.wg.Wait() // the calls in flight fail: moat is gone, which is the point
	keys := tr.ackedKeys()
	t.Logf("moat killed after %d acknowledged kv writes (%d calls, %d cut off by the kill)", len(keys), tr.total.Load(), tr.failed.Load())
	if len(keys) == 0 {
		t.Fatal("no kv write was acknowledged before the kill")
	}

	// The same data_dir, a new process: every acknowledged key is there.
	url, _ = serveBinary(t, bin, cfg)
	c, err := connectClient(context.Background(), url)
	if err != nil {
		t.Fatalf("connecting to the restarted moat: %v", err)
	}
	defer c.close()
	lost := 0
	for _, key := range keys {
		text, isErr, err := c.call(context.Background(), "kvstore_get", map[string]any{"key": key})
		if err != nil || isErr || text != "v="+key {
			if lost < 5 {
				t.Errorf("%s after the crash: %q isError=%v err=%v", key, text, isErr, err)
			}
			lost++
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged kv writes were lost when moat was killed", lost, len(keys))
	}
}

var servingURL = regexp.MustCompile(`url=(http://\S+/mcp)`)

// serveBinary runs bin serve --config cfg on 127.0.0.1:0 and returns where
// it serves MCP; the process is killed when the test ends.
func serveBinary(t *testing.T, bin, cfg string) (string, *exec.Cmd) {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--config", cfg, "--listen", "127.0.0.1:0")
	// moat refuses a MOAT_ variable that names no key: the chaos suite's
	// own settings (MOAT_CHAOS_*, which make chaos sets) are not for it.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MOAT_CHAOS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan string, 1)
	var mu sync.Mutex
	var lines []string
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			mu.Lock()
			lines = append(lines, sc.Text())
			mu.Unlock()
			if m := servingURL.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	select {
	case url := <-found:
		return url, cmd
	case <-done:
	case <-time.After(2 * time.Minute):
	}
	mu.Lock()
	defer mu.Unlock()
	t.Fatalf("moat did not serve:\n%s", lines)
	return "", nil
}
