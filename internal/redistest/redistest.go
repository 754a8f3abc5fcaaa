// Package redistest starts a real redis-server for a test: on a free
// loopback port, its files in the test's temporary folder, stopped when the
// test ends. A test may stop it and start it again on the same port, as an
// operator's Redis that goes away and comes back.
//
// Under CI (CI set in the environment) a missing redis-server fails the
// test; elsewhere it skips it with the command that installs it.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is one redis-server a test started.
type Server struct {
	tb   testing.TB
	bin  string
	dir  string
	port int
	args []string
	cmd  *exec.Cmd
	done chan struct{}
}

// Start starts redis-server with no persistence (--save "" --appendonly
// no) unless args say otherwise, and waits until it answers PING.
func Start(tb testing.TB, args ...string) *Server {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		const install = "install it (Debian: apt-get install redis-server)"
		if os.Getenv("CI") != "" {
			tb.Fatalf("redis-server is required under CI: %s", install)
		}
		tb.Skipf("redis-server not found: %s", install)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s := &Server{tb: tb, bin: bin, dir: tb.TempDir(), port: port, args: args}
	tb.Cleanup(s.Stop)
	s.Restart()
	return s
}

// Addr is host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// URL is the redis:// URL of database 0.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Client is a go-redis client of the server, closed when the test ends.
func (s *Server) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr()})
	s.tb.Cleanup(func() { c.Close() })
	return c
}

// Stop kills the server (SIGKILL: nothing it holds in memory is saved) and
// waits until it has exited. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// Restart starts the server on its port again (or for the first time) and
// waits, for up to 30 seconds, until it answers PING.
func (s *Server) Restart() {
	s.tb.Helper()
	if s.cmd != nil {
		s.tb.Fatal("redistest: Restart of a server that runs; Stop it first")
	}
	args := []string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--dir", s.dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", filepath.Join(s.dir, "redis.log")}
	args = append(args, s.args...)
	cmd := exec.Command(s.bin, args...)
	if err := cmd.Start(); err != nil {
		s.tb.Fatalf("starting redis-server: %v", err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	done := s.done
	go func() {
		cmd.Wait()
		close(done)
	}()
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			s.tb.Fatalf("redis-server exited at start: %s", log)
		default:
		}
		if time.Now().After(deadline) {
			s.tb.Fatalf("redis-server on %s does not answer PING after 30s: %v", s.Addr(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// String names the server for test messages.
func (s *Server) String() string { return fmt.Sprintf("redis-server on %s", s.Addr()) }
