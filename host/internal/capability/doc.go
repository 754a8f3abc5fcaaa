// Package capability holds the host side of the capabilities moat serves
// to plugins beyond config_get. kv.go is the key-value store behind
// kv_get, kv_set, kv_delete and kv_list.
package capability
