package instrument

import (
	"errors"
	"fmt"
	"strings"
)

// Names the rewritten module exports for the host. Every export name that
// begins with ReservedPrefix is the host's: Module refuses a module that
// already exports one.
const (
	ReservedPrefix  = "moat:"
	InterruptExport = ReservedPrefix + "interrupt"
	StartExport     = ReservedPrefix + "start"
)

// ReservedNameError is a module that exports a name the host reserves.
type ReservedNameError struct {
	Name string // the export, such as "moat:interrupt"
}

func (e *ReservedNameError) Error() string {
	return fmt.Sprintf("exports %q, and export names beginning with %q are reserved for the host's deadline check", e.Name, ReservedPrefix)
}

// ErrMalformed is the kind of every error about a module Module cannot read.
var ErrMalformed = errors.New("malformed module")

// Section ids of the binary format.
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElem      = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
)

// Export kinds.
const (
	kindFunc   = 0x00
	kindGlobal = 0x03
)

// Module returns wasm with the interrupt check added, or an error if wasm
// is not a module it can read or if it exports a reserved name (a
// *ReservedNameError).
//
// The result depends only on wasm, so a compilation cache keyed on the
// module's bytes finds it again.
func Module(wasm []byte) ([]byte, error) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return nil, malformed(0, "no WebAssembly magic number")
	}
	if string(wasm[4:8]) != "\x01\x00\x00\x00" {
		return nil, malformed(4, "binary format version %x is not 1", wasm[4:8])
	}
	type section struct {
		id      byte
		start   int // offset of the id byte
		content []byte
	}
	var sections []section
	r := &reader{b: wasm, pos: 8}
	for !r.done() {
		start := r.pos
		id := r.byte()
		size := r.u32()
		content := r.bytes(int(size))
		if r.err != nil {
			return nil, r.err
		}
		sections = append(sections, section{id: id, start: start, content: content})
	}

	var (
		m            moduleInfo
		definedGlobs uint32
		startFunc    = -1
		have         = map[byte]bool{}
		exportSec    section
	)
	for _, s := range sections {
		have[s.id] = true
		var err error
		switch s.id {
		case secType:
			m.params, err = paramCounts(s.content, s.start)
		case secImport:
			err = m.readImports(s.content, s.start)
		case secFunction:
			m.funcTypes, err = readVector(s.content, s.start)
		case secMemory:
			sr := &reader{b: s.content, base: s.start}
			m.memories += sr.u32()
			err = sr.err
		case secGlobal:
			sr := &reader{b: s.content, base: s.start}
			definedGlobs = sr.u32()
			err = sr.err
		case secExport:
			exportSec = s
		case secStart:
			sr := &reader{b: s.content, base: s.start}
			startFunc = int(sr.u32())
			err = sr.err
		}
		if err != nil {
			return nil, err
		}
	}
	flag := m.importedGlobals + definedGlobs
	if flag+1 < m.importedGlobals {
		return nil, malformed(0, "too many globals")
	}
	m.flag, m.count = flag, flag+1
	if exportSec.content != nil {
		if err := checkExports(exportSec.content, exportSec.start, m.flag); err != nil {
			return nil, err
		}
	}

	// The appended globals: the flag, (mut i32) 0, and the countdown,
	// (mut i32) budget.
	newGlobals := []byte{0x7f, 0x01, 0x41, 0x00, 0x0b, 0x7f, 0x01}
	newGlobals = appendI32Const(newGlobals, budget)
	newGlobals = append(newGlobals, opEnd)
	var newExports []byte
	newExports = appendName(newExports, InterruptExport)
	newExports = append(newExports, kindGlobal)
	newExports = appendU32(newExports, m.flag)
	exportCount := uint32(1)
	if startFunc >= 0 {
		newExports = appendName(newExports, StartExport)
		newExports = append(newExports, kindFunc)
		newExports = appendU32(newExports, uint32(startFunc))
		exportCount++
	}
	// A module without memory gets one of no pages, for the preemption
	// point's memory.grow; no index moves, as there was none.
	addMemory := m.memories == 0

	out := make([]byte, 0, len(wasm)+len(wasm)/8+64)
	out = append(out, wasm[:8]...)
	// Missing sections are inserted before the first known section that
	// comes after them in the binary format's order.
	emitMissing := func(before byte) {
		if addMemory && !have[secMemory] && order(before) > order(secMemory) {
			out = appendSection(out, secMemory, []byte{1, 0x00, 0x00})
			have[secMemory] = true
		}
		if !have[secGlobal] && order(before) > order(secGlobal) {
			out = appendSection(out, secGlobal, append(appendU32(nil, 2), newGlobals...))
			have[secGlobal] = true
		}
		if !have[secExport] && order(before) > order(secExport) {
			out = appendSection(out, secExport, append(appendU32(nil, exportCount), newExports...))
			have[secExport] = true
		}
	}
	for _, s := range sections {
		if s.id != secCustom {
			emitMissing(s.id)
		}
		switch s.id {
		case secMemory:
			if addMemory {
				out = appendSection(out, secMemory, []byte{1, 0x00, 0x00})
				continue
			}
			out = appendSection(out, s.id, s.content)
		case secGlobal:
			sr := &reader{b: s.content, base: s.start}
			n := sr.u32()
			content := appendU32(nil, n+2)
			content = append(content, s.content[sr.pos:]...)
			out = appendSection(out, secGlobal, append(content, newGlobals...))
		case secExport:
			sr := &reader{b: s.content, base: s.start}
			n := sr.u32()
			content := appendU32(nil, n+exportCount)
			content = append(content, s.content[sr.pos:]...)
			out = appendSection(out, secExport, append(content, newExports...))
		case secStart:
			// Dropped: the host calls StartExport once the flag can stop it.
		case secCode:
			code, err := m.rewriteCode(s.content, s.start)
			if err != nil {
				return nil, err
			}
			out = appendSection(out, secCode, code)
		case secCustom:
			if dropCustom(s.content) {
				continue
			}
			out = appendSection(out, s.id, s.content)
		default:
			out = appendSection(out, s.id, s.content)
		}
	}
	emitMissing(0xff)
	return out, nil
}

