// Command moat serves MCP tools from sandboxed WebAssembly plugins.
//
//	moat serve [--config FILE]... [--plugins DIR] [--stdio | --listen ADDR]
//	moat call [--config FILE]... [--plugins DIR] PLUGIN_OR_WASM TOOL [JSON_ARGS]
//	moat inspect [--config FILE]... [--plugins DIR] [--json] PLUGIN_OR_WASM
//	moat config check [--config FILE]... [--plugins DIR]
//	moat key new --name NAME --roles ROLE[,ROLE...]
//	moat new --lang go|rust|c|assemblyscript NAME [--dir DIR]
//	moat version
//
// moat new writes a plugin project with one tool, hello, that builds as it
// is: it carries a copy of its language's SDK, so it needs only the moat
// binary and the language's toolchain.
//
// The configuration is layered, each layer overriding the ones before it
// key by key: the built-in defaults, then each --config file in the order
// given, then the MOAT_ environment variables (MOAT_LOG_LEVEL sets
// log.level), then the command-line flags. moat config check prints the
// result, with secrets masked, or says what is wrong with it.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/moat-mcp/moat/host"
	"github.com/moat-mcp/moat/host/auth"
	"github.com/moat-mcp/moat/host/config"
	"github.com/moat-mcp/moat/sdk/scaffold"
)

