"""Who the users are: scenarios (situation, need, personality), the English and RLVER banks and
their splits, and the seeded draws every user makes."""
