package server

import "github.com/moat-mcp/moat/host/internal/plugin"

// Swap serves p's tools in place of old's (old is nil for a new plugin):
// tools of the same name are replaced, tools old had and p lacks are
// removed. The go-sdk tells connected clients the list changed.
func (s *Server) Swap(old, p *plugin.Plugin) {
	keep := map[string]bool{}
	for _, t := range p.Tools {
		keep[t.Name] = true
		s.mcp.AddTool(mcpTool(t), s.handler(t))
	}
	s.addFeatures(p)
	if old == nil {
		return
	}
	s.dropFeatures(old, p)
	var gone []string
	for _, t := range old.Tools {
		if !keep[t.Name] {
			gone = append(gone, t.Name)
		}
	}
	if len(gone) > 0 {
		s.mcp.RemoveTools(gone...)
	}
}

// Drop stops serving p's tools.
func (s *Server) Drop(p *plugin.Plugin) {
	names := make([]string, len(p.Tools))
	for i, t := range p.Tools {
		names[i] = t.Name
	}
	s.mcp.RemoveTools(names...)
	s.dropFeatures(p, nil)
}