const usage = `moat serves MCP tools from sandboxed WebAssembly plugins.

Usage:
  moat serve [--config FILE]... [--plugins DIR] [--stdio | --listen ADDR]
  moat call [--config FILE]... [--plugins DIR] PLUGIN_OR_WASM TOOL [JSON_ARGS]
  moat inspect [--config FILE]... [--plugins DIR] [--json] PLUGIN_OR_WASM
  moat config check [--config FILE]... [--plugins DIR]
  moat store copy [--config FILE]... [--from embedded] [--to redis] [--overwrite]
  moat key new --name NAME --roles ROLE[,ROLE...]
  moat new --lang go|rust|c|assemblyscript NAME [--dir DIR]
  moat version

Run 'moat COMMAND -h' for a command's flags. Without --config, moat uses its
built-in configuration (see docs/CONFIG.md). --config may repeat: each file
overrides the ones before it key by key, MOAT_ environment variables
(MOAT_LOG_LEVEL for log.level) override the files, and flags override all.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(args[1:], stderr)
	case "call":
		err = call(args[1:], stdout, stderr)
	case "inspect":
		err = inspect(args[1:], stdout, stderr)
	case "config":
		err = configCmd(args[1:], stdout, stderr)
	case "store":
		err = storeCmd(args[1:], stdout, stderr)
	case "key":
		err = key(args[1:], stdout, stderr)
	case "new":
		err = newCmd(args[1:], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "moat %s (%s)\n", host.Version, host.GoVersion())
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "moat: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	case errors.Is(err, host.ErrToolFailed):
		return 1
	}
	fmt.Fprintf(stderr, "moat: %v\n", err)
	return 1
}

var errUsage = errors.New("usage")

// common holds the flags every command that reads the configuration shares.
type common struct {
	configs files
	plugins string
}

// files is a flag that may repeat, each use adding a file.
type files []string

func (f *files) String() string { return strings.Join(*f, ", ") }

func (f *files) Set(path string) error {
	*f = append(*f, path)
	return nil
}

func (c *common) register(fs *flag.FlagSet) {
	fs.Var(&c.configs, "config", "configuration `FILE` (YAML); repeat it to layer files, each overriding the ones before it key by key; default: the built-in configuration")
	fs.StringVar(&c.plugins, "plugins", "", "serve every *.wasm in `DIR` (overrides plugins_dir)")
}

// load reads the configuration: the files over the built-in defaults, the
// MOAT_ environment variables over the files, then --plugins.
func (c *common) load() (*config.Config, error) {
	cfg, err := config.Load(c.configs, os.Environ())
	if err != nil {
		return nil, err
	}
	if c.plugins != "" {
		dir := c.plugins
		if abs, err := filepath.Abs(dir); err == nil {
			dir = abs
		}
		cfg.SetPluginsDir(dir)
	}
	return cfg, nil
}

func newFlagSet(name string, stderr io.Writer, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: moat %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}

func serve(args []string, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr, "serve [--config FILE]... [--plugins DIR] [--stdio | --listen ADDR]")
	var c common
	c.register(fs)
	listen := fs.String("listen", "", "serve streamable HTTP at /mcp on `ADDR` (host:port), overriding listen")
	stdio := fs.Bool("stdio", false, "serve stdio even if the configuration sets listen")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	if *stdio && *listen != "" {
		fmt.Fprintln(stderr, "moat serve: --stdio and --listen exclude each other; pick one")
		return errUsage
	}
	// load reads the configuration with the flags over it, at start and
	// again on SIGHUP.
	load := func() (*config.Config, error) {
		cfg, err := c.load()
		if err != nil {
			return nil, err
		}
		if *listen != "" {
			cfg.Listen = *listen
		}
		if *stdio {
			cfg.Listen = ""
		}
		return cfg, nil
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	log, secrets := host.NewServeLogger(cfg, stderr)
	applyMemoryPolicy(cfg, log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan struct{})
	defer close(served)
	go watchShutdown(ctx, stop, served, time.Duration(cfg.ShutdownTimeout), stderr)
	// SIGHUP from here on means "reload", never the default "terminate",
	// even while plugins are still loading.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reloads := make(chan struct{}, 1)
	go forwardReloads(hup, reloads, served)
	return host.Serve(ctx, cfg, host.ServeOptions{Log: log, Reload: load, Reloads: reloads, Secrets: secrets})
}

// forwardReloads turns each SIGHUP into a reload request, until serving
// ends. Requests that come while one waits are one request.
func forwardReloads(hup <-chan os.Signal, reloads chan<- struct{}, served <-chan struct{}) {
	for {
		select {
		case <-served:
			return
		case <-hup:
			select {
			case reloads <- struct{}{}:
			default:
			}
		}
	}
}

// shutdownGrace is how long past shutdown_timeout moat may take to stop
// before it exits regardless.
const shutdownGrace = 10 * time.Second

// watchShutdown bounds a shutdown: once the first SIGINT or SIGTERM has
// arrived, a second one ends moat at once (the signals' default action is
// restored), and if serving has not returned within shutdown_timeout and
// shutdownGrace, moat exits with status 1, saying so. The drain cancels the
// calls it abandons, so this fires only when something no cancellation
// reaches holds the shutdown.
func watchShutdown(ctx context.Context, stop func(), served <-chan struct{}, timeout time.Duration, stderr io.Writer) {
	select {
	case <-served:
		return
	case <-ctx.Done():
	}
	stop()
	t := time.NewTimer(timeout + shutdownGrace)
	defer t.Stop()
	select {
	case <-served:
	case <-t.C:
		fmt.Fprintf(stderr, "moat: still shutting down %v after the signal (shutdown_timeout %v); exiting with work abandoned\n", timeout+shutdownGrace, timeout)
		os.Exit(1)
	}
}

func call(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("call", stderr, "call [--config FILE]... [--plugins DIR] PLUGIN_OR_WASM TOOL [JSON_ARGS]")
	var c common
	c.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 2 || fs.NArg() > 3 {
		fs.Usage()
		return errUsage
	}
	argJSON := []byte("{}")
	if fs.NArg() == 3 {
		argJSON = []byte(fs.Arg(2))
		if !json.Valid(argJSON) {
			return fmt.Errorf("JSON_ARGS %q is not valid JSON; quote it for the shell, e.g. '{\"timezone\": \"Europe/Paris\"}'", fs.Arg(2))
		}
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	log := host.NewLogger(cfg, stderr)
	out, err := host.Call(context.Background(), cfg, fs.Arg(0), fs.Arg(1), argJSON, log)
	if out != nil {
		printJSON(stdout, out)
	}
	return err
}

func inspect(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("inspect", stderr, "inspect [--config FILE]... [--plugins DIR] [--json] PLUGIN_OR_WASM")
	var c common
	c.register(fs)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	in, err := host.Inspect(context.Background(), cfg, fs.Arg(0))
	if err != nil {
		return err
	}
	if *asJSON {
		out, _ := json.MarshalIndent(in, "", "  ")
		fmt.Fprintln(stdout, string(out))
		return nil
	}
	printInspection(stdout, in)
	return nil
}

func printInspection(w io.Writer, in *host.Inspection) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "plugin\t%s (%s)\n", in.Plugin, in.Path)
	fmt.Fprintf(tw, "describes itself as\t%s %s\n", in.Name, in.Version)
	if in.Description != "" {
		fmt.Fprintf(tw, "description\t%s\n", in.Description)
	}
	fmt.Fprintf(tw, "ABI version\t%d\n", in.ABIVersion)
	fmt.Fprintf(tw, "size\t%d bytes\n", in.SizeBytes)
	fmt.Fprintf(tw, "compile time\t%v (near zero when cached)\n", in.CompileTime)
	caps := "none"
	if len(in.Capabilities) > 0 {
		caps = strings.Join(in.Capabilities, ", ")
	}
	fmt.Fprintf(tw, "could ever use\t%s\n", caps)
	tw.Flush()
	fmt.Fprintln(w, "\ncapabilities (what the module imports, asks for, is granted, and so may use):")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  capability\timports\tasks for\tgranted\tmay use")
	for _, g := range in.Grants {
		imported := "-"
		if g.Imported {
			imported = "yes"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", g.Capability, imported, orDash(g.Requested), orDash(g.Granted), orDash(g.Usable))
	}
	tw.Flush()
	for _, n := range in.Notices {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	fmt.Fprintln(w, "\nimports:")
	for _, imp := range in.Imports {
		note := ""
		if imp.Capability != "" {
			note = "  (capability " + imp.Capability + ")"
		}
		fmt.Fprintf(w, "  %s.%s%s\n", imp.Module, imp.Name, note)
	}
	fmt.Fprintln(w, "\ntools:")
	for _, t := range in.Tools {
		fmt.Fprintf(w, "  %s — %s\n", t.Name, firstLine(t.Description))
		fmt.Fprintf(w, "    input:  %s\n", compact(t.InputSchema))
		if len(t.OutputSchema) > 0 {
			fmt.Fprintf(w, "    output: %s\n", compact(t.OutputSchema))
		}
		if t.Annotations != nil {
			a, _ := json.Marshal(t.Annotations)
			fmt.Fprintf(w, "    annotations: %s\n", a)
		}
	}
	if len(in.Resources) > 0 {
		fmt.Fprintln(w, "\nresources:")
		for _, r := range in.Resources {
			fmt.Fprintf(w, "  %s  %s%s — %s\n", r.URI, r.Name, mime(r.MIMEType), firstLine(r.Description))
		}
	}
	if len(in.ResourceTemplates) > 0 {
		fmt.Fprintln(w, "\nresource templates:")
		for _, r := range in.ResourceTemplates {
			fmt.Fprintf(w, "  %s  %s%s — %s\n", r.URITemplate, r.Name, mime(r.MIMEType), firstLine(r.Description))
		}
	}
	if len(in.Prompts) > 0 {
		fmt.Fprintln(w, "\nprompts:")
		for _, p := range in.Prompts {
			fmt.Fprintf(w, "  %s — %s\n", p.Name, firstLine(p.Description))
			for _, a := range p.Arguments {
				req := ""
				if a.Required {
					req = ", required"
				}
				fmt.Fprintf(w, "    argument %s%s: %s\n", a.Name, req, firstLine(a.Description))
			}
		}
	}
}

func mime(m string) string {
	if m == "" {
		return ""
	}
	return " (" + m + ")"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}

func printJSON(w io.Writer, raw []byte) {
	// Indented as written: decoding into an any would turn every number
	// into a float64 and round integers past 2^53.
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		fmt.Fprintln(w, string(raw))
		return
	}
	fmt.Fprintln(w, out.String())
}

// configCmd is moat config check: the configuration as moat would run
// with it, secrets masked, or what is wrong with it.
func configCmd(args []string, stdout, stderr io.Writer) error {
	const synopsis = "config check [--config FILE]... [--plugins DIR]"
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprintln(stderr, "Usage: moat "+synopsis)
		return errUsage
	}
	fs := newFlagSet("config check", stderr, synopsis)
	var c common
	c.register(fs)
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	if err := cfg.Check(); err != nil {
		return err
	}
	out, err := host.EffectiveYAML(cfg)
	if err != nil {
		return err
	}
	if _, err = stdout.Write(out); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "# A reload (SIGHUP) applies every setting above but these, which need a restart:\n# %s\n", strings.Join(host.RestartKeys, ", "))
	return err
}

// storeCmd copies the embedded kv store to the Redis store of the
// configuration, the one direction moat copies today.
func storeCmd(args []string, stdout, stderr io.Writer) error {
	const synopsis = "store copy [--config FILE]... [--from embedded] [--to redis] [--overwrite]"
	if len(args) == 0 || args[0] != "copy" {
		fmt.Fprintln(stderr, "Usage: moat "+synopsis)
		return errUsage
	}
	fs := newFlagSet("store copy", stderr, synopsis)
	var c common
	fs.Var(&c.configs, "config", "configuration `FILE` (YAML), as moat serve reads it: data_dir names the embedded store, store.redis the Redis one; repeat it to layer files")
	from := fs.String("from", "embedded", "the store to copy from: `embedded` (kv.db in data_dir)")
	to := fs.String("to", "redis", "the store to copy to: `redis` (store.redis.url)")
	overwrite := fs.Bool("overwrite", false, "copy into namespaces Redis already holds entries of: keys both hold take the embedded value, the others stay")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	if *from != "embedded" || *to != "redis" {
		return fmt.Errorf("store copy --from %s --to %s: moat copies from embedded to redis only", *from, *to)
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	log, _ := host.NewServeLogger(cfg, stderr)
	copied, err := host.CopyStore(context.Background(), cfg, host.CopyOptions{Overwrite: *overwrite, Log: log})
	if err != nil {
		return err
	}
	if len(copied) == 0 {
		fmt.Fprintln(stdout, "the embedded store holds no entries; nothing to copy")
		return nil
	}
	keys := 0
	for _, p := range copied {
		keys += p.Keys
		fmt.Fprintf(stdout, "%s: %d keys, %d bytes\n", p.Name, p.Keys, p.Bytes)
	}
	fmt.Fprintf(stdout, "copied %d keys of %d plugins to %s\n", keys, len(copied), cfg.StoreName())
	return nil
}

func key(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "new" {
		fmt.Fprintln(stderr, "Usage: moat key new --name NAME --roles ROLE[,ROLE...]")
		return errUsage
	}
	fs := newFlagSet("key new", stderr, "key new --name NAME --roles ROLE[,ROLE...]")
	name := fs.String("name", "", "the key's `NAME`, as audit logs will show it (key:NAME)")
	roles := fs.String("roles", "", "comma-separated `ROLES` the key holds (defined under roles: in the configuration)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *name == "" || *roles == "" || fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	var list []string
	for _, r := range strings.Split(*roles, ",") {
		if r = strings.TrimSpace(r); r != "" {
			list = append(list, r)
		}
	}
	k, digest, err := auth.NewAPIKey()
	if err != nil {
		return err
	}
	quoted := make([]string, len(list))
	for i, r := range list {
		quoted[i] = strconv.Quote(r)
	}
	fmt.Fprintf(stdout, "key (shown once; give it to the client as \"Authorization: Bearer <key>\"):\n  %s\n\n", k)
	fmt.Fprintf(stdout, "add under auth.api_keys in the configuration (it holds only the key's digest):\n")
	fmt.Fprintf(stdout, "  - {name: %s, sha256: %s, roles: [%s]}\n", strconv.Quote(*name), digest, strings.Join(quoted, ", "))
	return nil
}

// newCmd writes a plugin project. Flags may come before or after NAME.
func newCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("new", stderr, "new --lang go|rust|c|assemblyscript NAME [--dir DIR]")
	lang := fs.String("lang", "", "the plugin's `LANGUAGE`: "+strings.Join(scaffold.Languages, ", "))
	dir := fs.String("dir", "", "write the project to `DIR` (default ./NAME); it must not exist or be empty")
	var names []string
	for {
		if err := parse(fs, args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		names = append(names, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(names) != 1 || *lang == "" {
		fs.Usage()
		return errUsage
	}
	name := names[0]
	if *dir == "" {
		*dir = name
	}
	if err := scaffold.Write(*dir, *lang, name); err != nil {
		return err
	}
	build := scaffold.BuildCommands[*lang]
	wasm := strings.ReplaceAll(build[1], "NAME", name)
	fmt.Fprintf(stdout, "Wrote %s, the %s plugin %q with one tool, hello. Build and try it:\n\n", *dir, *lang, name)
	fmt.Fprintf(stdout, "  cd %s\n  %s\n  moat call %s hello '{\"name\": \"Ada\"}'\n", *dir, strings.ReplaceAll(build[0], "NAME", name), wasm)
	return nil
}