// order is a section's rank in the binary format's order; custom sections
// may go anywhere and rank 0.
func order(id byte) int {
	switch id {
	case secCustom:
		return 0
	case 13: // tags come between memories and globals
		return 55
	case secDataCount:
		return 95
	case 0xff:
		return 1000
	}
	return int(id) * 10
}

// dropCustom reports whether a custom section is DWARF debugging data.
// DWARF addresses code by its offset in the code section, which the
// inserted checks shift: kept, it would name the wrong source lines in
// stack traces. The name section does not depend on offsets and is kept.
func dropCustom(content []byte) bool {
	r := &reader{b: content}
	name := r.name()
	return r.err == nil && strings.HasPrefix(name, ".debug_")
}

// moduleInfo is what the rewriter needs to know of a module.
type moduleInfo struct {
	params          []uint32 // parameter count of each type
	funcTypes       []uint32 // type index of each defined function
	importedFuncs   uint32
	importedGlobals uint32
	memories        uint32 // imported and defined
	flag, count     uint32 // indices of the appended globals
}

func (m *moduleInfo) readImports(content []byte, base int) error {
	r := &reader{b: content, base: base}
	for n := r.u32(); n > 0 && r.err == nil; n-- {
		r.name()
		r.name()
		switch kind := r.byte(); kind {
		case 0x00: // function: type index
			r.u32()
			m.importedFuncs++
		case 0x01: // table: reference type, limits
			r.refOrValType()
			r.limits()
		case 0x02: // memory: limits
			r.limits()
			m.memories++
		case 0x03: // global: value type, mutability
			r.refOrValType()
			r.byte()
			m.importedGlobals++
		default:
			r.fail("import kind 0x%02x is not supported", kind)
		}
	}
	if r.err == nil && !r.done() {
		r.fail("import section has %d trailing bytes", len(r.b)-r.pos)
	}
	return r.err
}

