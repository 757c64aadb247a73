"""Imported first by each benchmark script.

bench/email.py (the email benchmark, named by its issue) shares its name with the standard
library's `email` package, and Python puts a script's own folder first on `sys.path`: anything
importing `email` (http.client, smtplib, Django) would find the benchmark instead. This moves
the folder to the end of the path, where the scripts still find their helpers (serving.py).
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
sys.path.append(str(HERE))
