// Command moatprof is `moat serve --config FILE...` with a CPU profile: it
// serves exactly as moat does, through host.Serve, starts profiling on
// SIGUSR1 (so that loading and compiling the plugins stay out of it) and
// writes the profile when SIGINT or SIGTERM stops it. The load harness runs
// it, apart from the measured runs, to say where a call's time goes. It
// exists so that moat itself needs no profiling endpoint: the profile is
// written to a file, never served.
//
//	moatprof -cpuprofile cpu.pprof --config moat.yaml &
//	kill -USR1 $!   # when it serves; kill -TERM $! writes cpu.pprof
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/moat-mcp/moat/host"
	"github.com/moat-mcp/moat/host/config"
)

type files []string

func (f *files) String() string     { return strings.Join(*f, ", ") }
func (f *files) Set(s string) error { *f = append(*f, s); return nil }

func main() {
	var configs files
	flag.Var(&configs, "config", "configuration `FILE`, as for moat serve; may repeat")
	out := flag.String("cpuprofile", "cpu.pprof", "write the CPU profile to `FILE`")
	flag.Parse()
	if err := run(configs, *out); err != nil {
		fmt.Fprintf(os.Stderr, "moatprof: %v\n", err)
		os.Exit(1)
	}
}

func run(configs []string, out string) error {
	cfg, err := config.Load(configs, os.Environ())
	if err != nil {
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)
	profiling := make(chan error, 1)
	go func() {
		select {
		case <-usr1:
			profiling <- pprof.StartCPUProfile(f)
		case <-ctx.Done():
			profiling <- errors.New("stopped before SIGUSR1 asked for a profile")
		}
	}()
	err = host.Serve(ctx, cfg, host.ServeOptions{Log: host.NewLogger(cfg, os.Stderr)})
	if perr := <-profiling; perr != nil {
		return errors.Join(err, perr)
	}
	pprof.StopCPUProfile()
	return err
}
