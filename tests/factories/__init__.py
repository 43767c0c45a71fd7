"""Builders of test data, one module per context, and ``dbstate`` to compare a whole database
before and after a refused action."""
