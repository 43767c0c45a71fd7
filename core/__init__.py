"""Domain and payment engine of the utility-payments personal cabinet.

Nothing here imports Streamlit: the dashboard, the CLI and the tests all call
the same use cases, one package per part of the business (see the README).
"""
