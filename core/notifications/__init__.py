"""Messages to customers: the outbox and its sender loop (``outbox``), the senders that deliver
(``senders``: log files, ``smtp``), templates per topic and channel (``templates``, pure rules in
``template_rules``) and the cabinet's subscriptions (``subscriptions``).

May import: the ground floor, ``staff`` (audit, permissions) and ``customers`` (the cabinet
session of a subscription change).
"""