// paramCounts reads the type section: the number of parameters of each
// function type.
func paramCounts(content []byte, base int) ([]uint32, error) {
	r := &reader{b: content, base: base}
	n := r.u32()
	out := make([]uint32, 0, min(n, 1<<16))
	for ; n > 0 && r.err == nil; n-- {
		if form := r.byte(); form != 0x60 && r.err == nil {
			r.fail("type form 0x%02x is not a function type", form)
		}
		params := r.u32()
		for i := params; i > 0 && r.err == nil; i-- {
			r.refOrValType()
		}
		for i := r.u32(); i > 0 && r.err == nil; i-- {
			r.refOrValType()
		}
		out = append(out, params)
	}
	return out, r.err
}

// readVector reads a vector of u32, such as the function section.
func readVector(content []byte, base int) ([]uint32, error) {
	r := &reader{b: content, base: base}
	n := r.u32()
	out := make([]uint32, 0, min(n, 1<<16))
	for ; n > 0 && r.err == nil; n-- {
		out = append(out, r.u32())
	}
	return out, r.err
}

// checkExports refuses reserved names, and exports of a global the
// original does not have (globals is its count), which would name an
// appended one.
func checkExports(content []byte, base int, globals uint32) error {
	r := &reader{b: content, base: base}
	for n := r.u32(); n > 0 && r.err == nil; n-- {
		name := r.name()
		kind := r.byte()
		index := r.u32()
		if r.err != nil {
			break
		}
		if strings.HasPrefix(name, ReservedPrefix) {
			return &ReservedNameError{Name: name}
		}
		if kind == kindGlobal && index >= globals {
			r.fail("export %q of global %d, out of range", name, index)
		}
	}
	return r.err
}

// budget is how many function entries, and how many loop iterations
// within one call of a function, run between two preemption points.
const budget = 1024

