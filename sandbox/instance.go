package sandbox

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/moat-mcp/moat/abi"
	"github.com/moat-mcp/moat/sandbox/internal/instrument"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
)

// instance is one instantiated module of a plugin. It runs one call at a
// time; the pool hands it out.
type instance struct {
	mod      api.Module
	mem      api.Memory
	alloc    api.Function
	call     api.Function
	describe api.Function
	// stack is reused by every call (CallWithStack), sized for the widest
	// signature used: moat_call's two parameters.
	stack  [2]uint64
	staged []byte // what read_result hands out next
	stdout *lineWriter
	stderr *lineWriter
	// ctx is the context of what the instance runs now (a call,
	// _initialize or moat_describe), bound by its deadline, which host
	// functions and a WASI sleep end with. A call makes it only when one
	// of them asks (see context); cancelCtx releases the one it made.
	ctx       context.Context
	cancelCtx context.CancelFunc
	// logged counts the bytes moat.log took in the current call.
	logged int

	// flag is the module's interrupt flag (instrument.InterruptExport), or
	// nil when the engine does not instrument. Setting it to 1 makes the
	// running code trap at its next check.
	flag api.MutableGlobal
	// mu orders the writes to flag and cause: the timer's, the
	// cancellation's, Close's and the calling goroutine's.
	mu sync.Mutex
	// cause is why the flag was raised since the last arm (ErrTimeout,
	// ErrCanceled or ErrClosed), or nil.
	cause error
	// deadline raises the flag at the deadline of the armed call. It is
	// made once and reset for each call, which allocates nothing.
	deadline *time.Timer
	// due is the armed call's deadline, for how late a timed-out call
	// ended; zero when it has none.
	due time.Time
	// caller is the context whose cancellation ends the armed call, and
	// stopCaller undoes the callback registered on it, if any.
	caller     context.Context
	stopCaller func() bool
	// timers counts the armed callbacks that have not finished: a call
	// waits for them before the instance runs anything else, so that a
	// late callback never stops the next call.
	timers sync.WaitGroup
	// onDeadline and onCancel are inst.expire and inst.cancel, made once
	// rather than at every call.
	onDeadline, onCancel func()
	// timeout is the deadline of the call in progress when a caller set
	// one with WithCallTimeout, and setting names it; zero otherwise, and
	// the plugin's limits.timeout applies.
	timeout time.Duration
	setting string
}

// sleep is the instance's WASI nanosleep (and poll_oneoff's clock wait):
// it ends early when the call does, so a plugin asleep past its deadline
// is stopped at the deadline like a plugin that spins.
func (inst *instance) sleep(ns int64) {
	t := time.NewTimer(time.Duration(ns))
	defer t.Stop()
	select {
	case <-t.C:
	case <-inst.context().Done():
	}
}

type instanceKey struct{}

// newInstance instantiates the plugin's module, which runs _initialize,
// under the plugin's deadline.
func (p *Plugin) newInstance(ctx context.Context) (*instance, error) {
	ctx, cancel := context.WithTimeout(ctx, p.limits.Timeout)
	defer cancel()
	inst := &instance{
		stdout: &lineWriter{host: p.host, plugin: p.name, stream: "stdout"},
		stderr: &lineWriter{host: p.host, plugin: p.name, stream: "stderr"},
	}
	// Host functions called from _initialize find the instance through the
	// context, as the module is not known until instantiation returns.
	ctx = context.WithValue(ctx, instanceKey{}, inst)
	inst.ctx = ctx
	inst.onDeadline, inst.onCancel = inst.expire, inst.cancel
	cfg := p.modConfig.WithStdout(inst.stdout).WithStderr(inst.stderr).WithNanosleep(inst.sleep)
	mod, err := instantiate(ctx, p.rt, p.compiled, cfg)
	if err != nil {
		inst.flush()
		return nil, p.classify(ctx.Err(), nil, err, "_initialize")
	}
	inst.mod = mod
	inst.mem = mod.ExportedMemory(abi.ExportMemory)
	inst.alloc = mod.ExportedFunction(abi.ExportAlloc)
	inst.call = mod.ExportedFunction(abi.ExportCall)
	inst.describe = mod.ExportedFunction(abi.ExportDescribe)
	inst.flag, _ = mod.ExportedGlobal(instrument.InterruptExport).(api.MutableGlobal)
	p.byModule.Store(mod, inst)
	// The module's start function, then _initialize, under the deadline.
	due, _ := ctx.Deadline()
	inst.arm(due, ctx)
	for _, name := range []string{instrument.StartExport, abi.ExportInitialize} {
		if fn := mod.ExportedFunction(name); fn != nil {
			if _, err = fn.Call(ctx); err != nil {
				break
			}
		}
	}
	inst.disarm()
	if err != nil {
		f := p.classify(ctx.Err(), inst, err, "_initialize")
		p.closeInstance(inst)
		return nil, f
	}
	return inst, nil
}

