"""Acquiring: card input checks, the gateway port and its simulator."""
