"""Who decides and how: members, conflicts, ballots; the app factory and the command line."""
