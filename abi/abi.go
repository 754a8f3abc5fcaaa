package abi

import "fmt"

// Version is the ABI version this package describes. A plugin's
// moat_abi_version export must return it.
const Version = 1

// The bounds of a plugin's memory, as wasm32 sets them: memory grows in
// pages of 64 KiB, and a 32-bit address reaches 4 GiB. A memory ceiling
// (limits.memory) lies between one page and MaxMemory.
const (
	PageSize  = 64 << 10
	MaxMemory = 4 << 30
)

// MaxTableElements is how many elements the tables of one instance may
// hold in all. The host keeps table elements in its own memory, outside
// the linear memory limits.memory bounds, so it gives every table a
// maximum: the elements the tables' minimum sizes leave over are shared
// evenly, a smaller declared maximum is kept, and table.grow past the
// maximum returns -1. A module whose minimum sizes add up to more is
// refused at load.
const MaxTableElements = 1 << 20

// Import modules a plugin may use. Any other import module rejects the plugin.
const (
	ModuleMoat = "moat"
	ModuleWASI = "wasi_snapshot_preview1"
	// ModuleEnv is allowed for one function only, AbortImport, which
	// AssemblyScript emits; the host provides it as a trap.
	ModuleEnv   = "env"
	AbortImport = "abort"
)

// Names of the exports. All but ExportInitialize are required, and
// ExportStart is forbidden: a plugin is a reactor, not a command.
const (
	ExportMemory     = "memory"
	ExportABIVersion = "moat_abi_version"
	ExportAlloc      = "moat_alloc"
	ExportDescribe   = "moat_describe"
	ExportCall       = "moat_call"
	ExportInitialize = "_initialize"
	ExportStart      = "_start"
)

// Names of the host functions in import module "moat".
const (
	ImportReadResult  = "read_result"
	ImportLog         = "log"
	ImportProgress    = "progress"
	ImportCancelled   = "cancelled"
	ImportHTTPRequest = "http_request"
	ImportKVGet       = "kv_get"
	ImportKVSet       = "kv_set"
	ImportKVDelete    = "kv_delete"
	ImportKVList      = "kv_list"
	ImportConfigGet   = "config_get"
	ImportSample      = "sample"
	ImportElicit      = "elicit"
	// ImportNotifyResourceUpdated tells the host that one of the plugin's
	// resources changed, so that it notifies the sessions subscribed to it.
	ImportNotifyResourceUpdated = "notify_resource_updated"
)

// ValueType is a WebAssembly value type as it appears in a signature. The
// values are the binary encodings of the WebAssembly specification.
type ValueType byte

const (
	I32 ValueType = 0x7f
	I64 ValueType = 0x7e
	F32 ValueType = 0x7d
	F64 ValueType = 0x7c
)

func (t ValueType) String() string {
	switch t {
	case I32:
		return "i32"
	case I64:
		return "i64"
	case F32:
		return "f32"
	case F64:
		return "f64"
	}
	return fmt.Sprintf("type(0x%x)", byte(t))
}

// Signature is a function type: parameter and result types in order.
type Signature struct {
	Params  []ValueType
	Results []ValueType
}

// String renders the signature as "(i32, i32) -> (i64)", the form the docs use.
func (s Signature) String() string {
	return fmt.Sprintf("%s -> %s", typeList(s.Params), typeList(s.Results))
}

func typeList(ts []ValueType) string {
	out := "("
	for i, t := range ts {
		if i > 0 {
			out += ", "
		}
		out += t.String()
	}
	return out + ")"
}

// Exports lists the signature of every function export the host looks for.
// ExportInitialize is optional; the others are required.
var Exports = map[string]Signature{
	ExportABIVersion: {Results: []ValueType{I32}},
	ExportAlloc:      {Params: []ValueType{I32}, Results: []ValueType{I32}},
	ExportDescribe:   {Results: []ValueType{I64}},
	ExportCall:       {Params: []ValueType{I32, I32}, Results: []ValueType{I64}},
	ExportInitialize: {},
}

// RequiredExports are the function exports every plugin must have, in the
// order a missing one is reported.
var RequiredExports = []string{ExportABIVersion, ExportAlloc, ExportDescribe, ExportCall}

// Imports lists every host function of module "moat" with its signature. A
// plugin may import any subset; an import that is not listed here, or whose
// signature differs, rejects the plugin.
var Imports = map[string]Signature{
	ImportReadResult:  {Params: []ValueType{I32, I32}, Results: []ValueType{I32}},
	ImportLog:         {Params: []ValueType{I32, I32, I32}},
	ImportProgress:    {Params: []ValueType{F64, F64, I32, I32}},
	ImportCancelled:   {Results: []ValueType{I32}},
	ImportHTTPRequest: {Params: []ValueType{I32, I32}, Results: []ValueType{I64}},
	ImportKVGet:       {Params: []ValueType{I32, I32}, Results: []ValueType{I64}},
	ImportKVSet:       {Params: []ValueType{I32, I32, I32, I32}, Results: []ValueType{I64}},
	ImportKVDelete:    {Params: []ValueType{I32, I32}, Results: []ValueType{I64}},
	ImportKVList:      {Params: []ValueType{I32, I32}, Results: []ValueType{I64}},
	ImportConfigGet:   {Params: []ValueType{I32, I32}, Results: []ValueType{I64}},
	ImportSample:      {Params: []ValueType{I32, I32}, Results: []ValueType{I64}},
	ImportElicit:      {Params: []ValueType{I32, I32}, Results: []ValueType{I64}},

	ImportNotifyResourceUpdated: {Params: []ValueType{I32, I32}, Results: []ValueType{I64}},
}

// AbortSignature is the signature of env.abort as AssemblyScript declares it:
// (message, file, line, column).
var AbortSignature = Signature{Params: []ValueType{I32, I32, I32, I32}}

// Capability names the capability an import belongs to, or "" for the
// imports every plugin uses to talk to the host (read_result, log, progress,
// cancelled). It is what an operator reads to see what a module could ever
// do. Each capability but "resources" is usable only when granted;
// notify_resource_updated concerns the plugin's own resources and needs no
// grant.
func Capability(importName string) string {
	switch importName {
	case ImportHTTPRequest:
		return "http"
	case ImportKVGet, ImportKVSet, ImportKVDelete, ImportKVList:
		return "kv"
	case ImportConfigGet:
		return "config"
	case ImportSample:
		return "sampling"
	case ImportElicit:
		return "elicitation"
	case ImportNotifyResourceUpdated:
		// Every plugin may announce a change of its own resources; the
		// name tells an operator what the import is about, and needs no
		// grant.
		return "resources"
	}
	return ""
}

// Pack joins a pointer and a length into the i64 that moat_describe,
// moat_call return: the pointer in the high 32 bits, the length in the low.
func Pack(ptr, length uint32) uint64 {
	return uint64(ptr)<<32 | uint64(length)
}

// Unpack splits a packed i64 into its pointer and length.
func Unpack(packed uint64) (ptr, length uint32) {
	return uint32(packed >> 32), uint32(packed)
}
