"""What the council publishes: guidelines, their versions, criteria and public consultation."""
