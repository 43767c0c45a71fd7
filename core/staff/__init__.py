"""Staff: accounts, roles, back-office logins and server-side staff sessions (``members``), and
the append-only audit log every use case writes to in its own transaction (``audit``).

May import: the ground floor and ``security``.
"""
