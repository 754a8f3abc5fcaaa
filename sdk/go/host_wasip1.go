//go:build wasip1

package moat

import "unsafe"

//go:wasmimport moat read_result
func readResult(ptr *byte, n uint32) int32

//go:wasmimport moat log
func hostLog(level int32, msg string)

//go:wasmimport moat progress
func hostProgress(progress, total float64, msg string)

//go:wasmimport moat cancelled
func hostCancelled() int32

//go:wasmimport moat http_request
func httpRequest(ptr *byte, n uint32) int64

//go:wasmimport moat kv_get
func hostKVGet(key string) int64

//go:wasmimport moat kv_set
func kvSet(key string, ptr *byte, n uint32) int64

//go:wasmimport moat kv_delete
func hostKVDelete(key string) int64

//go:wasmimport moat kv_list
func hostKVList(prefix string) int64

//go:wasmimport moat config_get
func hostConfigGet(key string) int64

//go:wasmimport moat notify_resource_updated
func hostNotifyResourceUpdated(uri string) int64

//go:wasmimport moat sample
func sample(ptr *byte, n uint32) int64

//go:wasmimport moat elicit
func elicit(ptr *byte, n uint32) int64

func hostReadResult(buf []byte) int32 { return readResult(unsafe.SliceData(buf), uint32(len(buf))) }

func hostHTTPRequest(req []byte) int64 { return httpRequest(unsafe.SliceData(req), uint32(len(req))) }

func hostKVSet(key string, value []byte) int64 {
	return kvSet(key, unsafe.SliceData(value), uint32(len(value)))
}

func hostSample(params []byte) int64 { return sample(unsafe.SliceData(params), uint32(len(params))) }

func hostElicit(params []byte) int64 { return elicit(unsafe.SliceData(params), uint32(len(params))) }
