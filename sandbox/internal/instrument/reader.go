package instrument

// reader walks the bytes of a module, section or function body. The first
// error sticks: later reads return zero values, so a caller checks err once
// after a run of reads.
type reader struct {
	b    []byte
	pos  int
	base int // offset of b in the module, for error messages
	err  error
}

func (r *reader) done() bool { return r.err != nil || r.pos >= len(r.b) }

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = malformed(r.base+r.pos, format, args...)
	}
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if r.pos >= len(r.b) {
		r.fail("unexpected end")
		return 0
	}
	c := r.b[r.pos]
	r.pos++
	return c
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b)-r.pos {
		r.fail("length %d runs past the end", n)
		return nil
	}
	s := r.b[r.pos : r.pos+n]
	r.pos += n
	return s
}

func (r *reader) skip(n int) { r.bytes(n) }

// u32 reads an unsigned LEB128 of at most 32 bits.
func (r *reader) u32() uint32 {
	var v uint32
	for i := 0; i < 5; i++ {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		if i == 4 && c&0xf0 != 0 {
			r.fail("integer overflows 32 bits")
			return 0
		}
		v |= uint32(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			return v
		}
	}
	r.fail("integer longer than 5 bytes")
	return 0
}

// signed reads a signed LEB128 of at most bits bits and returns its value
// (for bits up to 64). Only the encoding's length matters to the rewriter,
// but the value is checked for range as a decoder would, so that both
// agree on where the number ends.
func (r *reader) signed(bits int) int64 {
	var v int64
	shift := 0
	maxBytes := (bits + 6) / 7
	for i := 0; i < maxBytes; i++ {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		if shift < 64 {
			v |= int64(c&0x7f) << shift
		}
		shift += 7
		if c&0x80 == 0 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return v
		}
	}
	r.fail("signed integer longer than %d bytes", maxBytes)
	return 0
}

func (r *reader) name() string {
	n := r.u32()
	return string(r.bytes(int(n)))
}

// refOrValType reads a value type: one byte, or a reference type prefix
// (0x63 nullable, 0x64 non-nullable) and its heap type.
func (r *reader) refOrValType() {
	switch r.byte() {
	case 0x63, 0x64:
		r.signed(33)
	}
}

// limits reads a table's or memory's limits: flags, minimum, and a maximum
// when bit 0 of the flags is set.
func (r *reader) limits() {
	flags := r.byte()
	r.u32()
	if flags&1 != 0 {
		r.u32()
	}
}

func (r *reader) memarg() {
	r.u32() // alignment
	r.u32() // offset
}

// blockType reads a block type: the empty type, a value type, or a type
// index, all one signed 33-bit number, and for a reference type prefix
// its heap type after it.
func (r *reader) blockType() {
	switch r.signed(33) {
	case -29, -28: // 0x63, 0x64: (ref null ht), (ref ht)
		r.signed(33)
	}
}
