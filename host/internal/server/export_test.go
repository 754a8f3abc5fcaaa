package server

// SessionIDs lists the sessions the go-sdk holds open, for tests.
func SessionIDs(s *Server) []string {
	var ids []string
	for ss := range s.mcp.Sessions() {
		ids = append(ids, ss.ID())
	}
	return ids
}

// SessionBooked reports whether the session book holds session sid as
// opened and initialized: from then on its plain calls can be answered
// directly.
func SessionBooked(s *Server, sid string) bool {
	e := s.book.entry(sid)
	return e != nil && e.opened.Load() && e.ss.Load() != nil
}
