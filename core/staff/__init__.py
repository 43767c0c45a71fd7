"""Staff: accounts, roles, back-office logins and server-side staff sessions (``members``), and
the append-only audit log every use case writes to in its own transaction (``audit``).

May import: the ground floor, ``security`` and ``customers`` (the rules for text people type
and the password errors, shared by both kinds of login).
"""
