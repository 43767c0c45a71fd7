"""Customers and their cabinets: the rules of a customer's data (``rules``), registration,
activation, login, profile and self-block (``cabinet``), the lifecycle steps staff and customers
share (``lifecycle``), contact-center actions (``contact_center``) and the captcha (``captcha``).

May import: the ground floor, ``security``, ``staff`` (audit, permissions) and
``notifications`` (the activation SMS, the default subscriptions) and ``payments`` (the
contact center reads a caller's payments).
"""
