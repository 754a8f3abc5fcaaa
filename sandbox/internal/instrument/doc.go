// Package instrument rewrites a WebAssembly module so that the host can
// stop it at any moment: every function entry and every loop header reads
// a flag the host owns, and traps when the flag is set.
//
// The flag is one mutable i32 global appended to the module and exported
// as InterruptExport. Appending a global shifts no index, so calls, tables,
// element segments, exports and the name section stay as they are. A start
// section is removed and its function exported as StartExport instead, so
// that the host runs it after instantiation, where the flag can reach it.
//
// The package decides only where to insert; it does not validate. The
// module it returns is compiled and validated by wazero like any other.
package instrument
