package sandbox

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/moat-mcp/moat/abi"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// maxLogMessage caps one log message; longer ones are cut.
const maxLogMessage = 16 << 10

// logBudget caps what moat.log takes in one call; past it, messages are
// dropped, with one note saying so, so that a plugin logging in a loop
// cannot flood the host's log or the client.
const logBudget = 256 << 10

// hostModule builds module "moat" for one plugin's runtime. Every import of
// ABI v1 exists, so any module written against the ABI links; those whose
// capability moat does not serve yet answer -EPERM with a message.
func (p *Plugin) hostModule(rt wazero.Runtime) wazero.HostModuleBuilder {
	b := rt.NewHostModuleBuilder(abi.ModuleMoat)
	// wazero hands a host function the context the call was made with;
	// each gets the call's own, bound by the call's deadline, instead.
	export := func(name string, fn api.GoModuleFunc) {
		sig := abi.Imports[name]
		bound := api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {
			if inst := p.instanceOf(ctx, mod); inst != nil {
				ctx = inst.context()
			}
			fn(ctx, mod, stack)
		})
		b.NewFunctionBuilder().
			WithGoModuleFunction(bound, valueTypes(sig.Params), valueTypes(sig.Results)).
			Export(name)
	}
	export(abi.ImportReadResult, p.readResult)
	export(abi.ImportLog, p.log)
	export(abi.ImportProgress, p.progress)
	export(abi.ImportCancelled, func(ctx context.Context, _ api.Module, stack []uint64) {
		stack[0] = 0
		if ctx.Err() != nil {
			stack[0] = 1
		}
	})
	for name := range abi.Imports {
		capability := abi.Capability(name)
		if capability == "" {
			continue
		}
		// Before Grant the plugin is describing itself, and ABI v1 runs
		// _initialize and moat_describe with nothing granted; a host that
		// serves no capability at all (a library use of the sandbox) is
		// the other case.
		describingMsg := []byte(fmt.Sprintf("moat.%s: plugin %q called it while describing itself, and _initialize and moat_describe run with no capability granted (docs/ABI.md); call it from moat_call instead", name, p.name))
		refused := []byte(fmt.Sprintf("moat.%s: this host serves no %q capability to plugin %q", name, capability, p.name))
		payloads := len(abi.Imports[name].Params) / 2 // each payload is a (ptr, len) pair
		export(name, func(ctx context.Context, mod api.Module, stack []uint64) {
			// The host is looked up per call: until Grant it serves none
			// (moat_describe runs with no capability).
			caps, ok := p.host.(Capabilities)
			if !ok {
				if _, describing := p.host.(logOnly); describing {
					p.stage(ctx, mod, describingMsg)
					stack[0] = uint64(abi.EPERM.Result())
					return
				}
				p.stage(ctx, mod, refused)
				stack[0] = uint64(abi.EPERM.Result())
				return
			}
			args := make([][]byte, payloads)
			for i := range args {
				ptr, size := uint32(stack[2*i]), uint32(stack[2*i+1])
				if uint64(size) > p.limits.Output {
					p.stage(ctx, mod, []byte(fmt.Sprintf("moat.%s: a payload of %s is over the %s cap (limits.output)", name, FormatSize(uint64(size)), FormatSize(p.limits.Output))))
					stack[0] = uint64(abi.ETOOBIG.Result())
					return
				}
				view, ok := mod.Memory().Read(ptr, size)
				if !ok {
					p.stage(ctx, mod, []byte(fmt.Sprintf("moat.%s: argument %d (pointer %d, length %d) is outside the plugin's memory", name, i+1, ptr, size)))
					stack[0] = uint64(abi.EINVAL.Result())
					return
				}
				args[i] = append([]byte(nil), view...) // the host may keep it past this call
			}
			resp, errno, msg := caps.Capability(ctx, p.name, name, args...)
			if errno != 0 {
				p.stage(ctx, mod, []byte(msg))
				stack[0] = uint64(errno.Result())
				return
			}
			if uint64(len(resp)) > p.limits.Output {
				p.stage(ctx, mod, []byte(fmt.Sprintf("moat.%s: the response of %s is over the %s cap (limits.output)", name, FormatSize(uint64(len(resp))), FormatSize(p.limits.Output))))
				stack[0] = uint64(abi.ETOOBIG.Result())
				return
			}
			p.stage(ctx, mod, resp)
			stack[0] = uint64(len(resp))
		})
	}
	return b
}

