"""Files people exchange with us: the tolerant CSV/XLSX readers of providers' and banks'
tables (``readers``), the Excel/CSV exports of every list (``exports``) and the progress of a
long export (``progress``), and what every upload starts with: the file's name as
kept and its checksum (``uploads``); and the files only the service's user may read, created
0600 (``private``).

Owns no tables and no rules of a business area. May import: the ground floor only.
"""
