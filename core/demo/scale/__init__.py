"""The data set at real size (``python -m core demo --customers 200000 --payments 1000000``):
``load`` drives it, ``people``, ``billing``, ``plan`` and ``payments`` build each part as arrays,
``writer`` writes them through the driver's bulk path.

May import: what ``core.demo`` may.
"""
