//go:build wasip1

package moat

import (
	"encoding/json"
	"unsafe"

	"github.com/moat-mcp/moat/abi"
)

// Buffers the host holds pointers into. The ABI lets it use a moat_alloc
// buffer until the call it is passed to returns, and a returned buffer until
// the next call into the instance; keeping them here keeps the collector
// off them. A request usually has one buffer, so a short list is cheaper
// to keep than a map.
var (
	requests [][]byte // moat_alloc buffers not yet passed back
	response []byte   // what the last export returned
)

// maxReusedResult is the largest result buffer kept for the next result.
const maxReusedResult = 64 << 10

func addr(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

// respond keeps b alive and packs its address and length.
func respond(b []byte) int64 {
	response = b
	return int64(abi.Pack(addr(b), uint32(len(b))))
}

//go:wasmexport moat_abi_version
func moatABIVersion() int32 { return abi.Version }

//go:wasmexport moat_alloc
func moatAlloc(n int32) int32 {
	if n < 0 {
		return 0
	}
	b := make([]byte, max(n, 1)) // never a nil pointer, even for 0 bytes
	requests = append(requests, b)
	return int32(addr(b))
}

//go:wasmexport moat_describe
func moatDescribe() int64 {
	b, err := json.Marshal(Describe())
	if err != nil {
		panic("moat: encoding the description: " + err.Error())
	}
	return respond(b)
}

//go:wasmexport moat_call
func moatCall(ptr, n int32) int64 {
	var req []byte
	for _, b := range requests {
		if addr(b) == uint32(ptr) {
			req = b
		}
	}
	clear(requests) // the host may not use any of them once this returns
	requests = requests[:0]
	if req == nil || uint32(n) > uint32(len(req)) {
		return respond(protocolError(abi.CodeInternalError, "moat_call: the request is not in a buffer from moat_alloc"))
	}
	// The last result was the host's until it called in again: its buffer
	// holds the next one, so that a call allocates no result buffer. A
	// large one is let go rather than kept for the instance's life.
	reuse := response[:0]
	if cap(reuse) > maxReusedResult {
		reuse = nil
	}
	return respond(handle(reuse, req[:n]))
}
