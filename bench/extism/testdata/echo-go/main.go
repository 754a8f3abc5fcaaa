// Command echo-go is an Extism plugin in Go with one export, echo, that
// answers with its input. It calls Extism's kernel functions directly, the
// way the Go PDK (github.com/extism/go-pdk) does inside pdk.Input and
// pdk.Output: the PDK itself cannot be fetched from the module proxy here.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o echo.wasm ./testdata/echo-go
package main

import "encoding/binary"

//go:wasmimport extism:host/env input_length
func inputLength() uint64

//go:wasmimport extism:host/env input_load_u64
func inputLoadU64(offset uint64) uint64

//go:wasmimport extism:host/env input_load_u8
func inputLoadU8(offset uint64) uint32

//go:wasmimport extism:host/env alloc
func alloc(n uint64) uint64

//go:wasmimport extism:host/env store_u64
func storeU64(offset, v uint64)

//go:wasmimport extism:host/env store_u8
func storeU8(offset uint64, v uint32)

//go:wasmimport extism:host/env output_set
func outputSet(offset, n uint64)

// input reads the call's input into Go memory.
func input() []byte {
	n := inputLength()
	buf := make([]byte, n)
	var i uint64
	for ; i+8 <= n; i += 8 {
		binary.LittleEndian.PutUint64(buf[i:], inputLoadU64(i))
	}
	for ; i < n; i++ {
		buf[i] = byte(inputLoadU8(i))
	}
	return buf
}

// output hands b to the host as the call's output.
func output(b []byte) {
	n := uint64(len(b))
	out := alloc(n)
	var i uint64
	for ; i+8 <= n; i += 8 {
		storeU64(out+i, binary.LittleEndian.Uint64(b[i:]))
	}
	for ; i < n; i++ {
		storeU8(out+i, uint32(b[i]))
	}
	outputSet(out, n)
}

//go:wasmexport echo
func echo() int32 {
	output(input())
	return 0
}

func main() {}
