"""Customers and their cabinets: the rules of a customer's data (``rules``), registration,
activation, login, profile and self-block (``cabinet``), the login's password check
(``credentials``) and the way from it back to activation (``activation_resume``), the
lifecycle steps staff and customers share (``lifecycle``), the day's caps on activation codes (``activation_limits``), contact-center
actions (``contact_center``, its search by a part of a phone in ``phone_search``, the
list of blocked cabinets in ``blocked_cabinets``) and the captcha (``captcha``, each solved challenge good once).

May import: the ground floor, ``security``, ``staff`` (audit, permissions) and
``notifications`` (the activation SMS, the default subscriptions) and ``payments`` (the
contact center reads a caller's payments).
"""