// arm makes the instance's next check trap once due passes (zero: never)
// or caller is cancelled. A call must be disarmed before the instance runs
// anything else.
func (inst *instance) arm(due time.Time, caller context.Context) {
	inst.due, inst.caller, inst.stopCaller = due, caller, nil
	if inst.flag == nil {
		return
	}
	inst.mu.Lock()
	inst.cause = nil
	inst.flag.Set(0)
	inst.mu.Unlock()
	if !due.IsZero() {
		inst.timers.Add(1)
		if inst.deadline == nil {
			inst.deadline = time.AfterFunc(time.Until(due), inst.onDeadline)
		} else {
			inst.deadline.Reset(time.Until(due))
		}
	}
	// A caller that cannot be cancelled (context.Background) needs no
	// callback; otherwise AfterFunc starts no goroutine until it is.
	if caller.Done() != nil {
		inst.timers.Add(1)
		inst.stopCaller = context.AfterFunc(caller, inst.onCancel)
	}
}

// disarm stops the callbacks arm set, or waits for those that started.
func (inst *instance) disarm() {
	if inst.flag == nil {
		return
	}
	if inst.deadline != nil && inst.deadline.Stop() {
		inst.timers.Done()
	}
	if inst.stopCaller != nil && inst.stopCaller() {
		inst.timers.Done()
	}
	inst.timers.Wait()
	inst.caller, inst.stopCaller = nil, nil
}

// context is the context of what the instance runs now. For a call it is
// derived from the caller's context and the call's deadline on first use:
// deriving one costs four allocations and a timer, and most calls never
// make a host call or sleep. Only the goroutine running the instance
// calls it.
func (inst *instance) context() context.Context {
	if inst.ctx == nil {
		if inst.due.IsZero() {
			inst.ctx = inst.caller
		} else {
			inst.ctx, inst.cancelCtx = context.WithDeadline(inst.caller, inst.due)
		}
	}
	return inst.ctx
}

// endCall releases the context the call made, if it made one.
func (inst *instance) endCall() {
	if inst.cancelCtx != nil {
		inst.cancelCtx()
		inst.cancelCtx = nil
	}
	inst.ctx = nil
}

// ended is why a call under caller with deadline due is over, as the
// call's context would say: the caller's error, DeadlineExceeded once
// due has passed, or nil.
func ended(caller context.Context, due time.Time) error {
	if err := caller.Err(); err != nil {
		return err
	}
	if !due.IsZero() && !time.Now().Before(due) {
		return context.DeadlineExceeded
	}
	return nil
}

// expire runs at the armed call's deadline.
func (inst *instance) expire() {
	defer inst.timers.Done()
	inst.raise(ErrTimeout)
}

// cancel runs when the armed call's caller is done: a deadline of the
// caller's own is a timeout too.
func (inst *instance) cancel() {
	defer inst.timers.Done()
	if errors.Is(inst.caller.Err(), context.DeadlineExceeded) {
		inst.raise(ErrTimeout)
		return
	}
	inst.raise(ErrCanceled)
}

// raise sets the interrupt flag: the code running in the instance traps
// at its next check. The first cause is kept.
func (inst *instance) raise(cause error) {
	if inst.flag == nil {
		return
	}
	inst.mu.Lock()
	if inst.cause == nil {
		inst.cause = cause
	}
	inst.flag.Set(1)
	inst.mu.Unlock()
}