// rewriteCode returns the code section with the checks inserted: the
// entry check at the start of every function body, and the loop check
// after every loop's block type.
func (m *moduleInfo) rewriteCode(content []byte, base int) ([]byte, error) {
	r := &reader{b: content, base: base}
	n := r.u32()
	if r.err != nil {
		return nil, r.err
	}
	if int(n) != len(m.funcTypes) {
		return nil, malformed(base, "%d function bodies for %d functions", n, len(m.funcTypes))
	}
	out := make([]byte, 0, len(content)+len(content)/8)
	out = appendU32(out, n)
	var body []byte
	for i := uint32(0); i < n; i++ {
		size := r.u32()
		bodyStart := r.pos
		raw := r.bytes(int(size))
		if r.err != nil {
			return nil, r.err
		}
		t := m.funcTypes[i]
		if int(t) >= len(m.params) {
			return nil, malformed(base+bodyStart, "function %d has type %d, which is not defined", m.importedFuncs+i, t)
		}
		var err error
		body, err = m.rewriteBody(body[:0], raw, base+bodyStart, m.params[t])
		if err != nil {
			return nil, fmt.Errorf("function %d: %w", m.importedFuncs+i, err)
		}
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	if !r.done() {
		return nil, malformed(base+r.pos, "code section has %d trailing bytes", len(r.b)-r.pos)
	}
	return out, nil
}

// rewriteBody rewrites one function body. A function with a loop gets one
// more local, the loop countdown, appended after its own so that no local
// index moves.
func (m *moduleInfo) rewriteBody(out, raw []byte, base int, params uint32) ([]byte, error) {
	r := &reader{b: raw, base: base}
	groups := r.u32()
	afterGroups := r.pos
	locals := uint64(params)
	for n := groups; n > 0 && r.err == nil; n-- {
		locals += uint64(r.u32())
		r.refOrValType()
	}
	if r.err != nil {
		return nil, r.err
	}
	code := r.pos
	// A first pass finds whether the function loops at all.
	loops := false
	for !r.done() {
		if r.instruction() == opLoop {
			loops = true
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	if loops && locals >= 1<<32-1 {
		return nil, malformed(base, "too many locals to add one")
	}
	k := uint32(locals)
	if loops {
		out = appendU32(out, groups+1)
		out = append(out, raw[afterGroups:code]...)
		out = append(out, 1, 0x7f) // one i32
	} else {
		out = append(out, raw[:code]...)
	}
	out = m.appendEntryCheck(out)
	if loops {
		out = appendI32Const(out, budget)
		out = append(out, opLocalSet)
		out = appendU32(out, k)
	}
	r.pos = code
	copied := code
	for !r.done() {
		at := r.pos
		switch op := r.instruction(); op {
		case opLoop:
			out = append(out, raw[copied:r.pos]...)
			out = m.appendLoopCheck(out, k)
			copied = r.pos
		case opLocalGet, opLocalSet, opLocalTee, opGlobalGet, opGlobalSet:
			// An index the original does not have would be valid after
			// the rewrite, and name the countdown or the flag: a module
			// could then reset them and never be stopped. The original is
			// invalid; refuse it rather than make it valid.
			ir := &reader{b: raw, pos: at + 1, base: base}
			index := ir.u32()
			if op >= opGlobalGet && index >= m.flag {
				return nil, malformed(base+at, "global index %d out of range", index)
			}
			if op < opGlobalGet && uint64(index) >= locals {
				return nil, malformed(base+at, "local index %d out of range", index)
			}
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	return append(out, raw[copied:]...), nil
}

// appendEntryCheck counts a function entry down on the shared countdown
// and, when it runs out, reaches the slow path.
//
//	global.get $count; i32.const 1; i32.sub; global.set $count
//	global.get $count; i32.const 0; i32.lt_s
//	if; <slow path>; i32.const budget; global.set $count; end
func (m *moduleInfo) appendEntryCheck(b []byte) []byte {
	b = append(b, opGlobalGet)
	b = appendU32(b, m.count)
	b = append(b, opI32Const, 1, opI32Sub, opGlobalSet)
	b = appendU32(b, m.count)
	b = append(b, opGlobalGet)
	b = appendU32(b, m.count)
	b = append(b, opI32Const, 0, opI32LtS, opIf, blockEmpty)
	b = m.appendSlowPath(b)
	b = appendI32Const(b, budget)
	b = append(b, opGlobalSet)
	b = appendU32(b, m.count)
	return append(b, opEnd)
}

// appendLoopCheck counts a loop iteration down on the function's own
// countdown, a local the compiler keeps in a register.
//
//	local.get $k; i32.const 1; i32.sub; local.tee $k; i32.const 0; i32.lt_s
//	if; <slow path>; i32.const budget; local.set $k; end
func (m *moduleInfo) appendLoopCheck(b []byte, k uint32) []byte {
	b = append(b, opLocalGet)
	b = appendU32(b, k)
	b = append(b, opI32Const, 1, opI32Sub, opLocalTee)
	b = appendU32(b, k)
	b = append(b, opI32Const, 0, opI32LtS, opIf, blockEmpty)
	b = m.appendSlowPath(b)
	b = appendI32Const(b, budget)
	b = append(b, opLocalSet)
	b = appendU32(b, k)
	return append(b, opEnd)
}

// appendSlowPath appends the preemption point and the flag check:
//
//	i32.const 0; memory.grow; drop
//	global.get $flag; if; unreachable; end
//
// Code compiled by wazero runs on a goroutine the Go runtime cannot
// preempt: a loop that never leaves it would hold up every stop-the-world
// pause of the garbage collector, and with it the whole process, the
// timer that sets the flag included. memory.grow is a call into Go (by 0
// pages, it changes nothing), where the goroutine can be preempted.
func (m *moduleInfo) appendSlowPath(b []byte) []byte {
	b = append(b, opI32Const, 0, opMemoryGrow, 0x00, opDrop, opGlobalGet)
	b = appendU32(b, m.flag)
	return append(b, opIf, blockEmpty, opUnreachable, opEnd)
}

func appendI32Const(b []byte, v int32) []byte {
	b = append(b, opI32Const)
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func appendSection(out []byte, id byte, content []byte) []byte {
	out = append(out, id)
	out = appendU32(out, uint32(len(content)))
	return append(out, content...)
}

func appendName(b []byte, s string) []byte {
	b = appendU32(b, uint32(len(s)))
	return append(b, s...)
}

func appendU32(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func malformed(offset int, format string, args ...any) error {
	return fmt.Errorf("%w at byte %d: %s", ErrMalformed, offset, fmt.Sprintf(format, args...))
}
