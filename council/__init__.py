"""Who decides and how: council members, conflicts, ballots; the app factory and the command line."""