// interrupted returns why the flag was raised since the last arm, or nil.
func (inst *instance) interrupted() error {
	if inst == nil || inst.flag == nil {
		return nil
	}
	inst.mu.Lock()
	defer inst.mu.Unlock()
	return inst.cause
}

// instanceOf finds the instance a host function was called from.
func (p *Plugin) instanceOf(ctx context.Context, mod api.Module) *instance {
	if v, ok := p.byModule.Load(mod); ok {
		return v.(*instance)
	}
	inst, _ := ctx.Value(instanceKey{}).(*instance)
	return inst
}

func (p *Plugin) closeInstance(inst *instance) {
	p.byModule.Delete(inst.mod)
	_ = inst.mod.Close(context.Background())
	inst.flush()
}

// flush hands on what the instance wrote without a final newline.
func (inst *instance) flush() {
	inst.stdout.flush()
	inst.stderr.flush()
}

// invoke runs moat_call with request in an instance until due (zero:
// no deadline) or until caller is cancelled.
func (p *Plugin) invoke(caller context.Context, due time.Time, inst *instance, request []byte) ([]byte, error) {
	inst.staged = nil
	inst.ctx = nil
	inst.logged = 0
	s := inst.stack[:]
	s[0] = uint64(len(request))
	inst.arm(due, caller)
	defer inst.endCall()
	run := caller
	if p.closeOnDone {
		run = inst.context()
	}
	err := inst.alloc.CallWithStack(run, s)
	if err != nil {
		inst.disarm()
		return nil, p.classify(ended(caller, due), inst, err, abi.ExportAlloc)
	}
	ptr := uint32(s[0])
	if ptr == 0 {
		inst.disarm()
		return nil, fault(p.name, ErrBadOutput, nil, "moat_alloc(%d) returned 0: the plugin could not allocate room for the request", len(request))
	}
	if !inst.mem.Write(ptr, request) {
		inst.disarm()
		return nil, fault(p.name, ErrBadOutput, nil, "moat_alloc(%d) returned %d, which is outside the plugin's memory", len(request), ptr)
	}
	s[0], s[1] = uint64(ptr), uint64(len(request))
	err = inst.call.CallWithStack(run, s)
	inst.disarm()
	if err != nil {
		return nil, p.classify(ended(caller, due), inst, err, abi.ExportCall)
	}
	// An answer after the call ended (a sleep the deadline cut short
	// returns, and the plugin may go on to answer) comes too late.
	switch err := ended(caller, due); {
	case errors.Is(err, context.DeadlineExceeded):
		return nil, p.timedOut(inst, err, abi.ExportCall)
	case err != nil:
		return nil, fault(p.name, ErrCanceled, err, "%s was cancelled by the caller", what(abi.ExportCall))
	}
	return p.result(inst, s[0], abi.ExportCall)
}

// result copies a packed result out of the instance's memory, checking it
// lies inside memory and under the output cap.
func (p *Plugin) result(inst *instance, packed uint64, export string) ([]byte, error) {
	ptr, size := abi.Unpack(packed)
	if uint64(size) > p.limits.Output {
		return nil, fault(p.name, ErrBadOutput, nil, "%s returned %s, more than its output cap of %s (limits.output)", export, FormatSize(uint64(size)), FormatSize(p.limits.Output))
	}
	view, ok := inst.mem.Read(ptr, size)
	if !ok {
		return nil, fault(p.name, ErrBadOutput, nil, "%s returned %d bytes at %d, outside the plugin's %s of memory", export, size, ptr, FormatSize(uint64(inst.mem.Size())))
	}
	out := make([]byte, len(view))
	copy(out, view)
	return out, nil
}

// describeInstance runs moat_describe.
func (p *Plugin) describeInstance(ctx context.Context, inst *instance) ([]byte, error) {
	inst.ctx = ctx
	defer inst.endCall()
	s := inst.stack[:]
	due, _ := ctx.Deadline()
	inst.arm(due, ctx)
	err := inst.describe.CallWithStack(ctx, s)
	inst.disarm()
	if err != nil {
		return nil, p.classify(ctx.Err(), inst, err, abi.ExportDescribe)
	}
	return p.result(inst, s[0], abi.ExportDescribe)
}

