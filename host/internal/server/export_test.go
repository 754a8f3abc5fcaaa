package server

// SessionIDs lists the sessions the go-sdk holds open, for tests.
func SessionIDs(s *Server) []string {
	var ids []string
	for ss := range s.mcp.Sessions() {
		ids = append(ids, ss.ID())
	}
	return ids
}
