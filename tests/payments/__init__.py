"""Tests of the acquiring gateway port, its simulator and card input checks."""