// abiVersion runs moat_abi_version.
func (p *Plugin) abiVersion(ctx context.Context, inst *instance) (uint32, error) {
	inst.ctx = ctx
	defer inst.endCall()
	s := inst.stack[:]
	fn := inst.mod.ExportedFunction(abi.ExportABIVersion)
	due, _ := ctx.Deadline()
	inst.arm(due, ctx)
	err := fn.CallWithStack(ctx, s)
	inst.disarm()
	if err != nil {
		return 0, p.classify(ctx.Err(), inst, err, abi.ExportABIVersion)
	}
	return uint32(s[0]), nil
}

// timedOut is the fault of a call that ran past its deadline, naming the
// deadline and the setting it comes from.
func (p *Plugin) timedOut(inst *instance, err error, export string) *Fault {
	d, setting := p.limits.Timeout, "limits.timeout"
	if inst != nil && inst.timeout > 0 {
		d, setting = inst.timeout, inst.setting
	}
	f := fault(p.name, ErrTimeout, err, "%s exceeded its %v deadline (%s)", what(export), d, setting)
	if inst != nil && !inst.due.IsZero() {
		f.Late = max(time.Since(inst.due), 0)
	}
	return f
}

// classify turns an error from wazero into a Fault of the right kind;
// over is why the call's context is done, if it is.
func (p *Plugin) classify(over error, inst *instance, err error, export string) *Fault {
	// The instrumented check trapped because the host raised the flag.
	switch inst.interrupted() {
	case ErrTimeout:
		return p.timedOut(inst, err, export)
	case ErrCanceled:
		return fault(p.name, ErrCanceled, err, "%s was cancelled by the caller", what(export))
	case ErrClosed:
		return fault(p.name, ErrClosed, err, "%s was stopped: the plugin is unloaded", what(export))
	}
	if exit, ok := errorsAs[*sys.ExitError](err); ok {
		if p.closing() {
			// Close closed the module under the call before its check
			// saw the flag.
			return fault(p.name, ErrClosed, err, "%s was stopped: the plugin is unloaded", what(export))
		}
		switch exit.ExitCode() {
		case sys.ExitCodeDeadlineExceeded:
			return p.timedOut(inst, err, export)
		case sys.ExitCodeContextCanceled:
			return fault(p.name, ErrCanceled, err, "%s was cancelled by the caller", what(export))
		}
		if p.atCeiling(inst) {
			return p.outOfMemory(err, export)
		}
		return fault(p.name, ErrExit, err, "%s exited with code %d", what(export), exit.ExitCode())
	}
	if errors.Is(over, context.DeadlineExceeded) {
		return p.timedOut(inst, err, export)
	}
	if p.atCeiling(inst) {
		return p.outOfMemory(err, export)
	}
	msg := err.Error()
	first := msg
	if i := indexNewline(msg); i >= 0 {
		first = msg[:i]
	}
	if frame := firstFrame(msg); frame != "" {
		return fault(p.name, ErrTrap, err, "%s trapped: %s (at %s)", what(export), first, frame)
	}
	return fault(p.name, ErrTrap, err, "%s trapped: %s", what(export), first)
}

// closing reports whether Close has begun.
func (p *Plugin) closing() bool {
	p.pool.mu.Lock()
	defer p.pool.mu.Unlock()
	return p.pool.closed
}

func (p *Plugin) outOfMemory(err error, export string) *Fault {
	return fault(p.name, ErrOutOfMemory, err, "%s ran out of memory at its ceiling of %s (limits.memory)", what(export), FormatSize(p.limits.Memory))
}

// atCeiling reports whether the instance's memory cannot grow by another
// page: a trap or exit then is most likely a failed allocation.
func (p *Plugin) atCeiling(inst *instance) bool {
	if inst == nil || inst.mem == nil {
		return false
	}
	return uint64(inst.mem.Size())+pageSize > p.limits.Memory
}

func what(export string) string {
	switch export {
	case abi.ExportCall, abi.ExportAlloc:
		return "call"
	}
	return export
}

func indexNewline(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return i
		}
	}
	return -1
}
