"""Secrets people prove they know, shared by customers and staff: slow password and code-word
hashes (``passwords``), one-time codes (``codes``) and the login rate limit (``throttle``).

It sits on the ground floor rather than in ``customers`` because staff logins use the same
hashes and the same lockout. May import: the ground floor only.
"""
