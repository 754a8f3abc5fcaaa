// Command nethttp is peer (5) of the load harness: the least a server can
// do for this request shape. A plain net/http handler decodes each POST as
// a JSON-RPC request, answers initialize, tools/list and tools/call of the
// echo tool with a JSON body, and accepts notifications with 202. It keeps
// no sessions and checks nothing, so it is the machine's ceiling, not a
// server anyone should run.
//
//	go run ./peers/nethttp -listen 127.0.0.1:8085
package main

import (
	"encoding/json"
	"flag"
	"log"
	"net/http"
)

type request struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method"`
	Params  struct {
		Name      string `json:"name"`
		Arguments struct {
			Text string `json:"text"`
		} `json:"arguments"`
		ProtocolVersion string `json:"protocolVersion"`
	} `json:"params"`
}

type response struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  any             `json:"result,omitempty"`
	Error   *rpcError       `json:"error,omitempty"`
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type text struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

func handle(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	var req request
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, "bad JSON: "+err.Error(), http.StatusBadRequest)
		return
	}
	if req.ID == nil {
		w.WriteHeader(http.StatusAccepted) // a notification
		return
	}
	resp := response{JSONRPC: "2.0", ID: req.ID}
	switch req.Method {
	case "initialize":
		resp.Result = map[string]any{
			"protocolVersion": req.Params.ProtocolVersion,
			"capabilities":    map[string]any{"tools": map[string]any{}},
			"serverInfo":      map[string]string{"name": "nethttp-echo", "version": "1.0.0"},
		}
	case "tools/call":
		if req.Params.Name != "echo" {
			resp.Error = &rpcError{Code: -32602, Message: "unknown tool " + req.Params.Name}
			break
		}
		resp.Result = map[string]any{"content": []text{{Type: "text", Text: req.Params.Arguments.Text}}}
	case "ping":
		resp.Result = map[string]any{}
	default:
		resp.Error = &rpcError{Code: -32601, Message: "method not found: " + req.Method}
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(resp); err != nil {
		log.Printf("writing the answer: %v", err)
	}
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8085", "serve /mcp on `ADDR`")
	flag.Parse()
	mux := http.NewServeMux()
	mux.HandleFunc("/mcp", handle)
	log.Fatal(http.ListenAndServe(*listen, mux))
}
