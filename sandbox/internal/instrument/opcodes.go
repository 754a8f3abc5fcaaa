package instrument

// Opcodes the rewriter writes or must recognise.
const (
	opUnreachable = 0x00
	opLoop        = 0x03
	opIf          = 0x04
	opEnd         = 0x0b
	opDrop        = 0x1a
	opLocalGet    = 0x20
	opLocalSet    = 0x21
	opLocalTee    = 0x22
	opGlobalGet   = 0x23
	opGlobalSet   = 0x24
	opMemoryGrow  = 0x40
	opI32Const    = 0x41
	opI32LtS      = 0x48
	opI32Sub      = 0x6b
	blockEmpty    = 0x40

	prefixMisc   = 0xfc
	prefixVector = 0xfd
	prefixAtomic = 0xfe
)

// instruction reads one instruction and returns its opcode byte.
//
// The rewriter must end every instruction where wazero does, or a loop
// could hide inside what it took for an immediate and escape the check.
// So instructions are decoded as wazero decodes them, not only as the
// specification writes them: the vector (0xfd) and atomic (0xfe) prefixes
// are followed by a one-byte opcode, and an opcode the specification
// writes in two LEB128 bytes is read by wazero as one opcode followed by
// a nop (0x01), which is how it is read here too. Opcodes of proposals the
// sandbox does not enable (exceptions, typed function references, GC)
// are refused, as wazero refuses them there.
func (r *reader) instruction() byte {
	at := r.pos
	op := r.byte()
	switch {
	case op == 0x02 || op == opLoop || op == opIf: // block, loop, if
		r.blockType()
	case op == 0x0c || op == 0x0d: // br, br_if
		r.u32()
	case op == 0x0e: // br_table
		for n := r.u32(); n > 0 && r.err == nil; n-- {
			r.u32()
		}
		r.u32()
	case op == 0x10 || op == 0x12: // call, return_call
		r.u32()
	case op == 0x11 || op == 0x13: // call_indirect, return_call_indirect
		r.u32()
		r.u32()
	case op == 0x1c: // select t*
		if n := r.byte(); n != 1 && r.err == nil {
			r.fail("typed select with %d types", n)
		}
		r.refOrValType()
	case op >= 0x20 && op <= 0x26: // local.*, global.*, table.get, table.set
		r.u32()
	case op >= 0x28 && op <= 0x3e: // loads and stores
		r.memarg()
	case op == 0x3f || op == 0x40: // memory.size, memory.grow
		r.u32()
	case op == 0x41: // i32.const
		r.signed(32)
	case op == 0x42: // i64.const
		r.signed(64)
	case op == 0x43: // f32.const
		r.skip(4)
	case op == 0x44: // f64.const
		r.skip(8)
	case op == 0xd0: // ref.null
		r.refNull()
	case op == 0xd2: // ref.func
		r.u32()
	case op == prefixMisc:
		r.misc()
	case op == prefixVector:
		r.vector()
	case op == prefixAtomic:
		r.atomic()
	case op == 0x00 || op == 0x01 || op == 0x05 || op == opEnd || op == 0x0f ||
		op == 0x1a || op == 0x1b || (op >= 0x45 && op <= 0xc4) || op == 0xd1:
		// unreachable, nop, else, end, return, drop, select, numeric
		// operators (with sign extension), ref.is_null: no immediate.
	default:
		if r.err == nil {
			r.err = malformed(r.base+at, "opcode 0x%02x is not one moat accepts (WebAssembly 2.0 and threads)", op)
		}
	}
	return op
}

// refNull reads ref.null's heap type: one byte for funcref, externref or
// exnref, else an LEB128 type index starting at that byte.
func (r *reader) refNull() {
	if r.err != nil || r.pos >= len(r.b) {
		r.fail("unexpected end")
		return
	}
	switch r.b[r.pos] {
	case 0x70, 0x6f, 0x69:
		r.pos++
	default:
		r.u32()
	}
}

// misc reads a 0xfc instruction: an LEB128 opcode and its immediates.
func (r *reader) misc() {
	at := r.pos
	switch op := r.u32(); {
	case op <= 7: // saturating truncations
	case op == 8: // memory.init: data index, memory
		r.u32()
		r.u32()
	case op == 9: // data.drop
		r.u32()
	case op == 10: // memory.copy: two memories
		r.u32()
		r.u32()
	case op == 11: // memory.fill
		r.u32()
	case op == 12 || op == 14: // table.init: element, table; table.copy: two tables
		r.u32()
		r.u32()
	case op == 13 || (op >= 15 && op <= 17): // elem.drop, table.grow/size/fill
		r.u32()
	default:
		if r.err == nil {
			r.err = malformed(r.base+at, "0xfc opcode %d is not one moat accepts", op)
		}
	}
}

// vector reads a 0xfd instruction, its opcode as the one byte wazero reads.
func (r *reader) vector() {
	switch op := r.byte(); {
	case op <= 0x0b: // v128.load*, v128.store
		r.memarg()
	case op == 0x0c || op == 0x0d: // v128.const, i8x16.shuffle
		r.skip(16)
	case op >= 0x15 && op <= 0x22: // extract_lane, replace_lane
		r.skip(1)
	case op >= 0x54 && op <= 0x5b: // v128.load*_lane, v128.store*_lane
		r.memarg()
		r.skip(1)
	case op == 0x5c || op == 0x5d: // v128.load32_zero, v128.load64_zero
		r.memarg()
	}
}

// atomic reads a 0xfe instruction, its opcode as the one byte wazero reads.
func (r *reader) atomic() {
	if op := r.byte(); op == 0x03 { // atomic.fence
		r.skip(1)
	} else {
		r.memarg()
	}
}
