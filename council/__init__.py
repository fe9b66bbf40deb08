"""Who decides and how: members, conflicts, ballots; the app factory and the command line."""

# The kinds of subject ballots decide register themselves when their module is imported;
# importing them with the package means no ballot is ever closed without its kind.
from council import adoption as adoption
