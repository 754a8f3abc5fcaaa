package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/moat-mcp/moat/bench/load"
	"github.com/moat-mcp/moat/host/auth"
)

// A system is one server the harness measures, all serving the same echo
// tool.
type system struct {
	Name  string // short, for flags and file names
	Label string // for the table and the plots
	// command returns the server's command line, listening on addr, and
	// the target to call it at. dir is a folder of its own.
	command func(b *built, dir, addr string) (*exec.Cmd, load.Target, error)
}

var systems = []system{
	{"moat-chain", "moat, whole chain", moatCommand(true)},
	{"moat-bare", "moat, chain off", moatCommand(false)},
	{"go-sdk", "Go SDK, native echo", func(b *built, _, addr string) (*exec.Cmd, load.Target, error) {
		return exec.Command(b.GoSDK, "-listen", addr), target(addr, ""), nil
	}},
	{"go-sdk-gogc", "Go SDK, GOGC=800", func(b *built, _, addr string) (*exec.Cmd, load.Target, error) {
		// The same server with the collector tuned: its live heap is so
		// small that at the default GOGC it collects after every few
		// hundred calls (see BENCHMARKS.md).
		cmd := exec.Command(b.GoSDK, "-listen", addr)
		cmd.Env = append(os.Environ(), "GOGC=800")
		return cmd, target(addr, ""), nil
	}},
	{"go-sdk-typed", "Go SDK, typed handler", func(b *built, _, addr string) (*exec.Cmd, load.Target, error) {
		return exec.Command(b.GoSDK, "-listen", addr, "-typed"), target(addr, ""), nil
	}},
	{"ts-sdk", "TypeScript SDK", func(b *built, _, addr string) (*exec.Cmd, load.Target, error) {
		cmd := exec.Command(b.Node, "server.mjs", "--listen", addr)
		cmd.Dir = b.TSDir
		return cmd, target(addr, ""), nil
	}},
	{"net-http", "net/http, no MCP", func(b *built, _, addr string) (*exec.Cmd, load.Target, error) {
		return exec.Command(b.NetHTTP, "-listen", addr), target(addr, ""), nil
	}},
}

// payload is the echo's text: 100 bytes, as in the sandbox benchmarks.
var payload = strings.Repeat("a", 100)

func target(addr, token string) load.Target {
	return load.Target{URL: "http://" + addr + "/mcp", Token: token, Tool: "echo", Text: payload}
}

// moatCommand serves bench/plugins/echo from moat. With chain, every part
// of the front door a deployment would turn on is on: an API key, a role
// that allows only the echo tool, all four rate-limit scopes (set far
// above any rate reached here, so they are checked but never refuse), the
// metrics endpoint and an audit file. Schema validation of the arguments
// and the metrics themselves are always on in moat; without chain, the
// rest is off and the caller is anonymous on loopback.
func moatCommand(chain bool) func(b *built, dir, addr string) (*exec.Cmd, load.Target, error) {
	return func(b *built, dir, addr string) (*exec.Cmd, load.Target, error) {
		path, token, err := writeMoatConfig(b, dir, addr, chain)
		if err != nil {
			return nil, load.Target{}, err
		}
		return exec.Command(b.Moat, "serve", "--config", path), target(addr, token), nil
	}
}

func writeMoatConfig(b *built, dir, addr string, chain bool) (path, token string, err error) {
	for _, d := range []string{"plugins", "cache", "data"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return "", "", err
		}
	}
	wasm, err := os.ReadFile(b.EchoWasm)
	if err != nil {
		return "", "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "plugins", "echo.wasm"), wasm, 0o600); err != nil {
		return "", "", err
	}
	var c strings.Builder
	fmt.Fprintf(&c, "listen: %s\nplugins_dir: ./plugins\ncache_dir: ./cache\ndata_dir: ./data\n", addr)
	c.WriteString("log: {level: warn}\nplugins:\n  echo: {prefix: \"\"}\n")
	if !chain {
		c.WriteString("admin_listen: \"off\"\n")
	} else {
		admin, err := freeAddr()
		if err != nil {
			return "", "", err
		}
		var digest string
		token, digest, err = auth.NewAPIKey()
		if err != nil {
			return "", "", err
		}
		high := "{rate: 1000000/s, burst: 1000000}"
		fmt.Fprintf(&c, "admin_listen: %s\n", admin)
		fmt.Fprintf(&c, "auth:\n  api_keys:\n    - {name: bench, sha256: %s, roles: [caller]}\n", digest)
		c.WriteString("roles:\n  caller: {allow: [echo], deny: [\"admin_*\"]}\n")
		fmt.Fprintf(&c, "rate_limits:\n  global: %s\n  per_principal: %s\n  per_tool: %s\n  per_principal_tool: %s\n", high, high, high, high)
		c.WriteString("audit: {path: ./audit.log}\n")
	}
	path = filepath.Join(dir, "moat.yaml")
	return path, token, os.WriteFile(path, []byte(c.String()), 0o600)
}

// freeAddr is a loopback address with a port nothing listens on now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// server is a started system.
type server struct {
	cmd    *exec.Cmd
	target load.Target
	proc   load.Proc
	exited chan error
	log    *os.File
}

// start runs cmd, its output to logPath, and waits until a client's first
// call is answered.
func start(ctx context.Context, cmd *exec.Cmd, t load.Target, logPath string) (*server, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", cmd.Path, err)
	}
	s := &server{cmd: cmd, target: t, proc: load.Proc{PID: cmd.Process.Pid}, exited: make(chan error, 1), log: logf}
	go func() { s.exited <- cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		// Ready means answering a call: a stateless Dial sends nothing.
		c, err := load.Dial(ctx, t, hc)
		if err == nil {
			err = c.Call(ctx)
			c.Close(ctx)
		}
		if err == nil {
			hc.CloseIdleConnections()
			return s, nil
		}
		select {
		case werr := <-s.exited:
			logf.Close()
			return nil, fmt.Errorf("%s exited before serving (%v); its output is in %s", cmd.Path, werr, logPath)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("%s did not serve within 60s: %v; its output is in %s", cmd.Path, err, logPath)
		}
	}
}

// stop ends the server with SIGTERM (SIGKILL after 20s) and waits for it.
func (s *server) stop() error {
	defer s.log.Close()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.exited:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return nil // killed by our signal, as expected of peers without a handler
		}
		return err
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
		return fmt.Errorf("%s ignored SIGTERM for 20s; killed", s.cmd.Path)
	}
}