// progress is progress(progress, total, ptr, len): a progress update for
// the current call, passed on when the host takes them.
func (p *Plugin) progress(ctx context.Context, mod api.Module, stack []uint64) {
	pr, ok := p.host.(Progresser)
	if !ok {
		return
	}
	size := min(uint32(stack[3]), maxLogMessage)
	msg, okMsg := mod.Memory().Read(uint32(stack[2]), size)
	if !okMsg {
		msg = nil
	}
	pr.Progress(ctx, p.name, api.DecodeF64(stack[0]), api.DecodeF64(stack[1]), string(msg))
}

// envModule provides env.abort, which AssemblyScript imports: it traps.
func envModule(rt wazero.Runtime) wazero.HostModuleBuilder {
	return rt.NewHostModuleBuilder(abi.ModuleEnv).NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(func(context.Context, api.Module, []uint64) {
			panic("abort called")
		}), valueTypes(abi.AbortSignature.Params), nil).
		Export(abi.AbortImport)
}

func valueTypes(ts []abi.ValueType) []api.ValueType {
	out := make([]api.ValueType, len(ts))
	for i, t := range ts {
		out[i] = api.ValueType(t)
	}
	return out
}

// stage sets the bytes read_result will hand to this instance next.
func (p *Plugin) stage(ctx context.Context, mod api.Module, data []byte) {
	if inst := p.instanceOf(ctx, mod); inst != nil {
		inst.staged = data
	}
}

// readResult is read_result(ptr, len) -> i32: copy the staged bytes out and
// clear them. A buffer outside memory gets -EINVAL.
func (p *Plugin) readResult(ctx context.Context, mod api.Module, stack []uint64) {
	ptr, size := uint32(stack[0]), uint32(stack[1])
	inst := p.instanceOf(ctx, mod)
	if inst == nil {
		stack[0] = uint64(uint32(int32(abi.EINVAL.Result())))
		return
	}
	n := min(uint32(len(inst.staged)), size)
	if !mod.Memory().Write(ptr, inst.staged[:n]) {
		stack[0] = uint64(uint32(int32(abi.EINVAL.Result())))
		return
	}
	inst.staged = nil
	stack[0] = uint64(n)
}

// log is log(level, ptr, len): a message for the host's log and the client.
// A message outside memory is dropped, not trusted.
func (p *Plugin) log(ctx context.Context, mod api.Module, stack []uint64) {
	level, ptr, size := abi.LogLevel(int32(stack[0])), uint32(stack[1]), uint32(stack[2])
	if level < abi.LogDebug || level > abi.LogError {
		level = abi.LogInfo
	}
	size = min(size, maxLogMessage)
	msg, ok := mod.Memory().Read(ptr, size)
	if !ok {
		p.host.Output(p.name, "log", fmt.Sprintf("[moat: log called with a message outside memory (ptr %d, len %d); dropped]", ptr, size))
		return
	}
	if inst := p.instanceOf(ctx, mod); inst != nil {
		before := inst.logged
		inst.logged += len(msg)
		if inst.logged > logBudget {
			if before <= logBudget {
				p.host.Output(p.name, "log", fmt.Sprintf("[moat: the plugin logged more than %s in one call; its further messages in this call are dropped]", FormatSize(logBudget)))
			}
			return
		}
	}
	text := string(msg)
	if !utf8.ValidString(text) {
		text = string([]rune(text)) // replaces invalid bytes with U+FFFD
	}
	p.host.Log(ctx, p.name, level, text)
}
