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
// off them.
var (
	requests = map[uint32][]byte{} // moat_alloc buffers not yet passed back
	response []byte                // what the last export returned
)

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
	p := addr(b)
	requests[p] = b
	return int32(p)
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
	req, ok := requests[uint32(ptr)]
	clear(requests) // the host may not use any of them once this returns
	if !ok || uint32(n) > uint32(len(req)) {
		return respond(protocolError(abi.CodeInternalError, "moat_call: the request is not in a buffer from moat_alloc"))
	}
	return respond(Handle(req[:n]))
}
