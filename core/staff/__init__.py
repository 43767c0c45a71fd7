"""Staff: accounts, roles, back-office logins and server-side staff sessions (``members``), and
the append-only audit log every use case writes to in its own transaction (``audit``).

The journal's rows read as sentences (``journal_words``), naming statuses, codes and kinds by
their Russian labels where their contexts keep them.

May import: the ground floor, ``security`` and ``customers`` (the rules for text people type
and the password errors, shared by both kinds of login; the cabinet statuses), and, for the
journal's words only, the label tables of ``payments`` (statuses, the bank's answers),
``billing`` (service kinds, invoice statuses), ``finance`` (reconciliation classes, a bank
profile's columns, units and encodings) and
``notifications`` (topics, channels, message statuses).
"""
