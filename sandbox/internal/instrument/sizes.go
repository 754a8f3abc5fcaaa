package instrument

// MaxLocals is how many locals one function may declare. wazero allocates
// a byte per declared local before it reads the function's code, so a
// body of a few bytes could declare four billion; engines in browsers
// refuse more than 50,000 locals too.
const MaxLocals = 50000

// Sizes checks that no count or length in a module asks for more than the
// module's own bytes can hold, before wazero reads it.
//
// wazero's decoder sizes its slices from the counts a module declares: a
// data section of 143 bytes that declares four billion segments made it
// allocate 34 GB and the process die. Every item of a vector takes at
// least one byte, so a count larger than the bytes left in its section is
// malformed, and so is a string or segment longer than what is left.
// Sizes walks every section as wazero will (the name section included)
// and returns an error wrapping ErrMalformed at the first such count.
func Sizes(wasm []byte) error {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return malformed(0, "no WebAssembly magic number")
	}
	r := &reader{b: wasm, pos: 8}
	for !r.done() {
		id := r.byte()
		size := r.u32()
		at := r.pos
		content := r.bytes(int(size))
		if r.err != nil {
			return r.err
		}
		s := &reader{b: content, base: at}
		switch id {
		case secCustom:
			if s.name() == "name" {
				s.nameSection()
			}
		case secType:
			for n := s.count("types"); n > 0 && s.err == nil; n-- {
				if form := s.byte(); form != 0x60 && s.err == nil {
					s.fail("type form 0x%02x is not a function type", form)
				}
				for i := s.count("parameters"); i > 0 && s.err == nil; i-- {
					s.refOrValType()
				}
				for i := s.count("results"); i > 0 && s.err == nil; i-- {
					s.refOrValType()
				}
			}
		case secImport:
			for n := s.count("imports"); n > 0 && s.err == nil; n-- {
				s.name()
				s.name()
				switch kind := s.byte(); kind {
				case 0x00:
					s.u32()
				case 0x01:
					s.refOrValType()
					s.limits()
				case 0x02:
					s.limits()
				case 0x03:
					s.refOrValType()
					s.byte()
				case 0x04:
					s.byte()
					s.u32()
				default:
					s.fail("import kind 0x%02x", kind)
				}
			}
		case secFunction:
			for n := s.count("functions"); n > 0 && s.err == nil; n-- {
				s.u32()
			}
		case secTable:
			for n := s.count("tables"); n > 0 && s.err == nil; n-- {
				withInit := s.pos < len(s.b) && s.b[s.pos] == 0x40
				if withInit {
					s.skip(2)
				}
				s.refOrValType()
				s.limits()
				if withInit {
					s.constExpr()
				}
			}
		case secMemory:
			for n := s.count("memories"); n > 0 && s.err == nil; n-- {
				s.limits()
			}
		case secGlobal:
			for n := s.count("globals"); n > 0 && s.err == nil; n-- {
				s.refOrValType()
				s.byte()
				s.constExpr()
			}
		case secExport:
			for n := s.count("exports"); n > 0 && s.err == nil; n-- {
				s.name()
				s.byte()
				s.u32()
			}
		case secElem:
			for n := s.count("element segments"); n > 0 && s.err == nil; n-- {
				s.elementSegment()
			}
		case secCode:
			for n := s.count("function bodies"); n > 0 && s.err == nil; n-- {
				bodyAt := s.pos
				body := s.bytes(int(s.u32()))
				b := &reader{b: body, base: at + bodyAt}
				var locals uint64
				for g := b.count("local groups"); g > 0 && b.err == nil; g-- {
					locals += uint64(b.u32())
					b.refOrValType()
				}
				if b.err == nil && locals > MaxLocals {
					b.fail("a function declares %d locals, more than the %d allowed", locals, MaxLocals)
				}
				if b.err != nil {
					return b.err
				}
			}
		case secData:
			for n := s.count("data segments"); n > 0 && s.err == nil; n-- {
				switch flags := s.u32(); flags {
				case 0:
					s.constExpr()
				case 1:
				case 2:
					s.u32()
					s.constExpr()
				default:
					s.fail("data segment flags %d", flags)
				}
				s.bytes(int(s.u32()))
			}
		case 13: // tags
			for n := s.count("tags"); n > 0 && s.err == nil; n-- {
				s.byte()
				s.u32()
			}
		}
		if s.err != nil {
			return s.err
		}
	}
	return r.err
}

// count reads the length of a vector and refuses one longer than the
// bytes left, each item taking one byte at least.
func (r *reader) count(what string) uint32 {
	n := r.u32()
	if r.err == nil && uint64(n) > uint64(len(r.b)-r.pos) {
		r.fail("%d %s declared in %d bytes", n, what, len(r.b)-r.pos)
		return 0
	}
	return n
}

// constExpr reads a constant expression up to its end.
func (r *reader) constExpr() {
	for r.err == nil && r.instruction() != opEnd {
	}
}

// elementSegment reads one segment of the element section, in any of its
// eight forms.
func (r *reader) elementSegment() {
	flags := r.u32()
	if flags > 7 {
		r.fail("element segment flags %d", flags)
		return
	}
	if flags&0b010 != 0 && flags&0b001 == 0 { // an explicit table index
		r.u32()
	}
	if flags&0b001 == 0 { // active: an offset
		r.constExpr()
	}
	if flags&0b011 != 0 { // an element kind or a reference type
		r.refOrValType()
	}
	for n := r.count("elements"); n > 0 && r.err == nil; n-- {
		if flags&0b100 != 0 {
			r.constExpr()
		} else {
			r.u32()
		}
	}
}

// nameSection reads the subsections of the name section wazero decodes:
// the module's name, function names and local names. Each must fill its
// declared size exactly: wazero reads them without regard to that size,
// and would read a malformed one into whatever section comes next.
func (r *reader) nameSection() {
	for !r.done() {
		id := r.byte()
		at := r.pos
		sub := &reader{b: r.bytes(int(r.u32())), base: r.base + at}
		switch id {
		case 0: // the module's name
			sub.name()
		case 1: // function names
			for n := sub.count("function names"); n > 0 && sub.err == nil; n-- {
				sub.u32()
				sub.name()
			}
		case 2: // local names
			for n := sub.count("functions with local names"); n > 0 && sub.err == nil; n-- {
				sub.u32()
				for m := sub.count("local names"); m > 0 && sub.err == nil; m-- {
					sub.u32()
					sub.name()
				}
			}
		}
		if id <= 2 && sub.err == nil && !sub.done() {
			sub.fail("name subsection %d has %d bytes after its content", id, len(sub.b)-sub.pos)
		}
		if sub.err != nil && r.err == nil {
			r.err = sub.err
		}
	}
}
